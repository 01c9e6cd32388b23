import Logging
import Testing
@testable import DNSForward

/// A client that knows whom it asked, as the daemon's `ClientContext` does.
private struct RoutedClient: ForwarderClient {
    let address: PolicyAddress
    let target: PolicyAddress
    var quotaKey: PolicyAddress { address }
    var policyEndpoints: PolicyEndpoints? { PolicyEndpoints(client: address, target: target) }
}

private func ip(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32) -> PolicyAddress {
    PolicyAddress(ipv4: a << 24 | b << 16 | c << 8 | d)
}

private func prefix(_ address: PolicyAddress, _ length: Int) -> PolicyPrefix { PolicyPrefix(address, length: length)! }

private let lan = prefix(ip(192, 168, 1, 0), 24)

/// Upstreams 0 (default), 1 (corp zone), 2 (route to 203.0.113.0/24); routes: 198.51.100.53 passthrough,
/// 192.0.2.99 refuse, 192.0.2.0/24 default, 203.0.113.0/24 its own set for LAN clients only.
private func policy(blocked: [String] = ["ads.example"], answer: BlockAnswer = .nxdomain, canaries: Bool = true) -> RoutingPolicy {
    var names = SuffixNameTable()
    for name in blocked { names.insert(BlockListParser.wireName(name)!) }
    return RoutingPolicy(
        defaultUpstreams: [0],
        forwardZones: [.init(name: BlockListParser.wireName("corp.example")!, upstreams: [1])],
        routes: [PolicyRoute(destination: prefix(ip(198, 51, 100, 53), 32), action: .passthrough),
                 PolicyRoute(destination: prefix(ip(192, 0, 2, 99), 32), action: .refuse),
                 PolicyRoute(destination: prefix(ip(192, 0, 2, 0), 24), action: .defaultUpstreams),
                 PolicyRoute(destination: prefix(ip(203, 0, 113, 0), 24), clients: [lan], action: .upstreams(set: 0))],
        routeUpstreams: [[2]], blockList: BlockList(names: names, files: ["test"], problems: []), blockAnswer: answer,
        bypassCanaries: canaries)
}

private func decide(_ policy: RoutingPolicy, _ name: String, client: PolicyAddress = ip(192, 168, 1, 20),
                    target: PolicyAddress = ip(192, 0, 2, 53)) -> (verdict: PolicyDecision.Verdict, rule: String) {
    var suffixes = NameSuffixes()
    let decision = BlockListParser.wireName(name)!.withUnsafeBytes {
        policy.decide(name: $0, endpoints: PolicyEndpoints(client: client, target: target), suffixes: &suffixes)
    }
    return (decision.verdict, policy.ruleNames[decision.rule])
}

@Suite("Policy: order of decision")
struct RoutingPolicyDecisionTests {
    @Test func blockListsAndCanariesComeBeforeZonesAndRoutes() {
        let policy = policy(blocked: ["ads.example", "x.corp.example"])
        #expect(decide(policy, "x.corp.example").rule == "block-list")
        #expect(decide(policy, "use-application-dns.net", target: ip(198, 51, 100, 53)) == (.block(.nxdomain), "canary"))
        #expect(decide(policy, "mask-h2.icloud.com").rule == "canary")
        #expect(decide(policy, "y.corp.example", target: ip(198, 51, 100, 53)) == (.forward(set: 1), "zone:corp.example."))
        #expect(decide(policy, "ads.example", target: ip(192, 0, 2, 99)).verdict == .block(.nxdomain))
    }

