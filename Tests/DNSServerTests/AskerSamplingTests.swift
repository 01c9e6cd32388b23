import Testing
@testable import DNSServer

@Suite("top's sampling of clients and names")
struct AskerSamplingTests {
    @Test func everyQueryCountsUntilTheSecondsBudgetThenASample() {
        var sampling = AskerSampling()
        let exact = (0..<AskerSampling.exactPerSecond).map { _ in sampling.weight() }
        #expect(exact.allSatisfy { $0 == 1 }, "a quiet gateway sees every query")
        let sampled = (0..<80_000).map { _ in sampling.weight() }
        #expect(sampled.allSatisfy { $0 == 0 || $0 == AskerSampling.rate })
        let total = sampled.reduce(0, +)
        #expect((72_000...88_000).contains(total), "the weights add up to the queries (\(total))")
        sampling.startSecond()
        #expect(sampling.weight() == 1, "a new second counts exactly again")
    }
}
