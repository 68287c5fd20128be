/// The `statement_timeout` of the statements a task runs through ``ConnectionPool``.
///
/// The HTTP layer sets it for each API request (docs/operations.md, Limits); work that is not an API
/// request (the projector, rebuilds, migrations, restores, the `incidentd` commands) runs without
/// it, with the session's own setting, and so is never cut at the API's limit. A task-local
/// rather than a pool setting, because the projector and the API share the pool's connections:
/// each lease sets the connection to what its task asks for (``PostgresConnection/useStatementTimeout(_:)``),
/// which costs a statement only when the previous lease asked for something else.
public enum StatementTimeout {
    /// The limit for statements of the current task; nil: the session's default.
    @TaskLocal public static var current: Duration?

    /// Whole milliseconds of at least 1 (PostgreSQL reads 0 as "no limit").
    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }
}
