import ArgumentParser
import Foundation

/// `--color`: whether a terminal's output gets colour and emphasis.
enum ColorChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, always, never
}

/// What ictl knows of the terminal it prints a table or a record to: its width, and whether it
/// gets colour. Scripts never see either: piped output has no width and no colour (`auto`).
struct Terminal {
    /// The columns to fit into; nil when unknown (output is not a terminal and `COLUMNS` is unset).
    var width: Int?
    var colour: Bool

    /// The standard output's terminal: `COLUMNS` or the tty's width; colour for `auto` only on a
    /// tty, without `NO_COLOR` (any non-empty value) and not on a `dumb` terminal.
    static func standardOutput(colour choice: ColorChoice = .auto, environment: [String: String] = ProcessInfo.processInfo.environment) -> Terminal {
        let tty = isatty(STDOUT_FILENO) == 1
        var width = environment["COLUMNS"].flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil }
        if width == nil, tty {
            var size = winsize()
            if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { width = Int(size.ws_col) }
        }
        let colour =
            switch choice {
            case .always: true
            case .never: false
            case .auto: tty && (environment["NO_COLOR"] ?? "").isEmpty && environment["TERM"] != "dumb"
            }
        return Terminal(width: width, colour: colour)
    }

    /// `text` in `style` when colour is on, else as it is.
    func paint(_ text: String, _ style: Style?) -> String {
        guard colour, let style, !text.isEmpty else { return text }
        return "\u{1B}[\(style.rawValue)m" + text + "\u{1B}[0m"
    }

    /// ANSI select graphic rendition codes.
    enum Style: String {
        case bold = "1", dim = "2", red = "31", green = "32", yellow = "33", cyan = "36", boldRed = "1;31"

        /// An incident's status: done is green, waiting yellow, dropped red or faint. The word is
        /// always there, so the colour only helps.
        static func status(_ status: String) -> Style? {
            ["verified": .green, "reported": .yellow, "rejected": .red, "retracted": .dim][status]
        }

        /// A sensitivity marking, stronger the more it restricts.
        static func sensitivity(_ sensitivity: String) -> Style? {
            ["public": .green, "restricted": .yellow, "confidential": .boldRed][sensitivity]
        }
    }
}
