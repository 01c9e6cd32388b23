#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A set of wire names (lowercased), each with a small value, built for
/// block lists of a million names: the names live end to end in one byte
/// arena (a length byte, then the wire name), and an open-addressing table of
/// 32-bit slots finds them. About the name's own length plus 17 bytes per
/// name once `compact()`ed, against ~100 for a `Set<[UInt8]>`; a lookup
/// allocates nothing.
///
/// A lookup of a name that is not there (every query a block list does not
/// block) must not pay a cache miss per suffix: each slot carries 8 bits of
/// the hash beside its entry number, so a slot of another name rarely sends
/// it to the arena, and a compacted table has a one-bit-per-4-names filter
/// (a quarter of a byte per name, small enough to stay in cache) that
/// turns most absent suffixes away before the slots are read.
///
/// `longestMatch` is the zone rule every table here uses: the query name or
/// the nearest enclosing name in the table, at label boundaries only, so
/// `corp.test` covers `a.corp.test` but never `notcorp.test`.
public struct SuffixNameTable: Sendable {
    private var arena: [UInt8] = []
    /// Entry number + 1 in the low 24 bits (0: empty), the hash's top 8 bits above.
    private var slots: [UInt32]
    /// Per entry, in insertion order.
    private var starts: [UInt32] = []
    private var values: [UInt32] = []
    private var mask: Int
    /// Set by `compact()`: one bit per hash, tested before the slots; empty: no filter.
    private var filter: [UInt64] = []
    private var filterMask = 0

    /// Entries a table holds at most: the slots' 24-bit entry numbers.
    public static let capacityLimit = (1 << 24) - 2

    public init(expectedCount: Int = 8) {
        var capacity = 16
        while capacity * 3 < expectedCount * 4 { capacity <<= 1 }
        slots = Array(repeating: 0, count: capacity)
        mask = capacity - 1
    }

    public var count: Int { starts.count }
    public var isEmpty: Bool { starts.isEmpty }

    /// Bytes held, for the memory figure `--block-list` reports.
    public var memoryBytes: Int {
        arena.capacity + slots.capacity * 4 + starts.capacity * 4 + values.capacity * 4 + filter.capacity * 8
    }

    /// Adds `name` (lowercased wire) with `value`; a name already present keeps
    /// its first value. Returns false when it was there (or the table is full).
    @discardableResult
    public mutating func insert(_ name: [UInt8], value: UInt32 = 0) -> Bool {
        name.withUnsafeBytes { bytes in
            let hash = NameSuffixes.hash(of: bytes)
            if find(bytes, hash: hash) != nil || starts.count >= Self.capacityLimit { return false }
            if (starts.count + 1) * 4 > slots.count * 3 { rebuild(capacity: slots.count * 2) }
            let entry = UInt32(starts.count)
            starts.append(UInt32(arena.count))
            values.append(value)
            arena.append(UInt8(bytes.count))
            arena.append(contentsOf: bytes)
            place(entry, hash: hash)
            filter = []
            return true
        }
    }

    /// After the last insert: arrays trimmed to their contents, slots resized
    /// to the count, and the filter built.
    public mutating func compact() {
        // Copies of the elements, not of the buffers (which `Array(array)`, and even a
        // whole-array slice, would share): capacity = count.
        arena = arena.withUnsafeBufferPointer { Array($0) }
        starts = starts.withUnsafeBufferPointer { Array($0) }
        values = values.withUnsafeBufferPointer { Array($0) }
        var capacity = 16
        while capacity * 3 < starts.count * 4 { capacity <<= 1 }
        rebuild(capacity: capacity)
        var bits = 64
        while bits < starts.count * 4 { bits <<= 1 }
        filter = Array(repeating: 0, count: bits / 64)
        filterMask = bits - 1
        for hash in entryHashes() {
            let bit = Int(truncatingIfNeeded: hash >> 20) & filterMask
            filter[bit >> 6] |= 1 << UInt64(bit & 63)
        }
    }

