import Testing
@testable import DNSForward

/// CHAOS TXT identity questions are the daemon's to answer, never the upstream's.
@Suite("Server identity (CHAOS TXT)")
struct ServerIdentityTests {
    typealias H = ForwarderHarness
    typealias W = WireFixtures

    static func chaos(_ name: String, type: UInt16 = 16, edns: Bool = false) -> [UInt8] {
        var wire = W.query(id: 0x5151, name: name, type: type)
        wire[wire.count - 1] = 3
        guard edns else { return wire }
        wire[11] = 1
        return wire + W.opt(udpSize: 1232, dnssecOK: true)
    }

    private func configured(identity: String?, version: String?) -> H {
        let lab = H()
        var configuration = lab.forwarder.configuration
        configuration.serverIdentity = ServerIdentity(identity: identity, version: version)
        lab.forwarder.reconfigure(configuration)
        return lab
    }

    @Test("refused by default, never forwarded",
          arguments: ["version.bind", "VERSION.Server", "id.server", "hostname.bind", "authors.bind"])
    func refusedByDefault(name: String) throws {
        let actions = H().query(Self.chaos(name, edns: true))
        #expect(H.sent(actions) == nil)
        let reply = try #require(H.replies(actions).first)
        #expect(reply.code == .refused)
        let decoded = try DecodedReply(reply.bytes)
        #expect(decoded.questionClass == 3)
        #expect(decoded.opt != nil)
    }

    @Test("configured strings answer TXT", arguments: [
        ("id.server", "gw-7"), ("hostname.bind", "gw-7"), ("version.bind", "tproxy-dns test"), ("version.server", "tproxy-dns test"),
    ])
    func configuredText(name: String, text: String) throws {
        let lab = configured(identity: "gw-7", version: "tproxy-dns test")
        let actions = lab.query(Self.chaos(name, edns: true))
        #expect(H.sent(actions) == nil)
        let reply = try #require(H.replies(actions).first)
        #expect(reply.code == .noError)
        let decoded = try DecodedReply(reply.bytes)
        #expect(decoded.isAuthoritative)
        let answer = try #require(decoded.answer.first)
        #expect(decoded.answer.count == 1)
        #expect(answer.owner == name + "." && answer.type == 16 && answer.class == 3 && answer.ttl == 0)
        #expect(answer.rdata == [UInt8(text.utf8.count)] + Array(text.utf8))
        #expect(decoded.opt.map { $0.ttl & 0x8000 != 0 } == true, "DO echoed")
    }

    @Test func authorsAndOtherTypesStayRefusedWithStringsSet() throws {
        let lab = configured(identity: "gw", version: "v")
        #expect(try #require(H.replies(lab.query(Self.chaos("authors.bind"))).first).code == .refused)
        #expect(try #require(H.replies(lab.query(Self.chaos("version.bind", type: 1))).first).code == .refused)
    }

    @Test func otherChaosNamesAndInternetClassAreForwarded() {
        let lab = H()
        #expect(H.sent(lab.query(Self.chaos("something.else"))) != nil)
        #expect(H.sent(lab.query(W.query(id: 1, name: "version.bind", type: 16))) != nil)
    }

    @Test func fastPathLeavesChaosToHandleQuery() {
        let wire = Self.chaos("version.bind")
        #expect(wire.withUnsafeBytes { ClientQueryParser.plainQuery($0) } == nil)
    }
}
