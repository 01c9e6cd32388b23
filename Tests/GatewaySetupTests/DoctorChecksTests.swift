import RawUDP
import Testing
@testable import GatewaySetup

@Suite("Doctor verdicts")
struct DoctorChecksTests {
    let checks = DoctorChecks()
    private let rules = IPRuleEntry.parseListing("0:\tfrom all lookup 255\n1000:\tfrom all fwmark 0x2d4e lookup 153\n32766:\tfrom all lookup 254\n")

    private func failure(_ message: String = "boom") -> ExternalCommandError {
        ExternalCommandError(command: "ip -N -6 rule show", reason: .failed(status: 1, message: message))
    }

    @Test func findingLines() {
        #expect("\(DoctorFinding.ok("fine"))" == "ok   fine")
        #expect("\(DoctorFinding.warn("hmm", fix: "do this"))" == "WARN hmm. Fix: do this")
        #expect("\(DoctorFinding.fail("broken"))" == "FAIL broken")
    }

    @Test func ipRulePresentMissingOrTooLate() {
        #expect(checks.ipRule(.ipv4, .success(rules)) == .ok("IPv4 ip rule 1000: fwmark 0x2d4e lookup 153"))
        let missing = checks.ipRule(.ipv6, .success(rules.filter { $0.priority != 1000 }))
        #expect(missing.level == .fail)
        #expect(missing.message.hasPrefix("IPv6 ip rule fwmark 0x2d4e lookup 153 is missing"))
        #expect(missing.fix == "ip -6 rule add priority 1000 fwmark 0x2d4e lookup 153 (or tproxy-dns rules --apply)")
        let late = checks.ipRule(.ipv4, .success(IPRuleEntry.parseListing("32767:\tfrom all fwmark 0x2d4e lookup 153")))
        #expect(late.level == .fail && late.message.contains("after the main table"))
    }

    @Test func unreadableIPv6IsAWarningWithoutIPv6() {
        var checks = checks
        checks.ipv6Available = false
        #expect(checks.ipRule(.ipv6, .failure(failure())).level == .warn)
        checks.ipv6Available = true
        #expect(checks.ipRule(.ipv6, .failure(failure())).level == .fail)
    }

    @Test func localRoute() {
        #expect(checks.localRoute(.ipv6, .success([IPRouteEntry(type: "local", destination: "default", device: "lo")])).level == .ok)
        let missing = checks.localRoute(.ipv4, .success([]))
        #expect(missing.level == .fail)
        #expect(missing.fix == "ip -4 route add local 0.0.0.0/0 dev lo table 153 (or tproxy-dns rules --apply)")
    }

    private func listing(_ rules: [NftRulesetListing.TProxyRule]) -> NftRulesetListing {
        var listing = NftRulesetListing()
        listing.tproxyRules = rules
        return listing
    }

    @Test func nftRules() {
        let good = NftRulesetListing.TProxyRule(table: "inet tproxy_dns", chain: "divert", port: 5353, mark: 0x2d4e, protocols: ["udp", "tcp"])
        #expect(checks.nftRules(listing([good])) == [.ok("nft: inet tproxy_dns diverts UDP and TCP to port 5353 with mark 0x2d4e")])
        #expect(checks.nftRules(NftRulesetListing()).map(\.level) == [.fail])

        var otherPort = good
        otherPort.port = 5300
        let wrongPort = checks.nftRules(listing([otherPort]))
        #expect(wrongPort.map(\.level) == [.fail] && wrongPort[0].message.contains("send to :5300, not to port 5353"))

        var udpOnly = good
        udpOnly.protocols = ["udp"]
        let noTCP = checks.nftRules(listing([udpOnly]))
        #expect(noTCP.map(\.level) == [.warn] && noTCP[0].message.contains("no tproxy rule for TCP"))

        var otherMark = good
        otherMark.mark = 1
        #expect(checks.nftRules(listing([otherMark]))[0].message.contains("set mark 0x1, the ip rules checked below look for 0x2d4e"))
        otherMark.mark = nil
        #expect(checks.nftRules(listing([otherMark]))[0].message.contains("sets no mark"))
    }

