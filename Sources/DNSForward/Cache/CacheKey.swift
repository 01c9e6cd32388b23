/// What makes two queries share a cached answer: the name (case-folded), type,
/// class, and the DO and CD bits, which change what an upstream returns
/// (signatures; unvalidated data).
public struct CacheKey: Hashable, Sendable, CustomStringConvertible {
    /// Lowercased uncompressed wire name.
    public let name: [UInt8]
    public let type: RecordType
    public let `class`: RecordClass
    public let dnssecOK: Bool
    public let checkingDisabled: Bool
    /// Which routing the answer belongs to (`CacheScope`): the default upstreams unless policy says otherwise.
    public let scope: CacheScope

    public init(name: [UInt8], type: RecordType, class: RecordClass, dnssecOK: Bool, checkingDisabled: Bool,
                scope: CacheScope = .default) {
        self.name = name
        self.type = type
        self.class = `class`
        self.dnssecOK = dnssecOK
        self.checkingDisabled = checkingDisabled
        self.scope = scope
    }

    /// The same question in another routing scope.
    public func scoped(_ scope: CacheScope) -> CacheKey {
        CacheKey(name: name, type: type, class: `class`, dnssecOK: dnssecOK, checkingDisabled: checkingDisabled, scope: scope)
    }

    /// The name's bytes in one call: the synthesized hash feeds an array to
    /// the hasher one element at a time, and this runs on every query.
    public func hash(into hasher: inout Hasher) {
        name.withUnsafeBytes { hasher.combine(bytes: $0) }
        hasher.combine(UInt64(type.rawValue) << 32 | UInt64(`class`.rawValue) << 16 | (dnssecOK ? 2 : 0) | (checkingDisabled ? 1 : 0))
        // Default-scope keys hash as before routing policy existed.
        if !scope.isDefault { hasher.combine(scope) }
    }

    public var description: String {
        var text = "\(DNSName(wire: name)) \(type.mnemonic)"
        if `class` != .in { text += " CLASS\(`class`.rawValue)" }
        if dnssecOK { text += " +do" }
        if checkingDisabled { text += " +cd" }
        if !scope.isDefault { text += " [\(scope)]" }
        return text
    }

    /// True when `name` equals `other` or lies below it (wire names, both lowercased).
    public func isAtOrBelow(_ other: [UInt8]) -> Bool {
        name.withUnsafeBytes { name in other.withUnsafeBytes { Self.isName(name, atOrBelow: $0) } }
    }

    static func isName(_ name: UnsafeRawBufferPointer, atOrBelow other: UnsafeRawBufferPointer) -> Bool {
        guard name.count >= other.count else { return false }
        let offset = name.count - other.count
        guard name[offset...].elementsEqual(other) else { return false }
        // The suffix must start at a label boundary.
        var position = 0
        while position < offset { position += Int(name[position]) + 1 }
        return position == offset
    }
}
