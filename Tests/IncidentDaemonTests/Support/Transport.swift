import Foundation
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

/// The lines written to stderr.
func outputLines(_ text: String) -> [Substring] { text.split(separator: "\n") }
