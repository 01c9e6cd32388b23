import DNSForward

/// Answers sent, by response code. An array indexed by the 12-bit code
/// rather than a dictionary: it is bumped once per reply, on the hit path.
struct ResponseCodeCounts {
    private var counts = [Int](repeating: 0, count: 1 << 12)

    mutating func record(_ code: DNSResponseCode) {
        counts[Int(code.rawValue)] += 1
    }

    /// The codes sent at least once.
    var byCode: [DNSResponseCode: Int] {
        var result: [DNSResponseCode: Int] = [:]
        for (code, count) in counts.enumerated() where count > 0 {
            result[DNSResponseCode(rawValue: UInt16(code))] = count
        }
        return result
    }
}
