import Logging
import Testing
@testable import DNSForward

/// DNS 0x20: random letter case upstream, exact echo required, the client's case back.
@Suite("Forwarder: DNS 0x20 case randomization")
struct CaseRandomizationTests {
    typealias H = ForwarderHarness

    /// The question name of an upstream query as dotted text, letter case as sent.
    static func sentName(_ bytes: [UInt8]) -> String {
        var labels: [String] = []
        var index = 12
        while bytes[index] != 0 {
            let length = Int(bytes[index])
            labels.append(String(decoding: bytes[(index + 1)...(index + length)], as: UTF8.self))
            index += 1 + length
        }
        return labels.joined(separator: ".")
    }

    static let answer: [UInt8] = [192, 0, 2, 20]

    @Test func lettersTakeTheirCaseFromTheRandomBits() {
        let random = CaseRandomization(upstreams: 1, randomBits: { 0b1010 })
        // Bits are used low first, one per letter; digits and '-' take none.
        let name = random.randomized(DNSName(wire: WireFixtures.name("www.a-1.Test")))
        #expect(name.wire == WireFixtures.name("wWw.A-1.test"))
        let upper = CaseRandomization(upstreams: 1, randomBits: { .max })
        #expect(upper.randomized(DNSName(wire: WireFixtures.name("example.test"))).wire == WireFixtures.name("EXAMPLE.TEST"))
        #expect(upper.randomized(.root) == .root, "the probe's '.' has no letters")
    }

    @Test func longNamesDrawMoreBits() {
        var draws = 0
        let random = CaseRandomization(upstreams: 1, randomBits: { draws += 1; return .max })
        let long = String(repeating: "abcdefghij.", count: 10) + "test"
        let name = random.randomized(DNSName(wire: WireFixtures.name(long)))
        #expect(draws == 2, "104 letters, 64 bits a draw")
        #expect(name.wire == WireFixtures.name(long.uppercased()))
    }

    @Test func theUpstreamQueryIsMixedAndTheExactEchoIsAnsweredInTheClientsCase() throws {
        let lab = H(caseBits: { 0b0101_0101_0101 })
        let sent = try #require(H.sent(lab.query(WireFixtures.query(id: 0x1111, name: "WwW.ExAmPlE.test", ednsSize: 1232))))
        let upstreamName = Self.sentName(sent.bytes)
        #expect(upstreamName == "WwW.eXaMpLe.Test")
        let reply = WireFixtures.response(id: 0x4000, name: upstreamName, answers: [Self.answer], ednsSize: 1232)
        let replies = H.replies(lab.reply(reply, token: sent.token))
        #expect(replies.count == 1)
        let bytes = try #require(replies.first?.bytes)
        #expect(Self.sentName(bytes) == "WwW.ExAmPlE.test", "the client's own case, not the upstream's")
        #expect(Array(bytes.suffix(4 + 11).prefix(4)) == Self.answer)
        #expect(lab.forwarder.counters.caseMismatches == 0)
        // The cache keeps the first client's spelling, not the random one.
        var stored: [String] = []
        lab.forwarder.cache.forEach { _, answer in stored.append(Self.sentName(answer.wire)) }
        #expect(stored == ["WwW.ExAmPlE.test"])
        // From the cache, another client gets its own spelling too.
        let hit = H.replies(lab.query(WireFixtures.query(id: 0x2222, name: "www.EXAMPLE.TEST", ednsSize: 1232), at: 1))
        #expect(hit.first.map { Self.sentName($0.bytes) } == "www.EXAMPLE.TEST")
    }

    @Test func aReplyInAnotherCaseIsNotTakenButAskedAgainOverTCP() throws {
        let lab = H(caseBits: { .max })
        let sent = try #require(H.sent(lab.query(WireFixtures.query(id: 0x1111, name: "www.example.test"))))
        #expect(Self.sentName(sent.bytes) == "WWW.EXAMPLE.TEST")
        // Our ID and question, the client's case: a forger who guessed the ID.
        let forged = WireFixtures.response(id: 0x4000, name: "www.example.test", answers: [[192, 0, 2, 66]])
        let actions = lab.reply(forged, token: sent.token)
        #expect(H.replies(actions).isEmpty, "the forged answer reaches no client")
        #expect(actions.contains { if case .suspectForgery(sent.token) = $0 { true } else { false } })
        #expect(H.closes(actions, sent.token))
        let retry = try #require(H.sent(actions))
        #expect(retry.transport == .tcp)
        #expect(retry.upstream == sent.upstream)
        #expect(Self.sentName(retry.bytes) == "www.example.test", "TCP gets the client's spelling")
        #expect(lab.forwarder.counters.caseMismatches == 1)
        #expect(lab.forwarder.counters.tcpRetries == 1)
        // Over TCP the answer is taken in any case.
        let answer = WireFixtures.response(id: 0x4001, name: "WWW.example.TEST", answers: [Self.answer])
        let replies = H.replies(lab.reply(answer, token: retry.token))
        #expect(replies.count == 1)
        #expect(replies.first.map { Self.sentName($0.bytes) } == "www.example.test")
    }

