import Foundation
import IncidentStore
import PostgresLibpq

/// What a subscriber receives of an event: `{event_id, type, incident_id, stream_version,
/// recorded_at, checkpoint, incident}`, the incident as the subscription's reader may see it
/// (``Subscription/reader``) just after the event, never with personal data. The same for a
/// webhook's body (inside `{subscription, event}`) and a pull consumer's page.
enum SubscriptionPayload {
    static func event(_ match: SubscriptionMatch, for subscription: Subscription) -> JSONValue {
        let event = match.event
        return [
            "event_id": .string(event.eventID.lowercasedText),
            "type": .string(event.type),
            "incident_id": .string(match.state.record.incidentID.lowercasedText),
            "stream_version": .number(Double(event.streamVersion)),
            "recorded_at": Render.timestamp(event.recordedAt),
            "checkpoint": .string(event.checkpoint.token),
            "incident": Render.incident(match.state, personal: nil, events: nil, for: subscription.reader),
        ]
    }

    static func webhookBody(_ match: SubscriptionMatch, for subscription: Subscription) -> Data {
        JSONValue.object(["subscription": .string(subscription.name), "event": event(match, for: subscription)]).encoded()
    }
}
