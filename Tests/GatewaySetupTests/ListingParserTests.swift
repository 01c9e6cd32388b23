import DNSForward
import Testing
@testable import GatewaySetup

@Suite("ip rule listings")
struct IPRuleEntryTests {
    static let listing = """
        0:\tfrom all lookup 255
        900:\tnot from all fwmark 0x2d4e lookup 153
        999:\tfrom all fwmark 0x2d4e/0xff lookup 153
        1000:\tfrom all fwmark 0x2d4e lookup 153
        1001:\tfrom all iif eth0 fwmark 0x2d4e lookup 153
        1002:\tfrom 192.0.2.0/24 fwmark 0x2d4e lookup 153
        1003:\tfrom all fwmark 0x2d4e lookup 153 proto static
        32765:\tfrom all fwmark 0x1 lookup 100 [detached]
        32766:\tfrom all lookup 254
        32767:\tfrom all lookup 253
        Error: something that is not a rule
        """

    @Test func parsesEveryRuleLine() {
        let rules = IPRuleEntry.parseListing(Self.listing)
        #expect(rules.map(\.priority) == [0, 900, 999, 1000, 1001, 1002, 1003, 32765, 32766, 32767])
        #expect(rules[0] == IPRuleEntry(priority: 0, table: "255"))
        #expect(rules[1].isNegated)
        #expect(rules[2].fwmark == 0x2d4e && rules[2].fwmask == 0xff)
        #expect(rules[3] == IPRuleEntry(priority: 1000, fwmark: 0x2d4e, table: "153"))
        #expect(rules[4].otherSelectors == ["iif eth0"])
        #expect(rules[5].source == "192.0.2.0/24")
        #expect(rules[7].otherSelectors == ["[detached]"])
    }

    @Test func onlyAnExactRuleSendsTheMark() {
        let rules = IPRuleEntry.parseListing(Self.listing)
        #expect(rules.filter { $0.sendsMark(0x2d4e, to: 153) }.map(\.priority) == [1000])
        #expect(!rules[3].sendsMark(0x2d4e, to: 154))
        #expect(!rules[3].sendsMark(0x2d4f, to: 153))
        #expect(IPRuleEntry.parse("5:\tfrom all fwmark 0x7/0xffffffff lookup 9")?.sendsMark(7, to: 9) == true)
    }

    @Test func policyRoutingEntryFindsItsRule() {
        let rules = IPRuleEntry.parseListing(Self.listing)
        #expect(PolicyRoutingEntry.rule(.ipv4, priority: 1000, mark: 0x2d4e, table: 153).isPresent(in: rules))
        #expect(!PolicyRoutingEntry.rule(.ipv4, priority: 1500, mark: 0x2d4e, table: 153).isPresent(in: rules))
        #expect(!PolicyRoutingEntry.rule(.ipv4, priority: 999, mark: 0x2d4e, table: 153).isPresent(in: rules))
    }

    @Test(arguments: ["", "garbage", ":\tfrom all", "x: from all", "-1: from all"])
    func nonRulesAreNil(_ line: String) {
        #expect(IPRuleEntry.parse(line) == nil)
    }
}

@Suite("ip route listings")
struct IPRouteEntryTests {
    @Test func localDefaultRoutesOfBothFamilies() {
        let v4 = IPRouteEntry.parseListing("local default dev lo scope host \n")
        let v6 = IPRouteEntry.parseListing("local default dev lo metric 1024 pref medium\n")
        #expect(v4 == [IPRouteEntry(type: "local", destination: "default", device: "lo")])
        #expect(v4[0].isLocalDefaultOnLoopback && v6[0].isLocalDefaultOnLoopback)
        #expect(IPRouteEntry.parse("local 0.0.0.0/0 dev lo")?.isLocalDefaultOnLoopback == true)
    }

    @Test func otherRoutesAreNotOurs() {
        let routes = IPRouteEntry.parseListing("""
            default via 192.0.2.1 dev eth0
            192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.10
            local default dev eth0 scope host
            blackhole 198.51.100.0/24
            """)
        #expect(routes.map(\.type) == ["unicast", "unicast", "local", "blackhole"])
        #expect(routes.map(\.destination) == ["default", "192.0.2.0/24", "default", "198.51.100.0/24"])
        #expect(!routes.contains { $0.isLocalDefaultOnLoopback })
        #expect(!PolicyRoutingEntry.localRoute(.ipv4, table: 153).isPresent(in: routes))
    }
}

@Suite("nft ruleset listings")
struct NftRulesetListingTests {
    /// `nft list ruleset` after `rules --apply --lan-interface gw-client`, plus the lab's own
    /// table and an unrelated one with a multi-line named set.
    static let ruleset = """
        table inet tproxy_dns {
        \tcomment "tproxy-dns port=5353 mark=0x2d4e table=153 priority=1000"
        \tchain prerouting {
        \t\ttype filter hook prerouting priority mangle; policy accept;
        \t\tmeta l4proto { tcp, udp } th dport 53 jump divert
        \t}

        \tchain divert {
        \t\tct direction reply return
        \t\tmeta l4proto udp @th,80,8 & 0x80 == 0x80 return
        \t\tiifname != { "lan0", "gw-client" } return
        \t\tmeta l4proto { tcp, udp } counter packets 12 bytes 900 tproxy to :5353 meta mark set 0x00002d4e accept
        \t}
        }
        table inet tproxy_dns_lab {
        \tchain prerouting {
        \t\ttype filter hook prerouting priority mangle; policy accept;
        \t\tiifname "gw-client" udp dport 53 counter packets 0 bytes 0 tproxy to :5300 meta mark set 0x00000001 accept
        \t}
        }
        table ip other {
        \tset lan {
        \t\ttype ipv4_addr
        \t\tflags interval
        \t\telements = { 10.0.0.0/8, 100.64.0.0/10,
        \t\t\t     192.168.0.0/16 }
        \t}

        \tchain c {
        \t\tip saddr != { 10.0.0.0/8, 100.64.0.0/10,
        \t\t\t     192.168.0.0/16 } iifname "wan" return
        \t\tmeta l4proto tcp tproxy ip to 127.0.0.1:5353 mark set 0x10
        \t\tmeta l4proto udp tproxy ip6 to [::1]:5354
        \t}
        }
        """