    /// Tables this small (the bypass canaries, a few zones) are scanned instead:
    /// comparing a name's tail with each entry costs less than hashing it, so
    /// `suffixes` may then be left unfilled (`needsSuffixHashes`).
    static var scanLimit: Int { 8 }

    /// False when `longestMatch` scans and needs no `NameSuffixes`.
    public var needsSuffixHashes: Bool { starts.count > Self.scanLimit }

    /// The value of the longest suffix of the name in `suffixes` that is in the
    /// table, and that suffix's offset; nil when none is.
    public func longestMatch(_ name: UnsafeRawBufferPointer, _ suffixes: NameSuffixes) -> (value: UInt32, offset: Int)? {
        guard !starts.isEmpty else { return nil }
        guard needsSuffixHashes else { return scanMatch(name) }
        for index in 0..<suffixes.count {
            let offset = suffixes.offsets[index]
            if let entry = find(UnsafeRawBufferPointer(rebasing: name[offset...]), hash: suffixes.hashes[index]) {
                return (values[entry], offset)
            }
        }
        return nil
    }

    /// The value stored for exactly `name`.
    public func value(of name: [UInt8]) -> UInt32? {
        name.withUnsafeBytes { bytes in find(bytes, hash: NameSuffixes.hash(of: bytes)).map { values[$0] } }
    }

    private func scanMatch(_ name: UnsafeRawBufferPointer) -> (value: UInt32, offset: Int)? {
        var best: (value: UInt32, offset: Int)?
        arena.withUnsafeBytes { stored in
            for entry in starts.indices {
                let start = Int(starts[entry])
                let length = Int(stored[start])
                // The tail compared with memcmp first: most names differ there, and
                // the label walk of `isName` runs only for the few that do not.
                guard length <= name.count, best.map({ name.count - $0.offset < length }) ?? true,
                      memcmp(name.baseAddress! + name.count - length, stored.baseAddress! + start + 1, length) == 0,
                      CacheKey.isName(name, atOrBelow: UnsafeRawBufferPointer(rebasing: stored[(start + 1)..<(start + 1 + length)]))
                else { continue }
                best = (values[entry], name.count - length)
            }
        }
        return best
    }

    private func find(_ name: UnsafeRawBufferPointer, hash: UInt64) -> Int? {
        if !filter.isEmpty {
            let bit = Int(truncatingIfNeeded: hash >> 20) & filterMask
            guard filter[bit >> 6] & (1 << UInt64(bit & 63)) != 0 else { return nil }
        }
        let tag = Self.tag(hash)
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let stored = slots[slot]
            if stored == 0 { return nil }
            if stored & 0xFF00_0000 == tag {
                let entry = Int(stored & 0x00FF_FFFF) - 1
                if matches(entry, name) { return entry }
            }
            slot = (slot + 1) & mask
        }
    }

    private static func tag(_ hash: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: hash >> 56) << 24 }

    private func matches(_ entry: Int, _ name: UnsafeRawBufferPointer) -> Bool {
        let start = Int(starts[entry])
        guard Int(arena[start]) == name.count else { return false }
        return arena.withUnsafeBytes { stored in
            memcmp(stored.baseAddress! + start + 1, name.baseAddress!, name.count) == 0
        }
    }

    private mutating func place(_ entry: UInt32, hash: UInt64) {
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        slots[slot] = (entry + 1) | Self.tag(hash)
    }

    private mutating func rebuild(capacity: Int) {
        slots = Array(repeating: 0, count: capacity)
        mask = capacity - 1
        for (entry, hash) in entryHashes().enumerated() { place(UInt32(entry), hash: hash) }
    }

    /// Every entry's hash, in entry order (the arena keeps names, not hashes).
    private func entryHashes() -> [UInt64] {
        arena.withUnsafeBytes { bytes in
            starts.map { start in
                let length = Int(bytes[Int(start)])
                return NameSuffixes.hash(of: UnsafeRawBufferPointer(rebasing: bytes[(Int(start) + 1)..<(Int(start) + 1 + length)]))
            }
        }
    }
}
