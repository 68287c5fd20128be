import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IncidentStore
import IncidentTesting
import Logging
import NIOCore
import PostgresLibpq
import Testing

@testable import IncidentDaemon

@Suite("OpenAPI document")
struct OpenAPITests {
    @Test("the document names exactly the router's routes")
    func routesMatch() throws {
        func names(_ router: Router<APIContext>) -> Set<String> {
            Set(
                router.routes.map { route -> String in
                    let path = "\(route.path)".split(separator: "/").map { segment in
                        segment.hasPrefix(":") ? "{\(segment.dropFirst())}" : String(segment)
                    }.joined(separator: "/")
                    return "\(route.method.rawValue) /" + path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
                })
        }
        // The console's pages are HTML for browsers (docs/console.md), not API routes.
        let console = Router(context: APIContext.self)
        ConsoleController(deps: AppDependencies.forRouteListing()).addRoutes(to: console)
        var routes = names(buildRouter(AppDependencies.forRouteListing())).subtracting(names(console))
        routes.insert("GET /metrics")  // added by buildApplication beside the registry
        let documented = Set(
            (OpenAPI.document.objectValue?["paths"]?.objectValue ?? [:]).flatMap { path, item in
                (item.objectValue ?? [:]).keys.map { "\($0.uppercased()) \(path)" }
            })
        #expect(routes.subtracting(documented).isEmpty, "undocumented routes: \(routes.subtracting(documented).sorted())")
        #expect(documented.subtracting(routes).isEmpty, "documented but not routed: \(documented.subtracting(routes).sorted())")
    }

    @Test("the document is served without a token and is OpenAPI 3.1")
    func served() async throws {
        try await API.run { api in
            let reply = try await api.call(.get, "/v1/openapi.json", token: nil)
            #expect(reply.status == 200)
            #expect(reply["openapi"] == "3.1.0")
            #expect(reply.json == OpenAPI.document)
        }
    }
}

extension AppDependencies {
    /// Dependencies whose pool is never used: enough to build the router and list its routes.
    static func forRouteListing() -> AppDependencies {
        let pool = ConnectionPool(configuration: .init(conninfo: "host=/nonexistent"))
        let reference = ReferenceData(taxonomy: Taxonomy(categories: []), regions: RegionDirectory(districts: [], municipalities: []))
        return AppDependencies(
            pool: pool, service: IncidentService(pool: pool, reference: reference, keys: TestKeys.ring), tokens: AccessTokens(pool: pool), projections: [],
            subscriptions: Subscriptions(pool: pool, keys: TestKeys.ring, reference: reference))
    }
}