    @Test func kernelProbe() {
        #expect(checks.kernelTProxy(.success(.init(status: 0, output: "", errorOutput: ""))).level == .ok)
        #expect(checks.kernelTProxy(.success(.init(status: 1, output: "", errorOutput: "Error: Could not process rule: Operation not permitted"))).level == .warn)
        let missing = checks.kernelTProxy(.success(.init(status: 1, output: "", errorOutput: "/dev/stdin:4:9-40: Error: Could not process rule: No such file or directory\n  meta ...")))
        #expect(missing.level == .fail && missing.message.contains("No such file or directory") && missing.fix?.contains("nft_tproxy") == true)
        #expect(checks.kernelTProxy(.failure(ExternalCommandError(command: "nft --check -f -", reason: .notFound))).level == .fail)
    }

    @Test func srcValidMark() {
        #expect(checks.srcValidMark(all: 0, interfaces: [("lan0", 0)]).level == .ok)
        let all = checks.srcValidMark(all: 1, interfaces: [("lan0", 0)])
        #expect(all.level == .fail && all.message.contains("martian"))
        #expect(all.fix == "sysctl -w net.ipv4.conf.all.src_valid_mark=0 (and in /etc/sysctl.d)")
        let one = checks.srcValidMark(all: 0, interfaces: [("lan0", 0), ("lan1", 1)])
        #expect(one.level == .fail && one.message.hasPrefix("net.ipv4.conf.lan1.src_valid_mark=1"))
    }

    @Test func reversePathFilterTakesTheLargerValue() {
        #expect(checks.reversePathFilter(all: 0, interfaces: [("lan0", 2)]).level == .ok)
        #expect(checks.reversePathFilter(all: 2, interfaces: [("lan0", 1)]).level == .ok) // max(2, 1) is loose
        let strict = checks.reversePathFilter(all: 1, interfaces: [("lan0", 0), ("lan1", 2)])
        #expect(strict.level == .warn && strict.message.hasPrefix("rp_filter=1 (strict) on lan0:"))
        #expect(strict.fix == "sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.lan0.rp_filter=2 (loose)")
    }

    @Test func forwarding() {
        #expect(checks.forwarding(.ipv4, 1) == .ok("net.ipv4.ip_forward=1"))
        #expect(checks.forwarding(.ipv6, 0).level == .warn)
        #expect(checks.forwarding(.ipv6, nil).level == .warn)
    }

    @Test func capabilities() {
        #expect(checks.capabilities(ProcessCapabilities(effective: 0x3000)).level == .ok)
        let none = checks.capabilities(ProcessCapabilities(effective: 0))
        #expect(none.level == .warn && none.message.contains("CAP_NET_ADMIN and CAP_NET_RAW"))
    }

    @Test func portOwner() {
        let ours = ListeningSocket(localAddress: "*:5353", owners: [.init(name: "tproxy-dns", pid: 7)])
        #expect(checks.portOwner("udp", .success([ours])) == .ok("UDP port 5353: tproxy-dns (pid 7) listens"))
        #expect(checks.portOwner("tcp", .success([])).level == .warn)
        let theirs = ListeningSocket(localAddress: "0.0.0.0:5353", owners: [.init(name: "avahi-daemon", pid: 9)])
        let taken = checks.portOwner("udp", .success([theirs]))
        #expect(taken.level == .fail && taken.message == "UDP port 5353 is held by avahi-daemon (pid 9): tproxy-dns serve cannot bind it")
        #expect(checks.portOwner("udp", .success([ListeningSocket(localAddress: "*:5353", owners: [])])).level == .warn)
        #expect(checks.portOwner("udp", .success([ListeningSocket(localAddress: "*:53530", owners: [])])).level == .warn)
    }

    @Test func upstreams() {
        let a = IPEndpoint("192.0.2.53", defaultPort: 53)!, b = IPEndpoint("[2001:db8::53]:5300", defaultPort: 53)!
        let mixed = checks.upstreams([(a, .answered(milliseconds: 3)), (b, .timedOut(seconds: 2))])
        #expect(mixed == [.ok("upstream 192.0.2.53:53 answers (3 ms)"),
                          .warn("upstream [2001:db8::53]:5300: no answer within 2 s",
                                fix: "check the address, and routes and firewalls between this host and it")])
        let dead = checks.upstreams([(a, .refused), (b, .error("connect(upstream) failed"))])
        #expect(dead.map(\.level) == [.fail, .fail])
        #expect(dead[0].message.contains("refused") && dead[0].message.hasSuffix("no upstream answers"))
        #expect(checks.upstreams([]).map(\.level) == [.warn])
    }
}
