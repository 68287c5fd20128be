import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore

/// A page of the console rendered into an answer.
enum ConsolePage {
    /// The marking every page carries at its foot, as the digest's pages do.
    static let marking = "RESTRICTED: incident data for the field operation's staff; do not forward."

    static func render(_ template: String, _ values: [String: Any], session: ConsoleSession?, status: HTTPResponse.Status = .ok) -> Response {
        var values = values
        values["marking"] = marking
        if let session {
            values["session"] = session.templateValues
            // The page's own forms carry the same token as the sign-out form.
            values["csrf"] = session.formToken
        }
        let html = ConsoleTemplates.library.render(values, withTemplate: template) ?? ""
        return Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// After a form that changed something: the browser fetches `location` with GET.
    static func redirect(to location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }
}
