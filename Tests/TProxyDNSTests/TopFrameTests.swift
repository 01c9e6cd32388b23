@testable import DNSServer
import Foundation
import Testing
@testable import tproxy_dns

@Suite("tproxy-dns top frames")
struct TopFrameTests {
    /// `StatsTableTests.stats` with the counters `top` reads moved on by `step` per second.
    private func stats(after seconds: Int) -> DaemonStats {
        var stats = StatsTableTests.stats
        stats.uptimeSeconds = 3723 + seconds
        stats.answers.queries += 100 * seconds
        stats.answers.fromCache += 80 * seconds
        stats.answers.fromUpstreams += 20 * seconds
        stats.cache.hits += 80 * seconds
        stats.cache.misses += 20 * seconds
        stats.responseCodes["NOERROR", default: 0] += 90 * seconds
        stats.responseCodes["NXDOMAIN", default: 0] += 10 * seconds
        stats.topNames = [.init(address: "www.example.test.", queries: 1000 + 60 * seconds),
                          .init(address: "a-very-long-name-that-does-not-fit-its-column.example.test.", queries: 5 + 40 * seconds),
                          .init(address: "idle.test.", queries: 50)]
        stats.topClients = [.init(address: "192.0.2.10", queries: 10 + 100 * seconds)]
        return stats
    }

    private var lines: [String] { TopFrame(previous: stats(after: 0), current: stats(after: 2), seconds: 2).lines() }

    @Test func ratesAreTheIntervalsNotTheTotals() {
        let text = lines.joined(separator: "\n")
        #expect(text.contains("queries/s    100.0") || text.contains("queries/s      100"), "\(text)")
        #expect(text.contains("hit ratio  80.0%"))
        #expect(text.contains("answers/s cache 80.0  upstream 20.0  zone 0.0"))
        #expect(text.contains("rcodes/s  NOERROR 90.0  NXDOMAIN 10.0"))
        #expect(text.contains("up 1h02m05s"))
    }

    @Test func topListsShowOnlyWhatMovedBusiestFirst() throws {
        let header = try #require(lines.firstIndex { $0.hasPrefix("top names") })
        #expect(lines[header + 1].hasPrefix("www.example.test."))
        #expect(lines[header + 1].contains("60.0"))
        #expect(lines[header + 2].hasPrefix("a-very-long-name-~ "), "cut to its column")
        #expect(!lines.contains { $0.contains("idle.test.") }, "no queries in the interval")
        #expect(lines[header + 1].contains("192.0.2.10"))
    }

    @Test func fitsAnEightyByTwentyFourTerminal() {
        #expect(lines.count <= TopFrame.height)
        for line in lines { #expect(line.count <= TopFrame.width, "\(line.count): \(line)") }
    }
}
