import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import RawUDP

/// One worker loop and the thread that runs it.
final class DaemonWorker: @unchecked Sendable {
    // @unchecked: `loop` is built on the main thread, then touched only by the
    // worker's thread from `start` until `finished` is left; the primary reads it
    // again only after waiting on `finished`. Everything else reaches it through
    // its mailbox.
    let index: Int
    let loop: ServerLoop

    init(index: Int, loop: ServerLoop) {
        self.index = index
        self.loop = loop
    }

    /// A loop that fails stops the whole daemon: a silent gap in the
    /// SO_REUSEPORT group would drop every query hashed to it.
    func start(finished: DispatchGroup, primary: LoopMailbox) {
        finished.enter()
        DetachedThread.start(name: "dns-worker-\(index)") { [self] in
            do {
                try loop.run()
            } catch {
                loop.logger.critical("worker failed; stopping", metadata: ["worker": "\(index)", "error": "\(error)"])
                primary.requestStop()
            }
            finished.leave()
        }
    }
}

/// One answer from a worker's thread to the primary's.
final class WorkerReply<Answer>: @unchecked Sendable {
    // @unchecked: `answer` is written before `done.signal()` and read after
    // `done.wait` returned, which orders the two.
    private var answer: Answer?
    private let done = DispatchSemaphore(value: 0)

    func deliver(_ answer: Answer) {
        self.answer = answer
        done.signal()
    }

    func wait(until deadline: DispatchTime) -> Answer? {
        done.wait(timeout: deadline) == .success ? answer : nil
    }
}
