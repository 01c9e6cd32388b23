import DNSForward
import Logging
import Testing
@testable import DNSServer

/// A client of the fake daemon's forwarder, known by a number.
private struct NumberedClient: ForwarderClient {
    let quotaKey: Int
}

/// A daemon as the control handler sees it: one forwarder's cache, counted calls.
private final class FakeDaemon: ControlTarget {
    let forwarder = Forwarder<NumberedClient>(configuration: ForwarderConfiguration(upstreamNames: ["198.51.100.53:53"]),
                                   logger: Logger(label: "test"))
    var reloads = 0
    var reloadResult: Result<LocalZones, ZoneReloadError> = .failure(ZoneReloadError(message: "no --zones directory configured"))

    var cache: DNSCache { forwarder.cache }
    var saveResult: Result<(ticket: Int, path: String), CacheSaveError> = .failure(CacheSaveError(message: "no --cache-file configured"))

    func saveCache() -> Result<(ticket: Int, path: String), CacheSaveError> { saveResult }

    func stats(now: MonotonicInstant) -> DaemonStats {
        WorkerStatsTests.stats(queries: 3, fromCache: 1, upstreamUp: true, upstreamQueries: 2, rtt: 1, destinations: [],
                               codes: [:], refused: 0)
    }

    func upstreamLatencies() -> [(address: String, histogram: LatencyHistogram)] { [] }

    func reloadZones() -> Result<LocalZones, ZoneReloadError> {
        reloads += 1
        return reloadResult
    }

    func upstreamName(_ index: Int) -> String { "198.51.100.53:53" }

    /// Caches an A answer for each name through the forwarder's real miss path.
    func cacheAnswers(for names: [String], now: MonotonicInstant) {
        for (index, name) in names.enumerated() {
            let query = TestMessages.query(id: UInt16(index), name: name)
            for case .sendUpstream(let request) in query.withUnsafeBytes({ forwarder.handleQuery($0, from: NumberedClient(quotaKey: index), now: now) }) {
                let reply = TestMessages.reply(to: request.bytes)
                _ = reply.withUnsafeBytes { forwarder.handleUpstreamReply($0, token: request.token, now: now) }
            }
        }
    }
}

@Suite("Control requests")
struct ControlRequestHandlerTests {
    private let daemon = FakeDaemon()
    private let now = MonotonicInstant.now

    private func respond(_ line: String) -> ControlRequestHandler.Response {
        ControlRequestHandler(target: daemon, logger: Logger(label: "test")).respond(to: Array(line.utf8)[...], now: now)
    }

    private func replies(_ line: String) -> [ControlReply] {
        guard case .replies(let replies) = respond(line) else { return [] }
        return replies
    }

    @Test func statsAnswersWithTheDaemonsFigures() {
        let answer = replies(#"{"command":"stats"}"#)
        #expect(answer.count == 1)
        #expect(answer.first?.stats?.answers.queries == 3)
    }

    @Test func aBadRequestIsAnErrorLineNotACrash() {
        #expect(replies("not json").first?.error?.hasPrefix("bad request:") == true)
        #expect(replies(#"{"command":"reboot"}"#).first?.error?.hasPrefix("bad request:") == true)
        #expect(replies(#"{"command":"lookup"}"#).first?.error == "lookup needs a valid domain name")
        #expect(replies(#"{"command":"lookup","name":"a.test","type":"NOPE"}"#).first?.error == "unknown record type NOPE")
    }

    @Test func lookupShowsTheCachedEntryThenDone() {
        daemon.cacheAnswers(for: ["www.example.test", "mail.example.test"], now: now)
        let answer = replies(#"{"command":"lookup","name":"WWW.example.test","type":"A"}"#)
        #expect(answer.count == 2)
        #expect(answer[0].entry?.name == "www.example.test.")
        #expect(answer[0].entry?.type == "A")
        #expect(answer[0].entry?.answeredBy == "198.51.100.53:53")
        #expect(answer[0].entry?.remainingTTL == 3600)
        #expect(answer[1].done?.count == 1)
        #expect(replies(#"{"command":"lookup","name":"none.example.test"}"#).first?.done?.count == 0)
    }

    @Test func flushOneNameOrEverything() {
        daemon.cacheAnswers(for: ["a.example.test", "b.example.test", "c.other.test"], now: now)
        #expect(replies(#"{"command":"flush","name":"a.example.test"}"#).first?.done?.count == 1)
        #expect(daemon.cache.count == 2)
        #expect(replies(#"{"command":"flush","name":"example.test","subtree":true}"#).first?.done?.count == 1)
        #expect(replies(#"{"command":"flush"}"#).first?.done?.count == 1)
        #expect(daemon.cache.count == 0)
        #expect(replies(#"{"command":"flush","name":"bad..name"}"#).first?.error == "flush needs a valid domain name")
    }

    @Test func aDumpComesInChunksAndSkipsWhatWasFlushedMeanwhile() {
        let names = (0..<300).map { "h\($0).example.test" }
        daemon.cacheAnswers(for: names, now: now)
        let handler = ControlRequestHandler(target: daemon, logger: Logger(label: "test"))
        guard case .dump(var dump) = handler.respond(to: Array(#"{"command":"dump"}"#.utf8)[...], now: now) else {
            Issue.record("dump did not start a dump")
            return
        }
        let first = handler.continueDump(&dump, now: now)
        #expect(first.count == ControlRequestHandler.dumpChunk)
        #expect(first.allSatisfy { $0.entry != nil })
        #expect(!dump.isFinished)
        daemon.cache.removeAll()
        let rest = handler.continueDump(&dump, now: now)
        #expect(dump.isFinished)
        #expect(rest.count == 1, "flushed entries are skipped; only done remains")
        #expect(rest.last?.done?.count == ControlRequestHandler.dumpChunk)
    }

    @Test func zonesReloadReportsTheDaemonsResult() {
        #expect(replies(#"{"command":"zones-reload"}"#).first?.error == "no --zones directory configured")
        #expect(daemon.reloads == 1)
        daemon.reloadResult = .success(.empty)
        #expect(replies(#"{"command":"zones-reload"}"#).first?.done?.count == 0)
    }

    @Test func cacheSaveAnswersWithTheSavesNumber() {
        #expect(replies(#"{"command":"cache-save"}"#).first?.error == "no --cache-file configured")
        daemon.saveResult = .success((ticket: 4, path: "/var/lib/tproxy-dns/cache"))
        let done = replies(#"{"command":"cache-save"}"#).first?.done
        #expect(done?.count == 4 && done?.message == "saving to /var/lib/tproxy-dns/cache")
    }
}
