import Foundation
import PostgresLibpq

/// A district of Kosovo (`XK-PRI`); its figures are roll-ups of its municipalities.
public struct District: Sendable, Codable, Equatable {
    public var code: String
    public var nameSq: String
    public var nameSr: String

    enum CodingKeys: String, CodingKey {
        case code, nameSq = "name_sq", nameSr = "name_sr"
    }

    /// Both names, Albanian first: `Pejë/Peć` (one name when they are the same).
    public var displayName: String { bilingual(nameSq, nameSr) }
}

/// A municipality (`XK-PEJ-01`): the canonical location of an incident.
public struct Municipality: Sendable, Codable, Equatable {
    public var code: String
    public var districtCode: String
    public var nameSq: String
    public var nameSr: String
    public var aliases: [String]
    public var seatLat: Double
    public var seatLon: Double

    enum CodingKeys: String, CodingKey {
        case code, districtCode = "district_code", nameSq = "name_sq", nameSr = "name_sr", aliases
        case seatLat = "seat_lat", seatLon = "seat_lon"
    }

    public var displayName: String { bilingual(nameSq, nameSr) }
}

private func bilingual(_ sq: String, _ sr: String) -> String { sq == sr ? sq : "\(sq)/\(sr)" }

/// What a typed region name resolved to.
public enum RegionMatch<Region: Sendable>: Sendable {
    case found(Region)
    /// The name fits several regions (`mitrovica`): the caller must choose.
    case ambiguous([Region])
    /// Nothing fits; `suggestions` are the closest names.
    case unknown(suggestions: [Region])
}

/// Kosovo's districts and municipalities, as seeded in the database, with name resolution.
///
/// A user may type a code, either name, or a name without diacritics, in any case:
/// `pec`, `Peja`, `Pejë` and `XK-PEJ-01` all name the same municipality.
public struct RegionDirectory: Sendable {
    public let districts: [District]
    public let municipalities: [Municipality]
    private let municipalityByCode: [String: Municipality]
    private let districtByCode: [String: District]

    public init(districts: [District], municipalities: [Municipality]) {
        self.districts = districts
        self.municipalities = municipalities
        self.municipalityByCode = Dictionary(municipalities.map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
        self.districtByCode = Dictionary(districts.map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
    }

    public func municipality(code: String) -> Municipality? { municipalityByCode[code] }
    public func district(code: String) -> District? { districtByCode[code] }
    /// The municipalities of the district `code`, in directory order.
    public func municipalities(inDistrict code: String) -> [Municipality] { municipalities.filter { $0.districtCode == code } }

    /// Resolves what a user typed to one municipality, several candidates, or suggestions.
    public func resolveMunicipality(_ input: String) -> RegionMatch<Municipality> {
        // A code first: what scripts and ictl send, and cheaper than folding a name.
        if let found = municipalityByCode[FieldReader.trimmed(input).uppercased()] {
            return .found(found)
        }
        let key = RegionName.fold(input)
        guard !key.isEmpty else { return .unknown(suggestions: []) }
        let exact = municipalities.filter { names(of: $0).contains(key) }
        if exact.count == 1 { return .found(exact[0]) }
        if exact.count > 1 { return .ambiguous(exact) }
        // A district's code or name where a municipality is wanted: its municipalities that carry
        // the name (`mitrovica`: north and south), else all of them.
        if let district = districts.first(where: { $0.code.lowercased() == key || districtNames(of: $0).contains(key) }) {
            let inDistrict = municipalities(inDistrict: district.code)
            let named = inDistrict.filter { names(of: $0).contains { RegionName.tokens($0).contains(key) } }
            return .ambiguous(named.isEmpty ? inDistrict : named)
        }
        // Every typed word appears in a name: candidates, never a silent guess.
        let queryTokens = RegionName.tokens(key)
        let partial = municipalities.filter { municipality in
            names(of: municipality).contains { name in
                let tokens = RegionName.tokens(name)
                return queryTokens.allSatisfy(tokens.contains)
            }
        }
        if partial.count > 1 { return .ambiguous(partial) }
        if partial.count == 1 { return .unknown(suggestions: partial) }
        return .unknown(suggestions: closest(to: key, in: municipalities, names: names(of:)))
    }

    /// Resolves a district by code or either name (diacritics and case ignored).
    public func resolveDistrict(_ input: String) -> RegionMatch<District> {
        let key = RegionName.fold(input)
        guard !key.isEmpty else { return .unknown(suggestions: []) }
        if let found = districtByCode[FieldReader.trimmed(input).uppercased()] { return .found(found) }
        let exact = districts.filter { districtNames(of: $0).contains(key) }
        if exact.count == 1 { return .found(exact[0]) }
        if exact.count > 1 { return .ambiguous(exact) }
        return .unknown(suggestions: closest(to: key, in: districts, names: districtNames(of:)))
    }

    /// Every name (both languages, and the aliases) of each municipality and district that
    /// `input` names exactly, as ``resolveMunicipality(_:)`` compares names: empty when it names
    /// none. `Peja` gives `Pejë`, `Peć`, `Peja`, `Pec` (the municipality and its district).
    public func allNames(ofRegionsNamed input: String) -> [String] {
        let key = RegionName.fold(input)
        guard !key.isEmpty else { return [] }
        let named = municipalities.filter { names(of: $0).contains(key) }.flatMap { [$0.nameSq, $0.nameSr] + $0.aliases }
        return named + districts.filter { districtNames(of: $0).contains(key) }.flatMap { [$0.nameSq, $0.nameSr] }
    }

    private func names(of municipality: Municipality) -> [String] {
        ([municipality.nameSq, municipality.nameSr] + municipality.aliases).map(RegionName.fold)
    }

    private func districtNames(of district: District) -> [String] {
        [district.nameSq, district.nameSr].map(RegionName.fold)
    }

    private func closest<R>(to key: String, in regions: [R], names: (R) -> [String]) -> [R] {
        let scored = regions.map { region -> (R, Int) in
            (region, names(region).map { RegionName.editDistance(key, $0) }.min() ?? .max)
        }
        let limit = max(2, key.count / 3)
        return scored.filter { $0.1 <= limit }.sorted { $0.1 < $1.1 }.prefix(3).map(\.0)
    }
}

extension RegionDirectory {
    /// Loads the seeded regions.
    public static func load(_ connection: PostgresConnection) throws -> RegionDirectory {
        let districts = try connection.query("SELECT code, name_sq, name_sr FROM districts ORDER BY code").rows.map {
            District(code: try $0.decode(0), nameSq: try $0.decode(1), nameSr: try $0.decode(2))
        }
        let municipalities = try connection.query(
            """
            SELECT code, district_code, name_sq, name_sr, array_to_json(aliases)::text, seat_lat, seat_lon
            FROM municipalities ORDER BY code
            """
        ).rows.map { row in
            Municipality(
                code: try row.decode(0), districtCode: try row.decode(1),
                nameSq: try row.decode(2), nameSr: try row.decode(3),
                aliases: try JSONDecoder().decode([String].self, from: Data(try row.decode(4, as: String.self).utf8)),
                seatLat: try row.decode(5), seatLon: try row.decode(6)
            )
        }
        return RegionDirectory(districts: districts, municipalities: municipalities)
    }
}
