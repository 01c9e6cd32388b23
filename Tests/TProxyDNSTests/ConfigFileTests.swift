import Testing
import Foundation
@testable import tproxy_dns

@Suite("Config file")
struct ConfigFileTests {
    private func parse(_ text: String) throws -> [ConfigFile.Entry] {
        try ConfigFile.parse(text, path: "test.toml").entries
    }

    private func error(_ text: String) -> ConfigFileError? {
        do {
            _ = try ConfigFile.parse(text, path: "test.toml")
            return nil
        } catch {
            return error
        }
    }

    @Test func valuesOfEveryKind() throws {
        let entries = try parse("""
        # comment
        port = 5353
        timeout = 1.5   # trailing comment
        upstream-policy = "ordered"
        user = 'nobody'
        no-control = true
        cache-size = 100_000
        upstream = [
            "198.51.100.53",  # first
            "[2001:db8::53]:53",
        ]
        query-log = "/var/log/a#b.log"
        """)
        #expect(entries.map(\.key) == ["port", "timeout", "upstream-policy", "user", "no-control", "cache-size", "upstream", "query-log"])
        #expect(entries[0] == ConfigFile.Entry(key: "port", value: .integer(5353), line: 2))
        #expect(entries[1].value == .decimal(1.5))
        #expect(entries[2].value == .string("ordered"))
        #expect(entries[3].value == .string("nobody"))
        #expect(entries[4].value == .boolean(true))
        #expect(entries[5].value == .integer(100_000))
        #expect(entries[6].value == .array([.string("198.51.100.53"), .string("[2001:db8::53]:53")]))
        #expect(entries[6].line == 8)
        #expect(entries[7].value == .string("/var/log/a#b.log"), "a # inside quotes is not a comment")
    }

    @Test("errors carry the line", arguments: [
        ("port = 1\nport = 2", 2, "already set on line 1"),
        ("[serve]\nport = 1", 1, "unknown table `[serve]`"),
        ("port 5353", 1, "expected `key = value`"),
        ("user = nobody", 1, "is not a value"),
        ("a = \"open", 1, "string not closed"),
        ("a = [1, 2", 1, "array not closed"),
        ("a = [[1]]", 1, "nested arrays"),
        ("\n\na = 1 2", 3, "unexpected `2`"),
        ("a = \"\\q\"", 1, "unknown escape"),
        ("b@d = 1", 1, "invalid key"),
        ("a =", 1, "missing value"),
    ])
    func errors(text: String, line: Int, message: String) throws {
        let failure = try #require(error(text))
        #expect(failure.line == line)
        #expect(failure.message.contains(message), "\(failure)")
        #expect(failure.description.hasPrefix("test.toml:\(line): "))
    }
}

@Suite("serve --config merging")
struct ServeConfigurationTests {
    /// Every `--long-name` in `serve --help` must be a config key and vice versa,
    /// so adding a flag without its key (or the reverse) fails here.
    @Test func everyServeOptionHasAConfigKey() {
        let help = ServeCommand.helpMessage(columns: 400)
        var names = Set<String>()
        // Option rows start (after indentation) with "--name" or "-x, --name".
        for line in help.split(separator: "\n") {
            var row = line.drop { $0 == " " }
            if row.hasPrefix("-"), !row.hasPrefix("--"), let comma = row.firstIndex(of: " ") { row = row[comma...].drop { $0 == " " } }
            guard row.hasPrefix("--") else { continue }
            let name = String(row.dropFirst(2).prefix { $0.isLetter || $0.isNumber || $0 == "-" })
            if !name.isEmpty { names.insert(name) }
        }
        names.remove("help")
        names.remove("config")
        #expect(names == Set(ServeConfiguration.keys.keys))
    }

    private func withFile(_ text: String, _ body: (String) throws -> Void) throws {
        let path = "/tmp/tproxy-dns-config-test-\(UInt32.random(in: 0...UInt32.max)).toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try body(path)
    }

