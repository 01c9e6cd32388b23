import Testing
@testable import DNSForward

@Suite("What is cached, and for how long")
struct CachePolicyTests {
    typealias W = WireFixtures

    static func decide(_ wire: [UInt8], _ configuration: CacheConfiguration = CacheConfiguration()) throws
        -> CachePolicy.Decision {
        try wire.withUnsafeBytes { bytes in
            let header = try #require(DNSHeader(wire: bytes))
            let layout = try #require(MessageLayout(wire: bytes))
            return CachePolicy.decide(header: header, layout: layout, configuration: configuration)
        }
    }

    static func configuration(minimum: UInt32 = 0, maximum: UInt32 = 86_400, negative: UInt32 = 3_600,
                              serverFailure: UInt32 = 5) -> CacheConfiguration {
        var configuration = CacheConfiguration()
        configuration.minimumTTL = minimum
        configuration.maximumTTL = maximum
        configuration.maximumNegativeTTL = negative
        configuration.serverFailureTTL = serverFailure
        return configuration
    }

    @Test func positiveAnswersLiveForTheirSmallestTTLWithinTheBounds() throws {
        let answer = W.response(id: 1, name: "a.test", answers: [[192, 0, 2, 1]], ttl: 300)
        #expect(try Self.decide(answer) == .store(kind: .positive, lifetime: 300))
        #expect(try Self.decide(answer, Self.configuration(minimum: 600)) == .store(kind: .positive, lifetime: 600))
        #expect(try Self.decide(answer, Self.configuration(maximum: 60)) == .store(kind: .positive, lifetime: 60))
    }

    @Test func aTTLWithTheTopBitSetCountsAsZero() throws {
        // RFC 2181 8.
        let answer = W.response(id: 1, name: "a.test", answers: [[192, 0, 2, 1]], ttl: 0x8000_0001)
        #expect(try Self.decide(answer) == .skip("TTL 0"))
        #expect(try Self.decide(answer, Self.configuration(minimum: 30)) == .store(kind: .positive, lifetime: 30))
    }

    @Test func truncatedRepliesAreNeverCached() throws {
        let truncated = W.response(id: 1, name: "a.test", answers: [[192, 0, 2, 1]], flags: 0x8380)
        #expect(try Self.decide(truncated) == .skip("truncated"))
    }

    @Test func negativeAnswersNeedAnSOAAndLiveForItsNegativeTTL() throws {
        let soa = W.soa(zone: "test", ttl: 900, minimum: 120)
        let nxdomain = W.response(id: 1, name: "nx.test", rcode: 3, authority: [soa])
        #expect(try Self.decide(nxdomain) == .store(kind: .nameError, lifetime: 120), "min(SOA TTL, MINIMUM)")
        let nodata = W.response(id: 1, name: "a.test", authority: [W.soa(zone: "test", ttl: 60, minimum: 120)])
        #expect(try Self.decide(nodata) == .store(kind: .noData, lifetime: 60))
        #expect(try Self.decide(nxdomain, Self.configuration(negative: 30)) == .store(kind: .nameError, lifetime: 30))
        // RFC 2308 5.
        #expect(try Self.decide(W.response(id: 1, name: "nx.test", rcode: 3)) == .skip("negative answer without SOA"))
        #expect(try Self.decide(W.response(id: 1, name: "a.test")) == .skip("negative answer without SOA"))
    }

    @Test func serverFailureIsRememberedForItsOwnTTLWhateverTheRecords() throws {
        let servfail = W.response(id: 1, name: "a.test", rcode: 2)
        #expect(try Self.decide(servfail) == .store(kind: .serverFailure, lifetime: 5))
        #expect(try Self.decide(servfail, Self.configuration(serverFailure: 0)) == .skip("TTL 0"))
    }

    @Test("codes about the upstream, not the name, are not cached", arguments: [
        (UInt16(1), "FORMERR"), (4, "NOTIMP"), (5, "REFUSED"), (9, "RCODE9"),
    ])
    func upstreamCodesAreSkipped(rcode: UInt16, reason: String) throws {
        #expect(try Self.decide(W.response(id: 1, name: "a.test", rcode: rcode)) == .skip(reason))
    }
}
