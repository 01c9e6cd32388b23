/// DNS 0x20 (draft-vixie-dnsext-dns0x20-00): the letters of an upstream query's
/// name go out in random case, and a UDP reply must echo that exact case. An
/// off-path forger then has to guess one more bit per letter besides the port
/// and the ID. Per upstream, it watches for servers that do not preserve case
/// (their correctly-ID'd replies come back in another case, again and again)
/// and leaves 0x20 off for them, so they keep working.
struct CaseRandomization {
    /// Replies with our ID but another case, in a row with no exact echo in
    /// between, after which an upstream counts as not preserving case. A forger
    /// would have to guess the ID this many times running to switch 0x20 off.
    static let mismatchesBeforeOff = 3

    private(set) var isOff: [Bool]
    private var mismatchStreak: [Int]
    private let randomBits: () -> UInt64

    init(upstreams: Int, randomBits: @escaping () -> UInt64) {
        isOff = Array(repeating: false, count: upstreams)
        mismatchStreak = Array(repeating: 0, count: upstreams)
        self.randomBits = randomBits
    }

    func isUsed(for upstream: Int, enabled: Bool) -> Bool {
        enabled && !isOff[upstream]
    }

    /// `name` with each ASCII letter's case from one random bit. Length octets
    /// are at most 63, below 'A', so every octet in the letter range is a letter.
    func randomized(_ name: DNSName) -> DNSName {
        var wire = name.wire
        var bits: UInt64 = 0
        var bitsLeft = 0
        for index in wire.indices {
            let lower = DNSName.foldCase(wire[index])
            guard lower >= 0x61, lower <= 0x7A else { continue }
            if bitsLeft == 0 {
                bits = randomBits()
                bitsLeft = 64
            }
            wire[index] = bits & 1 == 0 ? lower : lower & ~0x20
            bits >>= 1
            bitsLeft -= 1
        }
        return DNSName(wire: wire)
    }

    /// `reply` with its question name spelled `name` again (the first asking
    /// client's spelling) instead of our random case, so what is relayed and
    /// cached, and every owner name compressed to the question, reads as
    /// without 0x20. The reply was validated: one question at offset 12,
    /// equal to `name` but for case, so of the same length.
    static func restoring(_ name: DNSName, in reply: [UInt8]) -> [UInt8] {
        var restored = reply
        restored.replaceSubrange(DNSHeader.length..<(DNSHeader.length + name.wire.count), with: name.wire)
        return restored
    }

    /// The upstream echoed our case exactly.
    mutating func recordEcho(upstream: Int) {
        mismatchStreak[upstream] = 0
    }

    /// The upstream (or a forger with our ID) echoed another case. True when
    /// this turns 0x20 off for the upstream.
    mutating func recordMismatch(upstream: Int) -> Bool {
        guard !isOff[upstream] else { return false }
        mismatchStreak[upstream] += 1
        guard mismatchStreak[upstream] >= Self.mismatchesBeforeOff else { return false }
        isOff[upstream] = true
        return true
    }
}