    @Test func anUpstreamThatDoesNotPreserveCaseGetsZeroX20TurnedOff() throws {
        let lab = H(caseBits: { .max })
        for round in 0..<CaseRandomization.mismatchesBeforeOff {
            #expect(lab.forwarder.upstreamHealth[0].caseRandomization)
            let name = "host\(round).example.test"
            let sent = try #require(H.sent(lab.query(WireFixtures.query(id: 1, name: name), at: Double(round))))
            #expect(Self.sentName(sent.bytes) == name.uppercased())
            // It answers with the name lower-cased, as some servers do.
            let lowered = WireFixtures.response(id: WireFixtures.header(sent.bytes).id, name: name, answers: [Self.answer])
            let actions = lab.reply(lowered, token: sent.token, at: Double(round))
            let retry = try #require(H.sent(actions))
            #expect(retry.transport == .tcp)
            let answered = lab.reply(WireFixtures.response(id: WireFixtures.header(retry.bytes).id, name: name, answers: [Self.answer]),
                                     token: retry.token, at: Double(round))
            #expect(H.replies(answered).count == 1, "the client is answered all the same")
        }
        #expect(!lab.forwarder.upstreamHealth[0].caseRandomization)
        let sent = try #require(H.sent(lab.query(WireFixtures.query(id: 1, name: "After.example.test"), at: 5)))
        #expect(Self.sentName(sent.bytes) == "After.example.test", "the client's spelling again")
        let reply = WireFixtures.response(id: WireFixtures.header(sent.bytes).id, name: "after.example.test", answers: [Self.answer])
        #expect(H.replies(lab.reply(reply, token: sent.token, at: 5)).count == 1, "and case is compared as DNS does")
    }

    @Test func anExactEchoInBetweenKeepsZeroX20On() throws {
        let lab = H(caseBits: { .max })
        for round in 0..<(CaseRandomization.mismatchesBeforeOff * 2) {
            let name = "host\(round).example.test"
            let sent = try #require(H.sent(lab.query(WireFixtures.query(id: 1, name: name), at: Double(round))))
            let id = WireFixtures.header(sent.bytes).id
            // Every other reply is a forgery with our ID in the wrong case.
            let echoed = round % 2 == 0 ? name : Self.sentName(sent.bytes)
            let actions = lab.reply(WireFixtures.response(id: id, name: echoed, answers: [Self.answer]), token: sent.token, at: Double(round))
            if let retry = H.sent(actions) {
                _ = lab.reply(WireFixtures.response(id: WireFixtures.header(retry.bytes).id, name: name, answers: [Self.answer]),
                              token: retry.token, at: Double(round))
            }
        }
        #expect(lab.forwarder.upstreamHealth[0].caseRandomization)
        #expect(lab.forwarder.counters.caseMismatches == CaseRandomization.mismatchesBeforeOff)
    }

    @Test func offByConfigurationTheClientsSpellingGoesUpstream() throws {
        let lab = H()
        #expect(!lab.forwarder.upstreamHealth[0].caseRandomization)
        let sent = try #require(H.sent(lab.query(WireFixtures.query(id: 1, name: "MiXeD.example.test"))))
        #expect(Self.sentName(sent.bytes) == "MiXeD.example.test")
    }

    @Test func retryOverTCPMovesAUDPAttempt() throws {
        let lab = H(caseBits: { 0 })
        let sent = try #require(H.sent(lab.query(WireFixtures.query(id: 1, name: "flooded.example.test"))))
        let actions = lab.forwarder.retryOverTCP(token: sent.token, now: lab.at(0))
        #expect(H.closes(actions, sent.token))
        let retry = try #require(H.sent(actions))
        #expect(retry.transport == .tcp)
        #expect(lab.forwarder.retryOverTCP(token: retry.token, now: lab.at(0)).isEmpty, "already over TCP")
        #expect(lab.forwarder.retryOverTCP(token: 999, now: lab.at(0)).isEmpty)
    }

    @Test func theValidatorComparesTheExactNameOnlyWhenAsked() {
        let question = DNSQuestion(name: DNSName(wire: WireFixtures.name("a.test")), type: .a, class: .in)
        let reply = WireFixtures.response(id: 7, name: "A.test", answers: [Self.answer])
        reply.withUnsafeBytes { wire in
            if case .accept = UpstreamReplyValidator.validate(wire, expectedID: 7, question: question) {} else {
                Issue.record("case-insensitive by default")
            }
            if case .wrongCase = UpstreamReplyValidator.validate(wire, expectedID: 7, question: question,
                                                                  exactName: question.name) {} else {
                Issue.record("exact name differs in case")
            }
            if case .reject = UpstreamReplyValidator.validate(wire, expectedID: 8, question: question,
                                                               exactName: question.name) {} else {
                Issue.record("a wrong ID is rejected before case is looked at")
            }
        }
    }
}
