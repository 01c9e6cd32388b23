import Foundation
import Testing
@testable import tproxy_dns

@Suite("serve --config: policy tables")
struct ConfigFileTablesTests {
    private func withFile(_ text: String, _ body: (String) throws -> Void) throws {
        let path = "/tmp/tproxy-dns-tables-test-\(UInt32.random(in: 0...UInt32.max)).toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try body(path)
    }

    private let tables = """
    upstream = ["198.51.100.53"]

    [[forward-zone]]
    zone = "corp.example"
    upstreams = ["192.0.2.10", "192.0.2.11:5353"]

    [[route]]
    destination = "203.0.113.53/32"
    action = "passthrough"
    clients = ["192.168.1.0/24"]

    [[route]]
    destination = "198.51.100.0/24"
    action = "upstream"
    upstreams = ["192.0.2.20"]

    [block]
    lists = ["/etc/tproxy-dns/ads.hosts"]
    answer = "null"
    bypass-canaries = false
    """

    @Test func tablesBecomeTheFlagsTheyStandFor() throws {
        try withFile(tables) { path in
            let merged = try ServeConfiguration.merge(file: path, commandLine: [])
            #expect(merged.forwardZone == ["corp.example=192.0.2.10,192.0.2.11:5353"])
            #expect(merged.route == ["203.0.113.53/32=passthrough@192.168.1.0/24", "198.51.100.0/24=upstream:192.0.2.20"])
            #expect(merged.blockList == ["/etc/tproxy-dns/ads.hosts"])
            #expect(merged.blockAnswer == "null")
            #expect(!merged.bypassCanaries)
            let configuration = try merged.daemonConfiguration(loadingLists: false)
            #expect(configuration.upstreams.map(\.description) == ["198.51.100.53:53", "192.0.2.10:53", "192.0.2.11:5353", "192.0.2.20:53"])
            #expect(configuration.forwarder.policy?.upstreamSets.map(\.members) == [[0], [1, 2], [3]])
        }
    }

    @Test func commandLineRoutesReplaceTheFilesTables() throws {
        try withFile(tables) { path in
            let merged = try ServeConfiguration.merge(file: path, commandLine: ["--route", "192.0.2.0/24=refuse"])
            #expect(merged.route == ["192.0.2.0/24=refuse"])
            #expect(merged.forwardZone.count == 1)
        }
    }

    @Test("a bad table is blamed on its line", arguments: [
        ("upstream = [\"198.51.100.53\"]\n[[route]]\ndestination = \"300.1.1.1/8\"\naction = \"refuse\"\n", 2, "--route"),
        ("upstream = [\"198.51.100.53\"]\n\n[[route]]\naction = \"refuse\"\n", 3, "needs destination"),
        ("upstream = [\"198.51.100.53\"]\n[[forward-zone]]\nzone = \"corp.example\"\nupstreams = [\"nowhere\"]\n", 2, "--forward-zone"),
        ("upstream = [\"198.51.100.53\"]\n[block]\nanswer = \"maybe\"\n", 3, "--block-answer"),
        ("upstream = [\"198.51.100.53\"]\n[block]\nlist = [\"x\"]\n", 3, "unknown key `list` in [block]"),
        ("[route]\n", 1, "write [[route]]"),
        ("[block]\n[block]\n", 2, "appears twice"),
    ])
    func badTable(text: String, line: Int, message: String) throws {
        try withFile(text) { path in
            #expect {
                try ServeConfiguration.merge(file: path, commandLine: [])
            } throws: { error in
                guard let error = error as? ConfigFileError else { return false }
                return error.line == line && error.message.contains(message)
            }
        }
    }

    @Test func routeAndZoneSyntax() throws {
        let route = try ServeOptionParsing.route("2001:db8::/32=upstream:[2001:db8::53]:5353,192.0.2.1@192.168.0.0/16,fd00::/8")
        #expect(route.destination.description == "2001:db8:0:0:0:0:0:0/32")
        #expect(route.clients.count == 2)
        guard case .upstreams(let upstreams) = route.action else { Issue.record("not an upstream route"); return }
        #expect(upstreams.map(\.description) == ["[2001:db8::53]:5353", "192.0.2.1:53"])
        #expect(throws: (any Error).self) { try ServeOptionParsing.route("192.0.2.0/24=forward") }
        #expect(throws: (any Error).self) { try ServeOptionParsing.forwardZone("corp.example") }
        #expect(try ServeOptionParsing.forwardZone("in-addr.arpa=10.0.0.1").upstreams.count == 1)
    }

    @Test func tlsUpstreamsServeZonesAndRoutesToo() throws {
        let zone = try ServeOptionParsing.forwardZone("corp.test=tls://198.51.100.9#dns.corp.test,198.51.100.10")
        #expect(zone.upstreams.map(\.description) == ["tls://198.51.100.9:853#dns.corp.test", "198.51.100.10:53"])
        let command = try ServeCommand.parse(["--upstream", "192.0.2.1", "--forward-zone", "corp.test=tls://198.51.100.9#dns.corp.test",
                                              "--route", "203.0.113.0/24=upstream:tls://198.51.100.20"])
        let configuration = try command.daemonConfiguration(loadingLists: false)
        // The flat list the policy's sets index: default, the zone's, the route's.
        #expect(configuration.upstreams.map(\.description) == ["192.0.2.1:53", "198.51.100.9:853", "198.51.100.20:853"])
        #expect(configuration.upstreamTLS.upstreams[0] == nil)
        #expect(configuration.upstreamTLS.upstreams[1]?.serverName == "dns.corp.test")
        #expect(configuration.upstreamTLS.upstreams[2] != nil)
        #expect(configuration.forwarder.upstreamNames[1].hasPrefix("tls://"))
    }
}
