import Foundation
import Hummingbird
import IncidentStore
import Metrics
import NIOCore

/// `POST /v1/incidents:batch`: NDJSON, one report a line, at most 10,000 lines and 32 MiB. Each
/// line is validated and stored on its own (idempotent like a single report); valid lines are
/// stored even when others are rejected. At most two run at once (each can hold the database
/// for a while); a third is answered 429 with `Retry-After`.
struct BatchController: Sendable {
    let deps: AppDependencies
    static let maximumSize = 32 << 20
    static let maximumLines = 10_000

    func addRoutes(to v1: some RouterMethods<APIContext>) {
        v1.post("incidents:batch", use: importBatch)
    }

    @Sendable func importBatch(_ request: Request, context: APIContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        try IncidentService.authorize(.report, principal)
        let slot = try deps.batches.acquire(refusing: "\(deps.batches.limit) batch imports are running; try again shortly", retryAfter: 10)
        defer { slot.release() }
        let numbered = try await Self.lines(of: request)
        var accepted = 0, replayed = 0
        var rejected: [JSONValue] = []
        func reject(_ index: Int, _ error: any Error) throws {
            let apiError = APIError.from(error, logger: context.logger)
            if apiError.status.code >= 500 { throw error }
            var detail: [String: JSONValue] = ["code": .string(apiError.code), "message": .string(apiError.message)]
            if let details = apiError.details { detail["details"] = details }
            rejected.append(["line": .number(Double(index + 1)), "error": .object(detail)])
        }
        let outcomes = try await deps.service.reportMany(numbered.map { $0.line }, by: principal, metadata: metadata(request, context, principal))
        for ((index, _), outcome) in zip(numbered, outcomes) {
            switch outcome {
            case .success(let written): if written.replayed { replayed += 1 } else { accepted += 1 }
            case .failure(is MalformedLine): try reject(index, APIError(.badRequest, code: "malformed_json", message: "the line is not valid JSON in UTF-8"))
            case .failure(let error): try reject(index, error)
            }
        }
        if accepted > 0 { appendsTotal.increment(by: accepted) }
        return JSONResponse.make(.ok, ["accepted": .number(Double(accepted)), "replayed": .number(Double(replayed)), "rejected": .array(rejected)])
    }

    /// The body's lines that are not blank, with their index (from 0) in the body.
    static func lines(of request: Request) async throws -> [(index: Int, line: Data)] {
        var request = request
        let body = try await request.body(upTo: maximumSize, tooLarge: APIError(.contentTooLarge, code: "payload_too_large", message: "a batch is at most 32 MiB"))
        let lines = body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        let numbered = lines.enumerated().filter { !$0.element.allSatisfy { $0 == 32 || $0 == 9 || $0 == 13 } }.map { (index: $0.offset, line: Data($0.element)) }
        guard numbered.count <= maximumLines else {
            throw APIError(.contentTooLarge, code: "too_many_lines", message: "a batch is at most 10,000 lines (got \(numbered.count))")
        }
        guard !numbered.isEmpty else { throw APIError(.badRequest, code: "empty_batch", message: "the batch holds no line") }
        return numbered
    }
}
