import Dispatch
import RawUDP

/// One `bench-limit --workers` thread: its own SO_REUSEPORT receiver, raw
/// sender, poller and echo loop, so workers share nothing on the packet path;
/// only the shutdown event is common.
final class EchoWorker: @unchecked Sendable {
    // @unchecked: everything here is built on the main thread, then used only by
    // this worker's thread from `start` until it leaves `finished`. The main
    // thread reads `echo` and `failure` only after `finished.wait()` returned,
    // which orders those reads after the thread's last write.
    let index: Int
    let echo: EchoResponder
    private(set) var failure: SystemCallError?
    private let poller: EventPoller

    private enum PollToken {
        static let shutdown: UInt64 = 0
        static let receiver: UInt64 = 1
    }

    init(index: Int, port: UInt16, shutdown: WakeEvent) throws(SystemCallError) {
        self.index = index
        let sender = try RawReplySender()
        let receiver = try TransparentUDPReceiver(port: port, reusePort: true)
        poller = try EventPoller()
        try poller.register(shutdown.descriptor.rawValue, token: PollToken.shutdown)
        try poller.register(receiver.socket.rawValue, token: PollToken.receiver)
        echo = EchoResponder(receiver: receiver, sender: sender)
    }

    /// Runs the echo loop on a new thread until `shutdown` fires. A worker whose
    /// loop fails fires it itself, so the others and the main thread stop too
    /// instead of serving with a silent gap in the group.
    func start(shutdown: WakeEvent, finished: DispatchGroup) {
        finished.enter()
        DetachedThread.start(name: "echo-worker-\(index)") { [self] in
            do throws(SystemCallError) {
                try echo.run(poller: poller, stopToken: PollToken.shutdown)
            } catch {
                failure = error
                shutdown.signal()
            }
            finished.leave()
        }
    }
}
