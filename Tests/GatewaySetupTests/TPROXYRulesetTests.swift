import RawUDP
import Testing
@testable import GatewaySetup

@Suite("TPROXY ruleset generation")
struct TPROXYRulesetTests {
    private func settings(_ change: (inout TPROXYRuleSettings) -> Void = { _ in }) -> TPROXYRuleSettings {
        var settings = TPROXYRuleSettings(lanInterfaces: ["lan0"])
        change(&settings)
        return settings
    }

    private func prefixes(_ texts: String...) -> [IPPrefix] { texts.compactMap { IPPrefix($0) } }

    private func divertChain(_ ruleset: TPROXYRuleset) -> [String] {
        let lines = ruleset.nftTable.split(separator: "\n").map { String($0.drop { $0 == "\t" }) }
        guard let start = lines.firstIndex(of: "chain divert {") else { return [] }
        return Array(lines[(start + 1)...].prefix { $0 != "}" }).filter { !$0.hasPrefix("#") }
    }

    @Test func defaultTableIsExactlyThis() {
        let expected = """
        table inet tproxy_dns {
        \tcomment "tproxy-dns port=5353 mark=0x2d4e table=153 priority=1000"

        \t# Only the prerouting hook is used: packets the gateway sends itself (its own
        \t# resolver, the daemon's upstream queries) pass output, never prerouting, so they
        \t# are not diverted. UDP and TCP, IPv4 and IPv6.
        \tchain prerouting {
        \t\ttype filter hook prerouting priority mangle; policy accept;
        \t\tmeta l4proto { udp, tcp } th dport 53 jump divert
        \t}

        \tchain divert {
        \t\t# Replies to exchanges someone else began (a resolver querying from port 53).
        \t\tct direction reply return
        \t\t# A DNS response (header bit QR=1) is never a query, tracked or not.
        \t\tmeta l4proto udp @th,80,8 & 0x80 == 0x80 return
        \t\t# Only queries arriving on the LAN interfaces.
        \t\tiifname != { "lan0" } return
        \t\tmeta l4proto { udp, tcp } counter tproxy to :5353 meta mark set 0x2d4e accept
        \t}
        }

        """
        #expect(TPROXYRuleset(settings()).nftTable == expected)
    }

    @Test func prefixesOfOneFamilyKeepTheOtherFamilyOut() {
        let chain = divertChain(TPROXYRuleset(settings {
            $0.lanInterfaces = []
            $0.lanPrefixes = prefixes("192.0.2.0/24", "198.51.100.0/24")
        }))
        #expect(chain.contains("ip saddr != { 192.0.2.0/24, 198.51.100.0/24 } return"))
        #expect(chain.contains("meta nfproto ipv6 return"))
        #expect(!chain.contains { $0.contains("iifname") })
    }

    @Test func prefixesOfBothFamilies() {
        let chain = divertChain(TPROXYRuleset(settings {
            $0.lanPrefixes = prefixes("192.0.2.0/24", "2001:db8:1::/64")
        }))
        #expect(chain.contains("ip saddr != { 192.0.2.0/24 } return"))
        #expect(chain.contains("ip6 saddr != { 2001:db8:1::/64 } return"))
        #expect(!chain.contains { $0.hasPrefix("meta nfproto") })
    }

    @Test func exemptionsComeBeforeTheTProxyRuleAndHostsAreBare() {
        let chain = divertChain(TPROXYRuleset(settings {
            $0.exemptPrefixes = prefixes("198.51.100.53", "2001:db8:2::/64", "198.51.100.53/32", "203.0.113.7/24")
        }))
        let v4 = chain.firstIndex(of: "ip daddr { 198.51.100.53, 203.0.113.0/24 } return")
        let v6 = chain.firstIndex(of: "ip6 daddr { 2001:db8:2::/64 } return")
        let tproxy = chain.firstIndex { $0.contains("tproxy to :5353") }
        #expect(v4 != nil && v6 != nil && tproxy != nil)
        #expect(v4! < tproxy! && v6! < tproxy!)
    }

    @Test func repliesAreReturnedFirst() {
        let chain = divertChain(TPROXYRuleset(settings()))
        #expect(chain.prefix(2) == ["ct direction reply return", "meta l4proto udp @th,80,8 & 0x80 == 0x80 return"])
    }

    @Test func interfacesAreDeduplicated() {
        let chain = divertChain(TPROXYRuleset(settings { $0.lanInterfaces = ["lan0", "wlan0", "lan0"] }))
        #expect(chain.contains("iifname != { \"lan0\", \"wlan0\" } return"))
    }

    @Test func customPortAndMark() {
        let table = TPROXYRuleset(settings { $0.port = 5300; $0.mark = 0x35 }).nftTable
        #expect(table.contains("meta l4proto { udp, tcp } counter tproxy to :5300 meta mark set 0x35 accept"))
        #expect(table.contains("comment \"tproxy-dns port=5300 mark=0x35 table=153 priority=1000\""))
    }

    @Test func replaceTransactionCreatesThenDeletesThenDefines() {
        let ruleset = TPROXYRuleset(settings())
        #expect(ruleset.nftReplaceTransaction.hasPrefix("table inet tproxy_dns\ndelete table inet tproxy_dns\ntable inet tproxy_dns {\n"))
        #expect(ruleset.nftReplaceTransaction.hasSuffix(ruleset.nftTable))
    }

