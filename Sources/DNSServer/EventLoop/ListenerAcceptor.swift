import DNSForward
import RawUDP

#if canImport(Glibc)
import Glibc
#endif

/// Accepting on one listener, shared by the TCP front end and the stream
/// servers (metrics, control). Takes at most `limit` connections per wake-up
/// so one listener cannot monopolise the loop; drops a connection that would
/// eat into the descriptors kept for upstream sockets; and when descriptors
/// run out (EMFILE, ENFILE, or the reserve reached) stops watching the
/// listener for `pause` instead of spinning on a queue it cannot empty: the
/// listener stays readable, so a level-triggered poller would wake at once.
final class ListenerAcceptor {
    static let defaultPause = Duration.milliseconds(500)

    /// For log lines: "TCP", "metrics", "control".
    let name: String
    let pause: Duration
    private let loop: EventLoop
    private let reserve: DescriptorReserve
    private let warnings: RateLimitedLogger
    /// Set once the owner has registered the listener (it is the handler).
    var registration: LoopRegistration?
    /// When the listener is watched again; nil while it is.
    private(set) var pausedUntil: MonotonicInstant?
    /// Times accepting was paused for want of descriptors.
    private(set) var pauses = 0
    /// Connections accepted and closed at once to keep the reserve.
    private(set) var refusedForReserve = 0

    init(name: String, loop: EventLoop, reserve: DescriptorReserve, warnings: RateLimitedLogger,
         pause: Duration = defaultPause) {
        self.name = name
        self.loop = loop
        self.reserve = reserve
        self.warnings = warnings
        self.pause = pause
    }

    /// Accepts what is queued (`accept` returns nil once the queue is empty)
    /// and hands each connection the reserve allows to `take`.
    func acceptQueued<Connection>(limit: Int, now: MonotonicInstant,
                                  accept: () throws(SystemCallError) -> Connection?,
                                  descriptor: (Connection) -> Int32, take: (Connection) -> Void) {
        for _ in 0..<limit {
            let connection: Connection
            do {
                guard let accepted = try accept() else { return }
                connection = accepted
            } catch {
                if error.errno == EMFILE || error.errno == ENFILE {
                    pauseAccepting(now: now, reason: "\(error)")
                } else {
                    warnings.warning("accepting a \(name) connection failed", metadata: ["error": "\(error)"], now: now)
                }
                return
            }
            guard reserve.leavesRoom(afterAccepting: descriptor(connection)) else {
                // Dropping it closes it: the descriptor goes back at once.
                refusedForReserve += 1
                pauseAccepting(now: now, reason: "descriptor \(descriptor(connection)) is within the \(reserve.reserve) "
                    + "kept for upstream sockets (limit \(reserve.limit))")
                return
            }
            take(connection)
        }
    }

    /// Watches the listener again once its pause is over; the loop calls it every round.
    func resumeIfDue(now: MonotonicInstant) {
        guard let until = pausedUntil, now >= until, let registration else { return }
        do {
            try loop.modify(registration, interest: .readable)
            pausedUntil = nil
        } catch {
            pausedUntil = now + pause
        }
    }

    private func pauseAccepting(now: MonotonicInstant, reason: String) {
        pauses += 1
        pausedUntil = now + pause
        if let registration { try? loop.modify(registration, interest: []) }
        warnings.warning("out of descriptors: not accepting \(name) connections for a moment",
                         metadata: ["reason": "\(reason)", "pause": "\(pause)"],
                         now: now)
    }
}
