import DNSForward
import DNSServer
import Testing
@testable import tproxy_dns

@Suite("serve option values")
struct ServeOptionParsingTests {
    @Test func cacheFileOptions() throws {
        #expect(try ServeOptionParsing.cacheFile("/var/lib/tproxy-dns/cache") == "/var/lib/tproxy-dns/cache")
        #expect((try? ServeOptionParsing.cacheFile("")) == nil)
        #expect((try? ServeOptionParsing.cacheFile("/var/lib/tproxy-dns/")) == nil)
        #expect(try ServeOptionParsing.cacheSaveInterval(0) == 0)
        #expect(try ServeOptionParsing.cacheSaveInterval(3600) == 3600)
        #expect { try ServeOptionParsing.cacheSaveInterval(-1) } throws: { "\($0)".contains("--cache-save-interval -1:") }
    }

    @Test func replyMarkOption() throws {
        #expect(try ServeOptionParsing.replyMark("83") == 83)
        #expect(try ServeOptionParsing.replyMark("0x53") == 0x53)
        #expect(try ServeOptionParsing.replyMark("0XFFFFFFFF") == 0xFFFF_FFFF)
        for bad in ["0", "0x0", "0x1ffffffff", "-1", "fifty", "", "0x"] {
            #expect { try ServeOptionParsing.replyMark(bad) } throws: { "\($0)".contains("--reply-mark \(bad): use a mark from 1") }
        }
    }

    @Test func workerCountOption() throws {
        #expect(try ServeOptionParsing.workers("1") == 1)
        #expect(try ServeOptionParsing.workers("64") == 64)
        #expect((try? ServeOptionParsing.workers("0")) == nil)
        #expect((try? ServeOptionParsing.workers("65")) == nil)
        #expect((try? ServeOptionParsing.workers("two")) == nil)
        #expect((1...16).contains(try ServeOptionParsing.workers("auto")))
    }

    @Test("sizes: bytes, or K, M, G in powers of 1024, either case",
          arguments: [("0", 0), ("1048576", 1_048_576), ("512K", 524_288), ("512k", 524_288), ("32M", 33_554_432),
                      ("2m", 2_097_152), ("1G", 1_073_741_824)])
    func byteSize(text: String, expected: Int) throws {
        #expect(try ServeOptionParsing.byteSize(text, option: "--cache-memory") == expected)
    }

    @Test("bad sizes are errors that name the option",
          arguments: ["", "M", "32MB", "3.5M", "-1", "+5", " 32M", "32 M", "ten", "32T", "99999999999G", "１M"])
    func badByteSize(text: String) {
        #expect {
            try ServeOptionParsing.byteSize(text, option: "--cache-memory")
        } throws: { error in
            "\(error)".contains("--cache-memory \(text):")
        }
    }

    @Test func inFlightPerClientIsOneToTheTotal() throws {
        #expect(try ServeOptionParsing.inFlightPerClient(nil, total: 4096) == nil)
        #expect(try ServeOptionParsing.inFlightPerClient(1, total: 4096) == 1)
        #expect(try ServeOptionParsing.inFlightPerClient(4096, total: 4096) == 4096)
        for bad in [0, -1, 4097] {
            #expect {
                try ServeOptionParsing.inFlightPerClient(bad, total: 4096)
            } throws: { error in
                "\(error)".contains("--max-in-flight-per-client \(bad): use 1 to --max-in-flight (4096)")
            }
        }
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

@Suite("serve --upstream tls://, --upstream-ca and --upstream-pin")
struct UpstreamTLSOptionTests {
    static let pinA = "sha256/" + String(repeating: "A", count: 43) + "="
    static let pinB = "sha256/" + String(repeating: "B", count: 43) + "="

    @Test func globalPinsGoToEveryTLSUpstreamWithoutItsOwn() throws {
        let addresses = try ["198.51.100.53", "tls://198.51.100.54#dot.example.test", "tls://198.51.100.55:8853"]
            .map { text throws in try ServeOptionParsing.upstream(text) }
        let tls = try ServeOptionParsing.upstreamTLS(addresses, ca: "/etc/ca.pem",
                                                     pins: [Self.pinA, "198.51.100.55:8853=\(Self.pinB)"])
        #expect(tls.caFile == "/etc/ca.pem")
        #expect(tls.upstreams.keys.sorted() == [1, 2])
        #expect(tls.upstreams[1]?.serverName == "dot.example.test")
        #expect(tls.upstreams[1]?.pins == [SPKIPin(Self.pinA)!])
        #expect(tls.upstreams[2]?.pins == [SPKIPin(Self.pinB)!])
    }

    @Test func mistakesAreNamed() throws {
        let plain = [try ServeOptionParsing.upstream("198.51.100.53")]
        #expect { try ServeOptionParsing.upstreamTLS(plain, ca: "/etc/ca.pem", pins: []) } throws: {
            "\($0)".contains("need a tls:// upstream")
        }
        let tls = [try ServeOptionParsing.upstream("tls://198.51.100.53")]
        #expect { try ServeOptionParsing.upstreamTLS(tls, ca: nil, pins: ["sha256/short"]) } throws: {
            "\($0)".contains("--upstream-pin sha256/short")
        }
        #expect { try ServeOptionParsing.upstreamTLS(tls, ca: nil, pins: ["198.51.100.9=\(Self.pinA)"]) } throws: {
            "\($0)".contains("no tls:// upstream is 198.51.100.9:853")
        }
        #expect { try ServeOptionParsing.upstream("tls://198.51.100.53#") } throws: { "\($0)".contains("tls://ADDR") }
        #expect(try ServeOptionParsing.upstreamTLS(plain, ca: nil, pins: []).isEmpty)
    }
}
