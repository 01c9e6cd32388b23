import DNSForward
import RawUDP
import Testing
@testable import DNSServer

@Suite("Top names, clients and destinations")
struct TopCountsTests {
    /// A query's wire bytes: a 12-byte header, then the question.
    private func query(_ name: String) -> [UInt8] {
        var wire = [UInt8](repeating: 0, count: 12)
        for label in name.split(separator: ".") { wire += [UInt8(label.utf8.count)] + Array(label.utf8) }
        return wire + [0, 0, 1, 0, 1]
    }

    private func count(_ names: [String], capacity: Int = 4096) -> QuestionNameCounts {
        var counts = QuestionNameCounts(capacity: capacity)
        for name in names {
            query(name).withUnsafeBytes { counts.record(questionOf: $0) }
        }
        return counts
    }

    @Test func namesAreCountedCaseFoldedAndRankedBusiestFirst() {
        let counts = count(["www.Example.test", "a.test", "WWW.example.TEST", "www.example.test", "a.test", "b.test"])
        let rows = counts.ranked()
        #expect(rows.map(\.address) == ["www.example.test.", "a.test.", "b.test."])
        #expect(rows.map(\.queries) == [3, 2, 1])
    }

    @Test func aLimitKeepsTheBusiestAndOtherCountsPastCapacity() {
        let counts = count(["a.test", "a.test", "b.test", "c.test", "c.test", "c.test", "d.test"], capacity: 3)
        let rows = counts.ranked(limit: 2)
        #expect(rows.map(\.address) == ["c.test.", "a.test.", "other"])
        #expect(rows.last?.queries == 1, "d.test came after capacity was reached")
    }

    @Test func malformedNamesAreNotCounted() {
        var counts = QuestionNameCounts()
        let truncated: [UInt8] = Array(repeating: 0, count: 12) + [5, 0x61, 0x62]
        let pointer: [UInt8] = Array(repeating: 0, count: 12) + [0xC0, 0x0C]
        for wire in [truncated, pointer, Array(repeating: 0, count: 5)] {
            wire.withUnsafeBytes { counts.record(questionOf: $0) }
        }
        #expect(counts.counts.counts.isEmpty)
        #expect(counts.names.isEmpty)
    }

    @Test func theNameKeptIsTheFirstSpellingCaseFolded() {
        let counts = count(["MiXeD.Test", "mixed.test"])
        #expect(counts.ranked().first?.address == "mixed.test.")
        #expect(counts.ranked().first?.queries == 2)
    }

    @Test func workersTopListsMergeBySumAndStayWithinTheLimit() {
        var merged = WorkerStatsTests.stats(queries: 1, fromCache: 0, upstreamUp: true, upstreamQueries: 0, rtt: nil,
                                            destinations: [], codes: [:], refused: 0)
        merged.topNames = [.init(address: "a.test.", queries: 5), .init(address: "b.test.", queries: 1)]
        var worker = merged
        worker.topNames = [.init(address: "b.test.", queries: 7)]
        worker.topClients = (0..<30).map { .init(address: "192.0.2.\($0)", queries: $0) }
        merged.add(worker: worker)
        #expect(merged.topNames?.map(\.address) == ["b.test.", "a.test."])
        #expect(merged.topNames?.map(\.queries) == [8, 5])
        #expect(merged.topClients?.count == DaemonStats.topLimit)
        #expect(merged.topClients?.first?.address == "192.0.2.29")
    }
}
