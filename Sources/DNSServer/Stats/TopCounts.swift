import DNSForward

/// Queries per key (original destination, client address, question name), bounded so a
/// client spraying random addresses or names cannot grow it without limit: past
/// `capacity` keys the rest count as "other".
struct TopCounts<Key: Hashable> {
    private(set) var counts: [Key: Int] = [:]
    private(set) var other = 0
    let capacity: Int

    init(capacity: Int = 4096) { self.capacity = capacity }

    /// Counts one query for `key`; true when that added the key (one hash lookup when it
    /// is already there, the usual case; two when it is new).
    /// `weight`: the queries this one stands for (a sample's rate).
    @discardableResult
    mutating func record(_ key: Key, weight: Int = 1) -> Bool {
        if let index = counts.index(forKey: key) {
            counts.values[index] += weight
            return false
        }
        guard counts.count < capacity else {
            other += weight
            return false
        }
        counts[key] = weight
        return true
    }

    /// Most asked first, at most `limit` rows, "other" (past capacity) last.
    func ranked(limit: Int = .max, describe: (Key) -> String) -> [DaemonStats.Destination] {
        DaemonStats.ranked(counts.map { .init(address: describe($0.key), queries: $0.value) }, other: other, limit: limit)
    }
}

/// Queries per question name. Keyed by a 64-bit FNV-1a hash of the case-folded wire name,
/// computed while the labels are read in place: no array is built or hashed per query (an
/// [UInt8] key cost ~3,000 instructions a query, this ~10 a name byte). The name's bytes
/// are kept once, when its hash is first counted; two names sharing a hash (about 1 in
/// 10^16 for two names) would be shown as the first.
struct QuestionNameCounts {
    private(set) var counts: TopCounts<UInt64>
    private(set) var names: [UInt64: [UInt8]] = [:]

    init(capacity: Int = 4096) { counts = TopCounts(capacity: capacity) }

    /// Counts the question name of a query. A malformed name is not counted (the forwarder
    /// answers it FORMERR).
    mutating func record(questionOf wire: UnsafeRawBufferPointer, weight: Int = 1) {
        guard let (hash, end) = Self.hashName(wire) else { return }
        if counts.record(hash, weight: weight) {
            names[hash] = wire[12..<end].map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
        }
    }

    func ranked(limit: Int = .max) -> [DaemonStats.Destination] {
        counts.ranked(limit: limit) { names[$0].map { DNSName(wire: $0).description } ?? "?" }
    }

    /// FNV-1a over the name's case-folded bytes after the 12-byte header, and where it ends.
    /// Raw loads: every offset read is checked against `count` by the label walk itself.
    @inline(__always)
    static func hashName(_ wire: UnsafeRawBufferPointer) -> (hash: UInt64, end: Int)? {
        guard let base = wire.baseAddress else { return nil }
        let count = wire.count
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var offset = 12
        while offset < count {
            let length = Int(base.load(fromByteOffset: offset, as: UInt8.self))
            guard length & 0xC0 == 0, offset + length < count else { return nil }
            var index = offset
            while index <= offset + length {
                let byte = base.load(fromByteOffset: index, as: UInt8.self)
                hash = (hash ^ UInt64(byte &- 0x41 < 26 ? byte | 0x20 : byte)) &* 0x100_0000_01b3
                index &+= 1
            }
            offset += length + 1
            if length == 0 { return (hash, offset) }
        }
        return nil
    }
}
