import Hummingbird
import IncidentStore

/// `GET /v1/taxonomy` and `GET /v1/regions`: the reference data every client validates against.
struct ReferenceController: Sendable {
    let deps: AppDependencies

    func addRoutes(to v1: some RouterMethods<APIContext>) {
        v1.get("taxonomy", use: taxonomy)
        v1.get("regions", use: regions)
    }

    @Sendable func taxonomy(_ request: Request, context: APIContext) async throws -> Response {
        JSONResponse.make(.ok, ["categories": try JSONValue(encoding: deps.service.reference.taxonomy.categories)])
    }

    @Sendable func regions(_ request: Request, context: APIContext) async throws -> Response {
        let regions = deps.service.reference.regions
        let districts = regions.districts.map { district -> JSONValue in
            [
                "code": .string(district.code), "name": .string(district.displayName),
                "name_sq": .string(district.nameSq), "name_sr": .string(district.nameSr),
                "municipalities": .array(
                    regions.municipalities(inDistrict: district.code).map { m in
                        [
                            "code": .string(m.code), "name": .string(m.displayName), "name_sq": .string(m.nameSq),
                            "name_sr": .string(m.nameSr), "aliases": .array(m.aliases.map { .string($0) }),
                            "seat_lat": .number(m.seatLat), "seat_lon": .number(m.seatLon),
                        ]
                    }),
            ]
        }
        return JSONResponse.make(.ok, ["districts": .array(districts)])
    }
}
