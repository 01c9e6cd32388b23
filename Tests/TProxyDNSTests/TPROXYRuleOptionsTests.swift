import GatewaySetup
import RawUDP
import Testing
@testable import tproxy_dns

/// The rule flags `rules` and `serve --install-rules` share, turned into settings; the
/// settings themselves are tested in GatewaySetupTests.
@Suite("TPROXY rule options")
struct TPROXYRuleOptionsTests {
    @Test func optionsBecomeSettings() throws {
        let options = try TPROXYRuleOptions.parse(["--lan-interface", "br-lan", "--lan-prefix", "192.0.2.7/24",
                                                   "--exempt", "2001:db8::53", "--mark", "0x35", "--table", "77", "--priority", "500"])
        let settings = try options.settings(port: 5300)
        #expect(settings == TPROXYRuleSettings(port: 5300, lanInterfaces: ["br-lan"], lanPrefixes: [IPPrefix("192.0.2.0/24")!],
                                               exemptPrefixes: [IPPrefix("2001:db8::53/128")!], mark: 0x35,
                                               routingTable: 77, rulePriority: 500))
    }

    @Test func badOptionsAreRefusedWithTheFlagName() throws {
        #expect(throws: (any Error).self) { try TPROXYRuleOptions.parse(["--lan-prefix", "192.0.2.0/33"]) }
        let bad = try TPROXYRuleOptions.parse(["--exempt", "::1"])
        #expect(throws: (any Error).self) { try bad.settings(port: 5353) }
        #expect(throws: Never.self) { try bad.settings(port: 5353, requireLAN: false) }
        do {
            _ = try TPROXYRuleOptions.parse(["--mark", "banana"]).settings(port: 5353, requireLAN: false)
            Issue.record("--mark banana accepted")
        } catch {
            #expect(TPROXYRuleOptions.message(for: error).contains("--mark banana: not a number"))
        }
    }
}
