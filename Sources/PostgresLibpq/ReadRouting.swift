import Foundation
import Synchronization

/// Where reads that may be a little behind go: a hot standby while it answers and is within
/// `maxLag` of the primary, else the primary.
///
/// Only reads that tolerate that lag use it (lists, summaries, digests, the log); writes and the
/// reads a write depends on use the primary's pool. A read that fails on the standby because it
/// is out of reach runs again on the primary, so a standby going down fails no request.
///
/// The lag is measured, not taken from the standby's replay timestamp (which says nothing while
/// the primary is idle, and compares two machines' clocks): ``measure()`` notes the primary's WAL
/// position with the time, then asks the standby how far it has replayed; the lag is the age of
/// the newest noted position the standby has reached. It is an upper bound, to within the
/// interval between two measurements.
public final class ReadRouting: Sendable {
    /// Which server a read went to.
    public enum Server: String, Sendable { case primary, replica }

    public let primary: ConnectionPool
    public let replica: ConnectionPool?
    public let maxLag: Duration

    private struct State {
        /// Positions the primary had reached, and when, oldest first; only the ones the standby has not reached, and one before.
        var samples: [(at: ContinuousClock.Instant, position: UInt64)] = []
        var lag: Duration?
        var replicaUsable = false
        var reads: [Server: Int] = [:]
    }

    private let state = Mutex(State())

    /// - Parameters:
    ///   - replica: a pool on the standby (nil: every read goes to the primary).
    ///   - maxLag: past this lag the standby is skipped.
    public init(primary: ConnectionPool, replica: ConnectionPool? = nil, maxLag: Duration = .seconds(30)) {
        self.primary = primary
        self.replica = replica
        self.maxLag = maxLag
    }

    /// The standby's lag at the last measurement; nil before the first, or with no standby.
    public var lag: Duration? { state.withLock { $0.lag } }

    /// True while reads go to the standby.
    public var usesReplica: Bool { state.withLock { $0.replicaUsable } }

    /// Reads served by each server since start.
    public var reads: [Server: Int] { state.withLock { $0.reads } }

    /// Runs a read on the standby when it is usable, else (or when it turns out to be out of
    /// reach) on the primary.
    /// - Parameter body: database work that only reads, and may run twice.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        if let replica, usesReplica {
            do {
                let value = try await replica.withConnection(body)
                count(.replica)
                return value
            } catch let error as DatabaseError where error.isConnectionFailure && error.kind != .poolClosed {
                // Skipped until a measurement finds it again.
                state.withLock { $0.replicaUsable = false }
            }
        }
        let value = try await primary.withConnection(body)
        count(.primary)
        return value
    }

    private func count(_ server: Server) { state.withLock { $0.reads[server, default: 0] += 1 } }

    /// One measurement of the standby's lag (see the type's description), which decides whether
    /// reads use it. A standby that does not answer is skipped. While the primary does not answer
    /// (a failover), the standby is used as long as the newest position it reached is within
    /// `maxLag`: what it serves is no older than that.
    /// - Returns: the lag, nil when the standby did not answer.
    @discardableResult
    public func measure() async -> Duration? {
        guard let replica else { return nil }
        let at = ContinuousClock.now
        let primaryPosition = try? await primary.withConnection { try Self.walPosition("SELECT pg_current_wal_insert_lsn()::text", on: $0) }
        do {
            let replayed = try await replica.withConnection {
                try Self.walPosition(
                    "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END)::text", on: $0)
            }
            return record(at: at, primary: primaryPosition, replayed: replayed)
        } catch {
            state.withLock { state in
                state.replicaUsable = false
                state.lag = state.samples.first.map { at - $0.at }
            }
            return nil
        }
    }

    private func record(at: ContinuousClock.Instant, primary position: UInt64?, replayed: UInt64) -> Duration {
        state.withLock { state in
            if let position {
                state.samples.append((at, position))
                // Behind for long: keep the oldest (the lag's lower bound) and thin out the rest.
                if state.samples.count > 1000 { state.samples.remove(at: 1) }
            }
            // The newest sample the standby has reached: the data it serves is at most that old.
            let lag: Duration
            if let reached = state.samples.lastIndex(where: { $0.position <= replayed }) {
                lag = reached == state.samples.count - 1 && position != nil ? .zero : at - state.samples[reached].at
                state.samples.removeFirst(reached)
            } else {
                // Behind every sample kept (or none yet): at least as old as the oldest.
                lag = state.samples.first.map { at - $0.at } ?? .zero
            }
            state.lag = lag
            state.replicaUsable = lag <= maxLag && !(state.samples.isEmpty && position == nil)
            return lag
        }
    }

    /// The WAL position (`pg_lsn`, written `X/Y` in hexadecimal) that `statement` selects as text, as a number.
    static func walPosition(_ statement: String, on connection: PostgresConnection) throws -> UInt64 {
        let text: String = try connection.query(statement).first!.decode(0)
        let halves = text.split(separator: "/")
        guard halves.count == 2, let high = UInt64(halves[0], radix: 16), let low = UInt64(halves[1], radix: 16) else {
            throw DatabaseError(kind: .server, message: "unexpected WAL position '\(text)'")
        }
        return high << 32 | low
    }
}
