import DNSForward
import Logging
import Testing
@testable import DNSServer

@Suite("Rate-limited logger")
struct RateLimitedLoggerTests {
    private let start = MonotonicInstant.now

    @Test func aBurstIsLoggedThenTheRestCountedAndToldWhenTheIntervalEnds() {
        let log = CapturedLog()
        let warnings = RateLimitedLogger(logger: log.logger, policy: .init(burst: 3, interval: .seconds(10)))
        for second in 0..<1_000 {
            warnings.warning("sending reply failed", metadata: ["n": "\(second)"], now: start + .milliseconds(second))
        }
        #expect(log.messages == Array(repeating: "sending reply failed", count: 3))
        warnings.flushSuppressed(now: start + .seconds(9))
        #expect(log.lines.count == 3, "the interval is not over yet")
        warnings.flushSuppressed(now: start + .seconds(10))
        #expect(log.messages.last == "suppressed 997 similar lines")
        #expect(log.lines.last?.metadata["message"] == "sending reply failed")
        #expect(log.lines.last?.level == .warning)
    }

    @Test func eachMessageHasItsOwnAllowance() {
        let log = CapturedLog()
        let warnings = RateLimitedLogger(logger: log.logger, policy: .init(burst: 1, interval: .seconds(10)))
        warnings.warning("a", now: start)
        warnings.warning("a", now: start)
        warnings.warning("b", now: start)
        #expect(log.messages == ["a", "b"])
    }

    @Test func aNewIntervalLogsAgainAfterTellingTheCount() {
        let log = CapturedLog()
        let warnings = RateLimitedLogger(logger: log.logger, policy: .init(burst: 1, interval: .seconds(1)))
        warnings.warning("accepting failed", now: start)
        warnings.warning("accepting failed", now: start + .milliseconds(500))
        warnings.warning("accepting failed", now: start + .milliseconds(1_500))
        #expect(log.messages == ["accepting failed", "suppressed 1 similar lines", "accepting failed"])
    }

    @Test func nothingSuppressedMeansNoSummaryLine() {
        let log = CapturedLog()
        let warnings = RateLimitedLogger(logger: log.logger, policy: .init(burst: 5, interval: .seconds(1)))
        warnings.warning("once", now: start)
        warnings.flushSuppressed(now: start + .seconds(2))
        #expect(log.messages == ["once"])
    }

    @Test func aSustainedFloodStaysWithinBurstPerInterval() {
        let log = CapturedLog()
        let warnings = RateLimitedLogger(logger: log.logger, policy: .init(burst: 5, interval: .seconds(10)))
        // A minute of one warning per millisecond, with the loop's once-a-second flush.
        for millisecond in 0..<60_000 {
            let now = start + .milliseconds(millisecond)
            warnings.warning("receiving queries failed", now: now)
            if millisecond % 1_000 == 0 { warnings.flushSuppressed(now: now) }
        }
        // 6 intervals: 5 lines and one count each.
        #expect(log.lines.count <= 6 * 6)
    }
}
