import DNSForward

/// Which queries `top`'s client and name counts take, and what each stands for.
/// The first `exactPerSecond` queries of a second count one each: a home gateway or
/// a test sees every query. Beyond that one query in `rate`, at random, counts for
/// `rate`: counting every one costs ~1,000 instructions a query, a fifth of a cache
/// hit, and under load a sample shows the same top lists.
struct AskerSampling {
    static let rate = 8
    static let exactPerSecond = 1_000

    private var exactLeft = exactPerSecond
    private var random = SplitMix64(seed: 0x7470_726f_7879)

    /// The weight to count this query with; 0: not counted.
    mutating func weight() -> Int {
        if exactLeft > 0 {
            exactLeft -= 1
            return 1
        }
        return random.next() % UInt64(Self.rate) == 0 ? Self.rate : 0
    }

    /// A new second: count exactly again.
    mutating func startSecond() { exactLeft = Self.exactPerSecond }
}
