import Foundation
import IncidentAPI
import Testing

@Suite("The error body clients read")
struct ErrorBodyTests {
    @Test("code, message and the fields of details are read; other details are ignored")
    func fields() throws {
        let body = Data(
            #"{"error":{"code":"validation_failed","message":"2 fields are invalid","details":{"fields":[{"field":"killed","message":"must be a whole number"},{"field":"municipality","message":"is not a municipality of Kosovo"}],"limit":5}}}"#
                .utf8)
        let error = try #require(ErrorBody(decoding: body)?.error)
        #expect(error.code == "validation_failed" && error.message == "2 fields are invalid")
        #expect(error.fields.map(\.field) == ["killed", "municipality"])
        #expect(error.fields.last?.message == "is not a municipality of Kosovo")
    }

    @Test("without details the fields are empty; a body that is not an error is nil")
    func others() {
        #expect(ErrorBody(decoding: Data(#"{"error":{"code":"not_found","message":"incident not found"}}"#.utf8))?.error.fields == [])
        #expect(ErrorBody(decoding: Data(#"{"items":[]}"#.utf8)) == nil)
        #expect(ErrorBody(decoding: Data("<html>502</html>".utf8)) == nil)
    }
}