    @Test func routesMatchTheOriginalDestinationMostSpecificFirst() {
        let policy = policy()
        #expect(decide(policy, "www.test", target: ip(198, 51, 100, 53)).verdict == .passthrough(ip(198, 51, 100, 53)))
        #expect(decide(policy, "www.test", target: ip(192, 0, 2, 99)) == (.refuse, "route:192.0.2.99/32"))
        #expect(decide(policy, "www.test", target: ip(192, 0, 2, 1)) == (.forward(set: 0), "route:192.0.2.0/24"))
        #expect(decide(policy, "www.test", target: ip(203, 0, 113, 9)).verdict == .forward(set: 2))
        #expect(decide(policy, "www.test", client: ip(10, 0, 0, 1), target: ip(203, 0, 113, 9)) == (.forward(set: 0), "default"),
                "a route naming clients applies to them only")
        #expect(decide(policy, "www.test", target: ip(198, 51, 100, 1)) == (.forward(set: 0), "default"))
    }

    @Test func canariesOffAndTheBlockAnswerKind() {
        #expect(decide(policy(canaries: false), "mask.icloud.com", target: ip(198, 51, 100, 1)).rule == "default")
        #expect(decide(policy(answer: .null), "ads.example").verdict == .block(.null))
        #expect(policy().upstreamSets.map(\.members) == [[0], [1], [2]])
        #expect(policy().upstreamSets[2].name == "route:203.0.113.0/24")
    }

    @Test func reloadingListsKeepsTheRouting() {
        let old = policy()
        let new = old.replacing(blockList: .empty, blockAnswer: .refused, bypassCanaries: false)
        #expect(new.hasSameRouting(as: old))
        #expect(decide(new, "ads.example", target: ip(198, 51, 100, 1)).rule == "default")
    }
}

@Suite("Policy: the forwarder routes, answers and caches per route")
struct ForwarderRoutingTests {
    private func forwarder(_ policy: RoutingPolicy) -> Forwarder<RoutedClient> {
        var configuration = ForwarderConfiguration(upstreamNames: ["default", "corp", "route"], upstreamPolicy: .ordered)
        configuration.caseRandomization = false
        configuration.policy = policy
        return Forwarder(configuration: configuration, logger: Logger(label: "test"))
    }

    private func request(_ actions: [ForwarderAction<RoutedClient>]) -> UpstreamRequest? {
        for case .sendUpstream(let request) in actions { return request }
        return nil
    }

    private func reply(_ actions: [ForwarderAction<RoutedClient>]) -> (bytes: [UInt8], details: ReplyDetails)? {
        for case .reply(_, let bytes, let details) in actions { return (bytes, details) }
        return nil
    }

    /// Asks `name` as `client`, answers upstream with `address` when it goes there; returns the client's reply.
    private func ask(_ forwarder: Forwarder<RoutedClient>, _ name: String, type: UInt16 = 1, target: PolicyAddress,
                     answer address: [UInt8]? = nil) -> (request: UpstreamRequest?, bytes: [UInt8], details: ReplyDetails)? {
        let client = RoutedClient(address: ip(192, 168, 1, 20), target: target)
        let actions = WireFixtures.query(id: 7, name: name, type: type).withUnsafeBytes {
            forwarder.handleQuery($0, from: client, now: .now)
        }
        if let answered = reply(actions) { return (nil, answered.bytes, answered.details) }
        guard let sent = request(actions), let address else { return nil }
        var wire = WireFixtures.response(id: 0, name: name, answers: [address], ttl: 300)
        wire[0] = sent.bytes[0]
        wire[1] = sent.bytes[1]
        let replied = wire.withUnsafeBytes { forwarder.handleUpstreamReply($0, token: sent.token, now: .now) }
        return reply(replied).map { (sent, $0.bytes, $0.details) }
    }

    @Test func twoRoutesAnsweringOneNameDifferentlyNeverCrossInTheCache() throws {
        let forwarder = forwarder(policy())
        let viaDefault = try #require(ask(forwarder, "www.test", target: ip(192, 0, 2, 53), answer: [192, 0, 2, 1]))
        #expect(viaDefault.request?.upstream == 0)
        let viaRoute = try #require(ask(forwarder, "www.test", target: ip(203, 0, 113, 9), answer: [203, 0, 113, 1]))
        #expect(viaRoute.request?.upstream == 2, "the route's own upstream set, not the cached default answer")
        let viaPassthrough = try #require(ask(forwarder, "www.test", target: ip(198, 51, 100, 53), answer: [198, 51, 100, 1]))
        #expect(viaPassthrough.request?.passthroughTarget == ip(198, 51, 100, 53))
        // Each route's second query is a hit on its own answer.
        for (target, expected) in [(ip(192, 0, 2, 53), [UInt8]([192, 0, 2, 1])), (ip(203, 0, 113, 9), [203, 0, 113, 1]),
                                   (ip(198, 51, 100, 53), [198, 51, 100, 1])] {
            let hit = try #require(ask(forwarder, "www.test", target: target))
            #expect(hit.details.source == .cache)
            #expect(Array(hit.bytes.suffix(4)) == expected)
        }
        #expect(forwarder.cache.count == 3)
    }