    @Test func commandLineWinsAndListsReplace() throws {
        try withFile("""
        port = 5390
        upstream = ["198.51.100.53", "198.51.100.54"]
        cache-size = 1000
        no-control = true
        allow = ["192.0.2.0/24"]
        """) { path in
            let merged = try ServeConfiguration.merge(file: path, commandLine: ["--config", path, "--port", "5391", "--upstream", "203.0.113.1"])
            #expect(merged.port == 5391)
            #expect(merged.upstream == ["203.0.113.1"])
            #expect(merged.cacheSize == 1000)
            #expect(merged.noControl)
            #expect(merged.allow == ["192.0.2.0/24"])
            #expect(merged.config == nil)
        }
    }

    @Test func badValueIsBlamedOnItsLine() throws {
        try withFile("upstream = [\"198.51.100.53\"]\n\nmax-udp-size = 100\n") { path in
            #expect {
                try ServeConfiguration.merge(file: path, commandLine: [])
            } throws: { error in
                guard let error = error as? ConfigFileError else { return false }
                return error.line == 3 && error.message.hasPrefix("max-udp-size:")
            }
        }
    }

    @Test func unknownKeyIsAnError() throws {
        try withFile("upstream = [\"198.51.100.53\"]\ncahce-size = 1\n") { path in
            #expect {
                try ServeConfiguration.merge(file: path, commandLine: [])
            } throws: { error in
                (error as? ConfigFileError)?.line == 2
            }
        }
    }

    @Test func flagKeysTakeBooleansOnly() throws {
        try withFile("upstream = [\"198.51.100.53\"]\nno-control = \"yes\"\n") { path in
            #expect {
                try ServeConfiguration.merge(file: path, commandLine: [])
            } throws: { error in
                (error as? ConfigFileError)?.message.contains("true or false") == true
            }
        }
    }

    @Test func flagPairKeysSayBothTrueAndFalse() throws {
        try withFile("upstream = [\"198.51.100.53\"]\ncase-randomization = false\nrefused-rate = 20\nprefetch = false\n") { path in
            let merged = try ServeConfiguration.merge(file: path, commandLine: [])
            #expect(!merged.caseRandomization)
            #expect(!merged.prefetch)
            #expect(try !merged.daemonConfiguration().forwarder.prefetch)
            #expect(try ServeConfiguration.merge(file: path, commandLine: ["--prefetch"]).prefetch)
            #expect(merged.refusedRate == 20)
            let configuration = try merged.daemonConfiguration()
            #expect(!configuration.forwarder.caseRandomization)
            #expect(configuration.admission.refusedRate == 20)
            // The command line still wins.
            let overridden = try ServeConfiguration.merge(file: path, commandLine: ["--case-randomization"])
            #expect(overridden.caseRandomization)
        }
        try withFile("upstream = [\"198.51.100.53\"]\ncase-randomization = true\n") { path in
            let merged = try ServeConfiguration.merge(file: path, commandLine: [])
            #expect(merged.caseRandomization)
        }
        try withFile("upstream = [\"198.51.100.53\"]\nrefused-rate = 0\n") { path in
            #expect {
                try ServeConfiguration.merge(file: path, commandLine: [])
            } throws: { error in
                (error as? ConfigFileError)?.message.contains("--refused-rate must be positive") == true
            }
        }
    }

    @Test func shippedExampleLoads() throws {
        let path = #filePath.replacingOccurrences(of: "Tests/TProxyDNSTests/ConfigFileTests.swift", with: "contrib/tproxy-dns.example.toml")
        let merged = try ServeConfiguration.merge(file: path, commandLine: [])
        #expect(merged.upstream.count == 2)
        #expect(merged.allow == ["192.168.0.0/16", "fd00::/8"])
        #expect(merged.caseRandomization)
        #expect(merged.prefetch)
        #expect(merged.refusedRate == 100)
        #expect(merged.upstreamRetransmits == 2)
    }
}