    @Test func routingEntriesRouteBeforeRulePerFamily() {
        let entries = TPROXYRuleset(settings { $0.routingTable = 154; $0.rulePriority = 900; $0.mark = 7 }).routingEntries
        #expect(entries.map(\.addArguments) == [
            ["-4", "route", "add", "local", "0.0.0.0/0", "dev", "lo", "table", "154"],
            ["-4", "rule", "add", "priority", "900", "fwmark", "0x7", "lookup", "154"],
            ["-6", "route", "add", "local", "::/0", "dev", "lo", "table", "154"],
            ["-6", "rule", "add", "priority", "900", "fwmark", "0x7", "lookup", "154"],
        ])
        #expect(entries[1].deleteArguments == ["-4", "rule", "del", "priority", "900", "fwmark", "0x7", "lookup", "154"])
        #expect(entries[2].deleteArguments == ["-6", "route", "del", "local", "::/0", "dev", "lo", "table", "154"])
    }

    @Test func shellScriptLoadsTheTableAndAddsTheRouting() {
        let script = TPROXYRuleset(settings()).shellScript
        #expect(script.hasPrefix("#!/bin/sh\n"))
        #expect(script.contains("nft -f - <<'EOF'\ntable inet tproxy_dns\ndelete table inet tproxy_dns\n"))
        #expect(script.contains("}\nEOF\n"))
        #expect(script.hasSuffix("ip -6 rule add priority 1000 fwmark 0x2d4e lookup 153\n"))
        #expect(script.contains("ip -4 route add local 0.0.0.0/0 dev lo table 153\n"))
    }

    @Test func recordRoundTrips() {
        let original = settings { $0.port = 5300; $0.mark = 0xdead; $0.routingTable = 4000; $0.rulePriority = 17 }
        let parsed = TPROXYRuleset.settings(fromRecord: TPROXYRuleset(original).record)
        #expect(parsed == TPROXYRuleSettings(port: 5300, mark: 0xdead, routingTable: 4000, rulePriority: 17))
    }

    @Test(arguments: ["", "something else", "tproxy-dns port=5353", "tproxy-dns port=x mark=1 table=2 priority=3",
                      "tproxy-dns port=5353 mark=1 table=2 priority"])
    func malformedRecordsAreNil(_ comment: String) {
        #expect(TPROXYRuleset.settings(fromRecord: comment) == nil)
    }
}

@Suite("TPROXY rule settings")
struct TPROXYRuleSettingsTests {
    @Test func defaultsWithAnInterfaceAreValid() {
        #expect(TPROXYRuleSettings(lanInterfaces: ["eth1"]).problems.isEmpty)
        #expect(TPROXYRuleSettings(lanPrefixes: [IPPrefix("192.0.2.0/24")!]).problems.isEmpty)
    }

    @Test func neitherInterfaceNorPrefixWouldBeAnOpenResolver() {
        #expect(TPROXYRuleSettings().problems.first?.contains("open resolver") == true)
    }

    @Test(arguments: [
        (TPROXYRuleSettings(port: 53, lanInterfaces: ["a"]), "--port must not be 53"),
        (TPROXYRuleSettings(port: 0, lanInterfaces: ["a"]), "--port must be 1-65535"),
        (TPROXYRuleSettings(lanInterfaces: ["a"], mark: 0), "--mark must not be 0"),
        (TPROXYRuleSettings(lanInterfaces: ["a"], routingTable: 254), "--table 254 is reserved"),
        (TPROXYRuleSettings(lanInterfaces: ["a"], routingTable: 0), "--table 0 is reserved"),
        (TPROXYRuleSettings(lanInterfaces: ["a"], rulePriority: 32766), "--priority must be 1-32765"),
        (TPROXYRuleSettings(lanInterfaces: ["a"], rulePriority: 0), "--priority must be 1-32765"),
        (TPROXYRuleSettings(lanInterfaces: ["much-too-long-name"]), "--lan-interface much-too-long-name"),
        (TPROXYRuleSettings(lanInterfaces: ["a\"b"]), "--lan-interface a\"b"),
        (TPROXYRuleSettings(lanInterfaces: ["eth*"]), "--lan-interface eth*"),
    ])
    func invalidSettingsAreNamed(_ settings: TPROXYRuleSettings, _ problem: String) {
        #expect(settings.problems.count == 1)
        #expect(settings.problems.first?.hasPrefix(problem) == true)
    }

    @Test func numbers() {
        #expect(TPROXYRuleSettings.parseNumber("0x2d4e") == 0x2d4e)
        #expect(TPROXYRuleSettings.parseNumber("0X2D4E") == 0x2d4e)
        #expect(TPROXYRuleSettings.parseNumber("11598") == 11598)
        #expect(TPROXYRuleSettings.parseNumber("0xffffffff") == .max)
        for bad in ["", "0x", "+1", "-1", "0x1g", "4294967296", "0x100000000", "1 "] {
            #expect(TPROXYRuleSettings.parseNumber(bad) == nil, "\(bad)")
        }
        #expect(TPROXYRuleSettings.hex(0x2d4e) == "0x2d4e")
    }
}
