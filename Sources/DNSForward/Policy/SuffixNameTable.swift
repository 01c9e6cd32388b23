#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A set of wire names (lowercased), each with a small value, built for
/// block lists of a million names: the names live end to end in one byte
/// arena (a length byte, then the wire name), and an open-addressing table of
/// 32-bit arena offsets finds them. About the name's own length plus 6 bytes
/// per name, against ~100 for a `Set<[UInt8]>`; a lookup allocates nothing.
///
/// `longestMatch` is the zone rule every table here uses: the query name or
/// the nearest enclosing name in the table, at label boundaries only, so
/// `corp.test` covers `a.corp.test` but never `notcorp.test`.
public struct SuffixNameTable: Sendable {
    private var arena: [UInt8] = []
    private var slots: [UInt32]
    /// Per entry, in insertion order; `slots` hold entry numbers + 1 (0 is empty).
    private var starts: [UInt32] = []
    private var values: [UInt32] = []
    private var mask: Int

    public init(expectedCount: Int = 8) {
        var capacity = 16
        while capacity * 3 < expectedCount * 4 { capacity <<= 1 }
        slots = Array(repeating: 0, count: capacity)
        mask = capacity - 1
    }

    public var count: Int { starts.count }
    public var isEmpty: Bool { starts.isEmpty }

    /// Bytes held, for the memory figure `--block-list` reports.
    public var memoryBytes: Int { arena.capacity + slots.capacity * 4 + starts.capacity * 4 + values.capacity * 4 }

    /// Adds `name` (lowercased wire) with `value`; a name already present keeps its first value.
    /// Returns false when it was there.
    @discardableResult
    public mutating func insert(_ name: [UInt8], value: UInt32 = 0) -> Bool {
        name.withUnsafeBytes { bytes in
            let hash = NameSuffixes.hash(of: bytes)
            if find(bytes, hash: hash) != nil { return false }
            if (starts.count + 1) * 4 > slots.count * 3 { grow() }
            let entry = UInt32(starts.count)
            starts.append(UInt32(arena.count))
            values.append(value)
            arena.append(UInt8(bytes.count))
            arena.append(contentsOf: bytes)
            place(entry, hash: hash)
            return true
        }
    }

    /// The value of the longest suffix of the name in `suffixes` that is in the
    /// table, and that suffix's offset; nil when none is.
    /// Tables this small (the bypass canaries, a few zones) are scanned instead:
    /// comparing a name's tail with each entry costs less than hashing it, so
    /// `suffixes` may then be left unfilled (`needsSuffixHashes`).
    static var scanLimit: Int { 8 }

    /// False when `longestMatch` scans and needs no `NameSuffixes`.
    public var needsSuffixHashes: Bool { starts.count > Self.scanLimit }

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

    private func scanMatch(_ name: UnsafeRawBufferPointer) -> (value: UInt32, offset: Int)? {
        var best: (value: UInt32, offset: Int)?
        arena.withUnsafeBytes { stored in
            for entry in starts.indices {
                let start = Int(starts[entry])
                let length = Int(stored[start])
                guard length <= name.count, best.map({ name.count - $0.offset < length }) ?? true,
                      CacheKey.isName(name, atOrBelow: UnsafeRawBufferPointer(rebasing: stored[(start + 1)..<(start + 1 + length)]))
                else { continue }
                best = (values[entry], name.count - length)
            }
        }
        return best
    }

    /// The value stored for exactly `name`.
    public func value(of name: [UInt8]) -> UInt32? {
        name.withUnsafeBytes { bytes in find(bytes, hash: NameSuffixes.hash(of: bytes)).map { values[$0] } }
    }

    private func find(_ name: UnsafeRawBufferPointer, hash: UInt64) -> Int? {
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let stored = slots[slot]
            if stored == 0 { return nil }
            let entry = Int(stored - 1)
            if matches(entry, name) { return entry }
            slot = (slot + 1) & mask
        }
    }

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
        slots[slot] = entry + 1
    }

    private mutating func grow() {
        let capacity = slots.count * 2
        slots = Array(repeating: 0, count: capacity)
        mask = capacity - 1
        for entry in starts.indices {
            let start = Int(starts[entry])
            let length = Int(arena[start])
            let hash = arena.withUnsafeBytes { NameSuffixes.hash(of: UnsafeRawBufferPointer(rebasing: $0[(start + 1)..<(start + 1 + length)])) }
            place(UInt32(entry), hash: hash)
        }
    }
}
