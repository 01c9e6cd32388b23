/// Label arithmetic on wire names, for zone lookups. Works on the
/// uncompressed form `DNSName` holds; a malformed name (a length running past
/// the end) simply ends the walk, it never traps.
extension DNSName {
    /// The same name with ASCII letters folded to lower case (RFC 4343), the
    /// form zone lookups key on. Length octets are at most 63, below 'A', so
    /// folding every octet is safe.
    var lowercased: DNSName { DNSName(wire: wire.map(Self.foldCase)) }

    /// Offsets where each label starts, the root label excluded.
    var labelOffsets: [Int] {
        var offsets: [Int] = []
        var index = 0
        while index < wire.count, wire[index] != 0 {
            offsets.append(index)
            index += 1 + Int(wire[index])
        }
        return offsets
    }

    var isRoot: Bool { wire.first ?? 0 == 0 }

    /// The name minus its first label; nil for the root.
    var parent: DNSName? {
        guard let length = wire.first, length != 0, wire.count > Int(length) + 1 else { return nil }
        return DNSName(wire: Array(wire[(Int(length) + 1)...]))
    }

    /// `*.name` (RFC 4592 2.1.1: the asterisk label is the single octet 0x2A).
    var wildcardChild: DNSName { DNSName(wire: [1, 0x2A] + wire) }

    /// True when `self` is `ancestor` or below it. Both must already be lowercased.
    func isEqualOrBelow(_ ancestor: DNSName) -> Bool {
        guard wire.count >= ancestor.wire.count else { return false }
        let start = wire.count - ancestor.wire.count
        // The suffix must begin on a label boundary, not inside a label.
        guard start == 0 || labelOffsets.contains(start) else { return false }
        return wire[start...].elementsEqual(ancestor.wire)
    }
}
