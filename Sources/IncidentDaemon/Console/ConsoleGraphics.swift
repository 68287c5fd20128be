import Foundation
import IncidentRendering
import IncidentStore

/// The overview's map and trend chart, drawn on the server as inline SVG.
enum ConsoleGraphics {
    /// Where the map data's licence notice is shown (the attribution links there).
    static let mapDataPath = "/about/map-data"

    /// Every municipality's incidents on the map, each shape a link to its list.
    static func map(_ figures: [String: SummaryFigures], regions: RegionDirectory, link: (String) -> String) -> String {
        var areas: [String: MunicipalityMap.Area] = [:]
        for municipality in regions.municipalities {
            let figures = figures[municipality.code] ?? SummaryFigures()
            let title = "\(municipality.displayName): \(figures.incidents) incidents, \(figures.killed) killed, \(figures.injured) injured"
            areas[municipality.code] = MunicipalityMap.Area(count: figures.incidents, title: title, href: link(municipality.code))
        }
        return MunicipalityMap.svg(areas, width: 640, attributionHref: mapDataPath)
    }

    /// The weeks' incidents and harm, with the digest's chart code.
    static func trend(_ weeks: [(week: IsoWeek, figures: SummaryFigures)]) -> String {
        let points = weeks.map {
            TrendPoint(week: $0.week.description, from: $0.week.from, incidents: $0.figures.incidents, killed: $0.figures.killed, injured: $0.figures.injured)
        }
        return TrendChart.svg(points: points, label: "last week of the period")
    }
}
