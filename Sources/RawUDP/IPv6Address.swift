/// An IPv6 address as two 64-bit halves in network order of significance.
public struct IPv6Address: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public init(octets: some Collection<UInt8>) {
        precondition(octets.count == 16, "an IPv6 address has 16 octets")
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, octet) in octets.enumerated() {
            if index < 8 { high = high << 8 | UInt64(octet) } else { low = low << 8 | UInt64(octet) }
        }
        self.init(high: high, low: low)
    }

    /// RFC 4291 section 2.2 text, including "::" and an embedded dotted quad.
    public init?(_ text: some StringProtocol) {
        var groups: [UInt16] = []
        var tailGroups: [UInt16] = []
        var sawDoubleColon = false
        let string = String(text)
        guard !string.isEmpty, string.allSatisfy(\.isASCII) else { return nil }
        let characters = Array(string)
        var halves: [String] = []
        var start = 0
        var index = 0
        while index < characters.count - 1 {
            if characters[index] == ":", characters[index + 1] == ":" {
                halves.append(String(characters[start..<index]))
                index += 2
                start = index
            } else {
                index += 1
            }
        }
        halves.append(String(characters[start...]))
        guard halves.count <= 2 else { return nil }
        sawDoubleColon = halves.count == 2

        func parse(_ part: String, into target: inout [UInt16], allowTrailingIPv4: Bool) -> Bool {
            if part.isEmpty { return true }
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if allowTrailingIPv4, index == pieces.count - 1, piece.contains(".") {
                    guard let v4 = IPv4Address(piece) else { return false }
                    target.append(UInt16(v4.value >> 16))
                    target.append(UInt16(truncatingIfNeeded: v4.value))
                    continue
                }
                // Hex digits only: UInt16("+1", radix: 16) is 1.
                guard (1...4).contains(piece.count), piece.allSatisfy(\.isHexDigit),
                      let group = UInt16(piece, radix: 16) else { return false }
                target.append(group)
            }
            return true
        }

        if sawDoubleColon {
            guard parse(halves[0], into: &groups, allowTrailingIPv4: false),
                  parse(halves[1], into: &tailGroups, allowTrailingIPv4: true),
                  groups.count + tailGroups.count <= 7 else { return nil }
            groups += Array(repeating: 0, count: 8 - groups.count - tailGroups.count) + tailGroups
        } else {
            guard parse(halves[0], into: &groups, allowTrailingIPv4: true), groups.count == 8 else { return nil }
        }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, group) in groups.enumerated() {
            if index < 4 { high = high << 16 | UInt64(group) } else { low = low << 16 | UInt64(group) }
        }
        self.init(high: high, low: low)
    }

    public var octets: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }

    /// ::ffff:a.b.c.d, which a dual-stack socket reports for IPv4 peers.
    public var mappedIPv4: IPv4Address? {
        guard high == 0, low >> 32 == 0xFFFF else { return nil }
        return IPv4Address(UInt32(truncatingIfNeeded: low))
    }

    public init(mapping v4: IPv4Address) {
        self.init(high: 0, low: 0xFFFF_0000_0000 | UInt64(v4.value))
    }

    /// RFC 5952 text: lowercase, longest zero run (of two or more) as "::".
    public var description: String {
        let groups = (0..<8).map { index -> UInt16 in
            let half = index < 4 ? high : low
            return UInt16(truncatingIfNeeded: half >> (48 - 16 * (index % 4)))
        }
        var bestStart = -1, bestLength = 0, runStart = -1
        for index in 0...8 {
            if index < 8, groups[index] == 0 {
                if runStart < 0 { runStart = index }
            } else if runStart >= 0 {
                if index - runStart > bestLength { bestStart = runStart; bestLength = index - runStart }
                runStart = -1
            }
        }
        let hex = groups.map { String($0, radix: 16) }
        guard bestLength >= 2 else { return hex.joined(separator: ":") }
        let head = hex[..<bestStart].joined(separator: ":")
        let tail = hex[(bestStart + bestLength)...].joined(separator: ":")
        return head + "::" + tail
    }
}