    @Test func fastPathHonoursRoutesAndLeavesBlockedNamesToTheSlowPath() throws {
        let forwarder = forwarder(policy())
        _ = try #require(ask(forwarder, "www.test", target: ip(203, 0, 113, 9), answer: [203, 0, 113, 1]))
        var out = [UInt8](repeating: 0, count: 512)
        let query = WireFixtures.query(id: 9, name: "www.test")
        let endpoints = { (target: PolicyAddress) in PolicyEndpoints(client: ip(192, 168, 1, 20), target: target) }
        let routed = out.withUnsafeMutableBytes { buffer in
            query.withUnsafeBytes { forwarder.answerFromCache($0, now: .now, into: buffer, endpoints: endpoints(ip(203, 0, 113, 9))) }
        }
        #expect(routed?.rule == 7, "route:203.0.113.0/24 decided the hit")
        let other = out.withUnsafeMutableBytes { buffer in
            query.withUnsafeBytes { forwarder.answerFromCache($0, now: .now, into: buffer, endpoints: endpoints(ip(192, 0, 2, 53))) }
        }
        #expect(other == nil, "the default route has no answer cached")
        let blocked = out.withUnsafeMutableBytes { buffer in
            WireFixtures.query(id: 9, name: "ads.example").withUnsafeBytes {
                forwarder.answerFromCache($0, now: .now, into: buffer, endpoints: endpoints(ip(192, 0, 2, 53)))
            }
        }
        #expect(blocked == nil)
    }

    @Test("block answers", arguments: [(BlockAnswer.nxdomain, UInt16(1), 3, 0), (.refused, 1, 5, 0), (.null, 1, 0, 1),
                                        (.null, 28, 0, 1), (.null, 16, 0, 0)])
    func blockAnswers(answer: BlockAnswer, type: UInt16, rcode: UInt16, answers: UInt16) throws {
        let forwarder = forwarder(policy(answer: answer))
        let result = try #require(ask(forwarder, "www.ads.example", type: type, target: ip(192, 0, 2, 53)))
        #expect(result.details.source == .policy)
        #expect(result.details.code.rawValue == rcode)
        let header = WireFixtures.header(result.bytes)
        #expect(header.an == answers)
        if answers == 1 { #expect(result.bytes.suffix(type == 1 ? 4 : 16).allSatisfy { $0 == 0 }) }
        #expect(forwarder.counters.policyDecisions[RoutingPolicy.blockListRule] == 1)
        #expect(forwarder.counters.answeredByPolicy == 1)
    }

    @Test func failoverStaysInsideTheUpstreamSet() throws {
        let zone = RoutingPolicy.ForwardZone(name: BlockListParser.wireName("corp.example")!, upstreams: [1, 2])
        let forwarder = forwarder(RoutingPolicy(defaultUpstreams: [0], forwardZones: [zone]))
        let client = RoutedClient(address: ip(192, 168, 1, 20), target: ip(192, 0, 2, 53))
        let start = MonotonicInstant.now
        let first = WireFixtures.query(id: 7, name: "a.corp.example").withUnsafeBytes {
            forwarder.handleQuery($0, from: client, now: start)
        }
        #expect(request(first)?.upstream == 1)
        #expect(request(forwarder.expire(now: start + .seconds(3)))?.upstream == 2, "the zone's second upstream, not the default")
        #expect(forwarder.upstreamHealth.map(\.failures) == [0, 1, 0])
    }

    @Test func refusingRouteAndCanary() throws {
        let forwarder = forwarder(policy())
        #expect(try #require(ask(forwarder, "www.test", target: ip(192, 0, 2, 99))).details.code == .refused)
        #expect(try #require(ask(forwarder, "use-application-dns.net", target: ip(192, 0, 2, 53))).details.code == .nameError)
    }
}
