import DNSForward
import Logging

/// Warnings that can repeat once per packet or per accept (a full socket
/// buffer, EMFILE on every wake-up) must not fill the disk. Each message gets
/// at most `burst` lines per `interval`; the lines held back are counted and
/// told in one line when the interval is over ("suppressed K similar lines").
/// The message text is the key, so callers keep what varies in the metadata.
/// One per event loop: not thread-safe.
final class RateLimitedLogger {
    struct Policy: Sendable {
        var burst = 5
        var interval = Duration.seconds(10)
    }

    private struct Window {
        let startedAt: MonotonicInstant
        let level: Logger.Level
        var logged = 0
        var suppressed = 0
    }

    let logger: Logger
    let policy: Policy
    private var windows: [String: Window] = [:]

    init(logger: Logger, policy: Policy = Policy()) {
        self.logger = logger
        self.policy = policy
    }

    func warning(_ message: String, metadata: Logger.Metadata = [:], now: MonotonicInstant = .now) {
        log(level: .warning, message, metadata: metadata, now: now)
    }

    func log(level: Logger.Level, _ message: String, metadata: Logger.Metadata = [:],
             now: MonotonicInstant = .now) {
        endWindowIfOver(message, now: now)
        var window = windows[message] ?? Window(startedAt: now, level: level)
        if window.logged < policy.burst {
            window.logged += 1
            logger.log(level: level, "\(message)", metadata: metadata)
        } else {
            window.suppressed += 1
        }
        windows[message] = window
    }

    /// Tells the counts of intervals that are over; the loop calls it about once a second.
    func flushSuppressed(now: MonotonicInstant = .now) {
        for message in Array(windows.keys) { endWindowIfOver(message, now: now) }
    }

    private func endWindowIfOver(_ message: String, now: MonotonicInstant) {
        guard let window = windows[message], window.startedAt.duration(to: now) >= policy.interval else { return }
        windows[message] = nil
        guard window.suppressed > 0 else { return }
        logger.log(level: window.level, "suppressed \(window.suppressed) similar lines",
                   metadata: ["message": "\(message)", "interval_seconds": "\(policy.interval.components.seconds)"])
    }
}
