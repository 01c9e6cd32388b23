/// Queries per key (original destination, client address, question name), bounded so a
/// client spraying random addresses or names cannot grow it without limit: past
/// `capacity` keys the rest count as "other".
struct TopCounts<Key: Hashable> {
    private(set) var counts: [Key: Int] = [:]
    private(set) var other = 0
    let capacity: Int

    init(capacity: Int = 4096) { self.capacity = capacity }

    mutating func record(_ key: Key) {
        // One hash lookup while there is room (the usual case), two once full.
        if counts.count < capacity || counts[key] != nil {
            counts[key, default: 0] += 1
        } else {
            other += 1
        }
    }

    /// Most asked first, at most `limit` rows, "other" (past capacity) last.
    func ranked(limit: Int = .max, describe: (Key) -> String) -> [DaemonStats.Destination] {
        DaemonStats.ranked(counts.map { .init(address: describe($0.key), queries: $0.value) }, other: other, limit: limit)
    }
}

extension TopCounts where Key == [UInt8] {
    /// Counts the question name of a query (lowercased wire form) by reading its labels in
    /// place; `scratch` is the caller's buffer, reused so a name already counted costs no
    /// allocation. A malformed name is not counted (the forwarder answers it FORMERR).
    mutating func recordQuestionName(of wire: UnsafeRawBufferPointer, scratch: inout [UInt8]) {
        scratch.removeAll(keepingCapacity: true)
        var offset = 12 // after the header
        while offset < wire.count {
            let length = Int(wire[offset])
            guard length & 0xC0 == 0, offset + length < wire.count else { return }
            scratch.append(wire[offset])
            if length == 0 {
                record(scratch)
                return
            }
            for index in offset + 1...offset + length {
                let byte = wire[index]
                scratch.append(byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte)
            }
            offset += length + 1
        }
    }
}
