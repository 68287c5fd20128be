import Foundation
import IncidentStore

/// The overview's map and trend chart, drawn on the server as inline SVG.
enum ConsoleGraphics {
    static func map(_ figures: [String: SummaryFigures], regions: RegionDirectory, link: (String) -> String) -> String {
        ""
    }

    static func trend(_ weeks: [(week: IsoWeek, figures: SummaryFigures)]) -> String {
        ""
    }
}
