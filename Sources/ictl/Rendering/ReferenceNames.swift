import Foundation

/// The names people read beside the codes the API stores: municipalities and districts (in both
/// languages, as `/v1/regions` names them) and the taxonomy's labels.
struct ReferenceNames {
    var regions: [String: String] = [:]
    var districtOfMunicipality: [String: String] = [:]
    var labels: [String: String] = [:]

    /// The names from the daemon; whatever cannot be read stays a code.
    static func fetch(_ client: Client, regions: Bool = true, taxonomy: Bool = true) async -> ReferenceNames {
        var names = ReferenceNames()
        if regions, let json = try? await query(client, "/v1/regions").json {
            for district in json["districts"] as? [[String: Any]] ?? [] {
                let code = Output.string(district["code"])
                names.regions[code] = Output.string(district["name"])
                for municipality in district["municipalities"] as? [[String: Any]] ?? [] {
                    names.regions[Output.string(municipality["code"])] = Output.string(municipality["name"])
                    names.districtOfMunicipality[Output.string(municipality["code"])] = code
                }
            }
        }
        if taxonomy, let json = try? await query(client, "/v1/taxonomy").json {
            for category in json["categories"] as? [[String: Any]] ?? [] {
                let code = Output.string(category["code"])
                names.labels[code] = Output.string(category["label"])
                for sub in category["subcategories"] as? [[String: Any]] ?? [] {
                    names.labels[code + "/" + Output.string(sub["code"])] = Output.string(sub["label"])
                }
            }
        }
        return names
    }

    /// `Prishtinë/Priština (XK-PRI-04)`, or the code alone when its name is unknown.
    func region(_ code: String) -> String {
        guard let name = regions[code], !name.isEmpty else { return code }
        return "\(name) (\(code))"
    }

    /// `Inter-ethnic violence / Property damage`, or the codes when their labels are unknown.
    func category(_ category: String, _ subcategory: String) -> String {
        (labels[category] ?? category) + " / " + (labels[category + "/" + subcategory] ?? subcategory)
    }
}
