import DNSForward
import Testing
@testable import tproxy_dns

@Suite("serve option values")
struct ServeOptionParsingTests {
    @Test func workerCountOption() throws {
        #expect(try ServeOptionParsing.workers("1") == 1)
        #expect(try ServeOptionParsing.workers("64") == 64)
        #expect((try? ServeOptionParsing.workers("0")) == nil)
        #expect((try? ServeOptionParsing.workers("65")) == nil)
        #expect((try? ServeOptionParsing.workers("two")) == nil)
        #expect((1...16).contains(try ServeOptionParsing.workers("auto")))
    }

    @Test func identityAndVersionStrings() throws {
        let command = try ServeCommand.parse(["--upstream", "192.0.2.53", "--identity", "gw-1", "--version-string", "v9"])
        let identity = try command.daemonConfiguration().forwarder.serverIdentity
        #expect(identity == ServerIdentity(identity: "gw-1", version: "v9"))
        let unset = try ServeCommand.parse(["--upstream", "192.0.2.53"]).daemonConfiguration().forwarder.serverIdentity
        #expect(unset == ServerIdentity(), "unset: REFUSED")
        #expect((try? ServeOptionParsing.serverText("", option: "identity")) == nil)
        #expect((try? ServeOptionParsing.serverText(String(repeating: "x", count: 256), option: "identity")) == nil)
        #expect(try ServeOptionParsing.serverText(String(repeating: "x", count: 255), option: "identity").utf8.count == 255)
    }
}
