import DNSForward
import Foundation
import Logging
import RawUDP

/// What an event loop is among the process's loops (`serve --workers`).
enum DaemonRole {
    /// The main thread: signals, TCP clients, control and metrics, and a share
    /// of the UDP queries. It starts and stops the workers and speaks for them.
    case primary
    /// A worker thread: its share of the UDP queries and their upstream
    /// exchanges, nothing else.
    case worker
}

/// One worker loop and the thread that runs it.
final class DaemonWorker: @unchecked Sendable {
    // @unchecked: `daemon` is built on the main thread, then touched only by the
    // worker's thread from `start` until `finished` is left; the primary reads it
    // again only after waiting on `finished`. Everything else reaches it through
    // its mailbox.
    let index: Int
    let daemon: Daemon

    init(index: Int, daemon: Daemon) {
        self.index = index
        self.daemon = daemon
    }

    /// A loop that fails stops the whole daemon: a silent gap in the
    /// SO_REUSEPORT group would drop every query hashed to it.
    func start(finished: DispatchGroup, primary: DaemonMailbox) {
        finished.enter()
        let name = "dns-worker-\(index)"
        let thread = Thread { [self] in
            try? CurrentThread.setName(name)
            do {
                try daemon.run()
            } catch {
                daemon.logger.critical("worker failed; stopping", metadata: ["worker": "\(index)", "error": "\(error)"])
                primary.requestStop()
            }
            finished.leave()
        }
        thread.start()
    }
}

extension Daemon {
    /// Opens `count` worker loops beside this primary (their sockets now,
    /// before privileges are dropped); their threads start with `run`.
    func addWorkers(_ count: Int, localZones: LocalZones) throws {
        guard count > 0 else { return }
        for index in 1...count {
            let daemon = try Daemon(configuration: configuration, localZones: localZones, logger: logger,
                                    role: .worker, sharedCache: forwarder.cache,
                                    sharedQueryLog: queryLog)
            workers.append(DaemonWorker(index: index, daemon: daemon))
        }
    }

    func startWorkers() {
        for worker in workers { worker.start(finished: workersFinished, primary: mailbox) }
    }

    /// Asks every worker to stop and waits until their threads are done.
    /// Idempotent.
    func stopWorkers() {
        guard !workers.isEmpty else { return }
        for worker in workers { worker.daemon.mailbox.requestStop() }
        workersFinished.wait()
    }

    /// The mailbox's eventfd fired: run what other loops posted.
    func handleMail() {
        let mail = mailbox.collect()
        for job in mail.jobs { job(self) }
        if mail.stop {
            if role == .primary { logger.error("stopping: a worker failed") }
            running = false
        }
    }

    /// Runs `job` on every worker's thread and waits until each has done it,
    /// 2 s at most in all (a worker that does not answer by then is left out).
    /// Posted to all before waiting on any, so the workers answer in parallel.
    func askWorkers<Answer>(_ job: @escaping (Daemon) -> Answer) -> [Answer] {
        let deadline = DispatchTime.now() + .seconds(2)
        let replies = workers.map { worker in
            let reply = WorkerReply<Answer>()
            worker.daemon.mailbox.post { daemon in reply.deliver(job(daemon)) }
            return reply
        }
        return replies.compactMap { $0.wait(until: deadline) }
    }
}

/// One answer from a worker's thread to the primary's.
private final class WorkerReply<Answer>: @unchecked Sendable {
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
