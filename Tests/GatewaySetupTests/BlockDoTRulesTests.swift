import RawUDP
import Testing
@testable import GatewaySetup

@Suite("rules --block-dot")
struct BlockDoTRulesTests {
    @Test func rejectsPort853FromTheLANInAForwardChain() {
        var settings = TPROXYRuleSettings(lanInterfaces: ["lan0"], lanPrefixes: [IPPrefix("192.0.2.0/24")!])
        settings.blockDoT = true
        let table = TPROXYRuleset(settings).nftTable
        let chain = table.split(separator: "chain block_dot {").last ?? ""
        let lines = chain.split(separator: "\n").map { String($0.drop { $0 == "\t" || $0 == " " }) }.filter { !$0.isEmpty }
        #expect(lines.prefix(6) == [
            "type filter hook forward priority filter; policy accept;",
            "iifname != { \"lan0\" } return",
            "ip saddr != { 192.0.2.0/24 } return",
            "meta nfproto ipv6 return",
            "tcp dport 853 counter reject with tcp reset",
            "udp dport 853 counter reject",
        ])
        #expect(table.hasSuffix("\t}\n}\n"))
    }

    @Test func offByDefault() {
        #expect(!TPROXYRuleset(TPROXYRuleSettings(lanInterfaces: ["lan0"])).nftTable.contains("853"))
    }
}
