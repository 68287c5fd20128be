import Foundation
import IncidentRendering
import IncidentStore

/// The overview's map and trend chart, drawn on the server as inline SVG.
enum ConsoleGraphics {
    static func map(_ figures: [String: SummaryFigures], regions: RegionDirectory, link: (String) -> String) -> String {
        ""
    }

    /// The weeks' incidents and harm, with the digest's chart code.
    static func trend(_ weeks: [(week: IsoWeek, figures: SummaryFigures)]) -> String {
        let points = weeks.map {
            TrendPoint(week: $0.week.description, from: $0.week.from, incidents: $0.figures.incidents, killed: $0.figures.killed, injured: $0.figures.injured)
        }
        return TrendChart.svg(points: points, label: "last week of the period")
    }
}
