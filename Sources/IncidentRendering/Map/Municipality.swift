/// One of Kosovo's 38 municipalities as the map data names it (the codes are the regions table's).
public struct Municipality: Sendable, Equatable {
    /// The municipality's code, e.g. "XK-PEJ-01".
    public let code: String
    /// Its district's code, e.g. "XK-PEJ".
    public let district: String
    /// The Albanian and the Serbian name, e.g. "Pejë" and "Peć".
    public let nameSq: String, nameSr: String

    /// Both names as the product shows them, "Pejë / Peć"; one name where the two are the same.
    public var name: String { nameSq == nameSr ? nameSq : "\(nameSq) / \(nameSr)" }
}
