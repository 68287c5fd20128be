import Foundation

/// A subscription as stored (docs/subscriptions.md): its definition, place in the log and
/// delivery state. ``Subscriptions`` reads and writes them.
public struct Subscription: Sendable, Equatable {
    public enum Target: Sendable, Equatable {
        case webhook(url: String)
        case pull

        public var kind: String {
            switch self {
            case .webhook: "webhook"
            case .pull: "pull"
            }
        }
    }

    public var name: String
    public var filter: SubscriptionFilter
    public var target: Target
    /// Pull subscriptions: the token names that may read and ack.
    public var consumers: [String]
    public var includeConfidential: Bool
    public var paused: Bool
    /// The last event delivered, acknowledged, dead-lettered or passed over as not matching.
    public var checkpoint: Checkpoint
    /// Failed tries of the event after the checkpoint (webhooks), and when the next may go.
    public var attempts: Int
    public var nextAttemptAt: Date?
    public var lastError: String?
    public var delivered: Int
    public var lastDelivery: JSONValue?
    public var createdAt: Date
    public var createdBy: String

    /// The principal whose read the payload follows: an analyst's, or an admin's when the
    /// subscription includes confidential incidents. Never with personal data.
    public var reader: Principal { Principal(name: "subscription:" + name, role: includeConfidential ? .admin : .analyst) }
}

/// An event a webhook refused `Subscriptions.maxAttempts` times.
public struct DeadLetter: Sendable, Equatable {
    public var eventID: UUID
    public var globalPosition: Int64
    public var attempts: Int
    public var lastError: String?
    public var deadAt: Date
    /// An admin asked for it again: the dispatcher is trying it.
    public var retrying: Bool
    public var nextAttemptAt: Date?
}

/// An event a subscription delivers, with its incident as it stood just after it (text opened).
public struct SubscriptionMatch: Sendable {
    public var event: RecordedEvent
    public var state: IncidentState
}

public enum SubscriptionError: Error, Sendable, Equatable, CustomStringConvertible {
    case exists(String)

    public var description: String {
        switch self {
        case .exists(let name): "a subscription named '\(name)' exists"
        }
    }
}

/// Where a new subscription starts in the log.
public enum SubscriptionStart: Sendable, Equatable {
    /// After everything committed so far.
    case now
    case beginning
    /// After this checkpoint (one the log, a stream or another subscription gave out).
    case after(Checkpoint)

    /// `now`, `beginning` or a checkpoint token; nil for anything else.
    public init?(_ text: String) {
        switch text {
        case "now": self = .now
        case "beginning": self = .beginning
        default:
            guard let checkpoint = Checkpoint(token: text) else { return nil }
            self = .after(checkpoint)
        }
    }
}
