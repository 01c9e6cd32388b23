/// Longest-prefix match over a few CIDR prefixes of both families, each with
/// a value: entries kept most specific first, so the first that contains the
/// address wins. Route tables are tens of entries, where a scan of a sorted
/// array beats a trie; `accepts` lets an entry also look at the client.
public struct PrefixTable<Value: Sendable>: Sendable {
    public struct Entry: Sendable {
        public let prefix: PolicyPrefix
        public let value: Value
    }

    public private(set) var entries: [Entry] = []

    public init() {}

    public var isEmpty: Bool { entries.isEmpty }

    /// Adds an entry after those at least as specific, before less specific ones.
    public mutating func insert(_ prefix: PolicyPrefix, value: Value) {
        let position = entries.firstIndex { $0.prefix.length < prefix.length } ?? entries.count
        entries.insert(Entry(prefix: prefix, value: value), at: position)
    }

    /// The most specific entry containing `address` whose value `accepts` takes.
    public func longestMatch(_ address: PolicyAddress, where accepts: (Value) -> Bool = { _ in true }) -> Value? {
        for entry in entries where entry.prefix.contains(address) && accepts(entry.value) {
            return entry.value
        }
        return nil
    }
}
