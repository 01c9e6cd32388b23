import RawUDP

#if canImport(Glibc)
import Glibc
#endif

/// SIGINT, SIGTERM and SIGHUP as events on the primary loop (a signalfd):
/// no async-signal-safety concerns, and a signal is handled between packets.
final class SignalWatcher: EventHandler {
    enum Signal {
        case reload
        case stop(name: String)
        case failed(any Error)
    }

    private let signals: SignalDescriptor
    private var received: ((Signal) -> Void)?

    /// Blocks the signals for this thread and those it starts.
    init() throws(SystemCallError) {
        signals = try SignalDescriptor(signals: [SIGINT, SIGTERM, SIGHUP])
    }

    func register(on loop: EventLoop, received: @escaping (Signal) -> Void) throws(SystemCallError) {
        self.received = received
        _ = try loop.register(signals.descriptor.rawValue, handler: self)
    }

    func handle(_ event: EventPoller.Event, on registration: LoopRegistration) {
        do {
            while let signal = try signals.next() {
                received?(signal == SIGHUP ? .reload : .stop(name: signal == SIGTERM ? "SIGTERM" : "SIGINT"))
            }
        } catch {
            received?(.failed(error))
        }
    }
}
