/// Every suffix of a wire name that starts at a label boundary, each with its
/// hash, found in one pass: label starts left to right, then one hash over the
/// bytes right to left (FNV-1a in reverse), recorded at each label start. The
/// zone, block-list and canary tables all look a query up by these, so a name
/// is hashed once per query however many tables there are.
public struct NameSuffixes {
    /// Offsets of the suffixes in the name, longest (the whole name) first.
    public private(set) var offsets: [Int] = []
    public private(set) var hashes: [UInt64] = []

    public init() {
        offsets.reserveCapacity(128)
        hashes.reserveCapacity(128)
    }

    /// Refills with the suffixes of `name` (lowercased, uncompressed wire, root
    /// byte included). A malformed name yields no suffixes: it matches nothing.
    public mutating func fill(_ name: UnsafeRawBufferPointer) {
        offsets.removeAll(keepingCapacity: true)
        hashes.removeAll(keepingCapacity: true)
        var position = 0
        while position < name.count {
            let length = Int(name[position])
            offsets.append(position)
            if length == 0 { break }
            position += length + 1
        }
        guard position == name.count - 1 else {
            offsets.removeAll(keepingCapacity: true)
            return
        }
        // Zeros appended into the kept capacity: no allocation per query.
        for _ in offsets.indices { hashes.append(0) }
        var hash = Self.seed
        var next = offsets.count - 1
        var index = name.count - 1
        while index >= 0 {
            hash = Self.mix(hash, name[index])
            if next >= 0, offsets[next] == index {
                hashes[next] = hash
                next -= 1
            }
            index -= 1
        }
    }

    public var count: Int { offsets.count }

    static let seed: UInt64 = 0xcbf2_9ce4_8422_2325

    @inline(__always)
    static func mix(_ hash: UInt64, _ byte: UInt8) -> UInt64 {
        (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }

    /// The hash `fill` gives a whole name: what a table stores it under.
    static func hash(of name: UnsafeRawBufferPointer) -> UInt64 {
        var hash = seed
        var index = name.count - 1
        while index >= 0 {
            hash = mix(hash, name[index])
            index -= 1
        }
        return hash
    }
}