    @Test func findsEveryTProxyRule() {
        let rules = NftRulesetListing.parse(Self.ruleset).tproxyRules
        #expect(rules == [
            .init(table: "inet tproxy_dns", chain: "divert", port: 5353, mark: 0x2d4e, protocols: ["udp", "tcp"]),
            .init(table: "inet tproxy_dns_lab", chain: "prerouting", port: 5300, mark: 1, protocols: ["udp"]),
            .init(table: "ip other", chain: "c", port: 5353, mark: 0x10, protocols: ["tcp"]),
            .init(table: "ip other", chain: "c", port: 5354, mark: nil, protocols: ["udp"]),
        ])
    }

    @Test func tableCommentsAndInterfaces() {
        let listing = NftRulesetListing.parse(Self.ruleset)
        #expect(listing.tableComments == ["inet tproxy_dns": "tproxy-dns port=5353 mark=0x2d4e table=153 priority=1000"])
        #expect(listing.interfaceNames["inet tproxy_dns"] == ["lan0", "gw-client"])
        #expect(listing.interfaceNames["inet tproxy_dns_lab"] == ["gw-client"])
        #expect(listing.interfaceNames["ip other"] == ["wan"])
    }

    @Test func ourOwnTableParsesBack() {
        let ruleset = TPROXYRuleset(TPROXYRuleSettings(lanInterfaces: ["br-lan"], mark: 0x77))
        let listing = NftRulesetListing.parse(ruleset.nftTable)
        #expect(listing.tproxyRules == [.init(table: "inet tproxy_dns", chain: "divert", port: 5353, mark: 0x77, protocols: ["udp", "tcp"])])
        #expect(listing.tableComments["inet tproxy_dns"].flatMap(TPROXYRuleset.settings(fromRecord:))?.mark == 0x77)
        #expect(listing.interfaceNames["inet tproxy_dns"] == ["br-lan"])
    }

    @Test func emptyRuleset() {
        #expect(NftRulesetListing.parse("") == NftRulesetListing())
    }
}

@Suite("Process capabilities")
struct ProcessCapabilitiesTests {
    @Test func capEffBits() {
        let root = ProcessCapabilities(procStatus: "Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t000001fffeffffff\n")
        #expect(root?.has(.netAdmin) == true && root?.has(.netRaw) == true)
        let onlyRaw = ProcessCapabilities(procStatus: "CapEff:\t0000000000002000\n")
        #expect(onlyRaw?.has(.netRaw) == true && onlyRaw?.has(.netAdmin) == false)
        let onlyAdmin = ProcessCapabilities(procStatus: "CapEff:\t0000000000001000")
        #expect(onlyAdmin?.has(.netAdmin) == true && onlyAdmin?.has(.netRaw) == false)
        #expect(ProcessCapabilities(procStatus: "CapEff:\t0000000000000000")?.effective == 0)
    }

    @Test(arguments: ["", "CapPrm:\t0000000000003000", "CapEff:\t", "CapEff:\tzz"])
    func malformedIsNil(_ text: String) {
        #expect(ProcessCapabilities(procStatus: text) == nil)
    }
}

@Suite("ss listings")
struct ListeningSocketTests {
    @Test func ownersAndPorts() {
        let sockets = ListeningSocket.parseListing("""
            UNCONN 0      0      *:5353 *:* users:(("tproxy-dns",pid=4242,fd=7))
            LISTEN 0      128    0.0.0.0:5353 0.0.0.0:* users:(("knotd",pid=42,fd=5),("knotd",pid=43,fd=5))
            UNCONN 0      0      [::ffff:192.0.2.1]:5353 *:*
            """)
        #expect(sockets.count == 3)
        #expect(sockets[0] == ListeningSocket(localAddress: "*:5353", owners: [.init(name: "tproxy-dns", pid: 4242)]))
        #expect(sockets[1].owners.map(\.pid) == [42, 43])
        #expect(sockets[2].owners.isEmpty && sockets[2].port == 5353)
        #expect(ListeningSocket.parse("State Recv-Q Send-Q Local Peer") == nil)
    }
}

@Suite("Doctor's DNS probe")
struct DNSProbeQueryTests {
    // The forwarder's health probe: header (RD, one question, one OPT), `. NS IN`, then our OPT.
    @Test func rootNSQuery() {
        let bytes = DNSProbeQuery(id: 0xbeef).bytes
        #expect(bytes.prefix(17) == [0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 2, 0, 1])
        #expect(bytes[17...].first == 0, "an OPT record (root owner) follows")
        #expect(bytes == UpstreamQuery.probe(id: 0xbeef))
    }

    @Test func anyResponseWithOurIDCounts() {
        let query = DNSProbeQuery(id: 0xbeef)
        let refused: [UInt8] = [0xbe, 0xef, 0x81, 0x05] + Array(repeating: 0, count: 8)
        #expect(query.isAnswered(by: refused))
        #expect(!query.isAnswered(by: [0xbe, 0xee, 0x81, 0x05] + Array(repeating: 0, count: 8)))
        #expect(!query.isAnswered(by: query.bytes)) // QR=0: our own query reflected
        #expect(!query.isAnswered(by: [0xbe, 0xef, 0x81]))
    }
}
