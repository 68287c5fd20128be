import Foundation
import HTTPTypes
import IncidentAPI
import IncidentStore

/// A write that ictl sealed for its offline outbox, as `POST /v1/outbox:deliver` receives it.
/// The format and its strict reading are `IncidentAPI`'s (`SealedOutboxEnvelope`); here its
/// defects become the route's answers.
enum OutboxEnvelope {
    static let suite = OutboxEnvelopeFormat.suite
    /// An inner body of 1 MiB (the write routes' limit), base64 twice, fits with room to spare.
    static let maximumSize = 2 << 20

    /// Reads an envelope; every defect is a 400 `bad_envelope` naming it.
    static func parse(_ data: Data) throws -> SealedOutboxEnvelope {
        do { return try SealedOutboxEnvelope(parsing: data) } catch { throw answer(error) }
    }

    /// Opens `envelope` with the raw private key of its key id.
    /// - Throws: 400 `envelope_unopenable` when it does not open (altered, or sealed to another
    ///   key), 400 `bad_envelope` when what is inside is not a write.
    static func open(_ envelope: SealedOutboxEnvelope, with privateKey: Data) throws -> OutboxWrite {
        do { return try envelope.open(with: privateKey) } catch { throw answer(error) }
    }

    /// Seals a write as ictl does (the server itself never seals; tests do).
    static func seal(_ write: OutboxWrite, to key: OutboxPublicKey) throws -> Data {
        try sealPlaintext(OutboxEnvelopeFormat.plaintext(of: write), to: key)
    }

    /// Seals any plaintext as an envelope (tests of what the server does with a bad one).
    static func sealPlaintext(_ plaintext: Data, to key: OutboxPublicKey) throws -> Data {
        try OutboxEnvelopeFormat.seal(plaintext, toPublicKey: key.publicKey, keyID: key.id)
    }

    private static func answer(_ defect: OutboxEnvelopeDefect) -> APIError {
        switch defect {
        case .malformed(let message): APIError(.badRequest, code: "bad_envelope", message: message)
        case .unopenable: APIError(.badRequest, code: "envelope_unopenable", message: "the envelope does not open: it was altered, or sealed to another key")
        }
    }
}
