import ArgumentParser
import Dispatch
import RawUDP

#if canImport(Glibc)
import Glibc
#endif

/// `tproxy-dns bench-limit`: the ceiling row of `scripts/bench.sh`. It does the
/// daemon's packet I/O and nothing else: a recvmmsg batch from the TPROXY
/// receiver, the QR bit set on each query, the query sent back raw from the
/// address the client targeted. No parsing, cache or upstream, so the gap
/// between this row and `serve` is the cost of the DNS work.
struct LimitResponderCommand: ParsableCommand {
    static let configuration = CommandConfiguration.benchmark(
        "bench-limit", abstract: "Benchmark ceiling: echo every intercepted query back with QR set, no DNS work.")

    @Option(help: "Port the TPROXY rule delivers to.")
    var port: UInt16 = 5353

    @Option(help: "Echo threads, each with its own SO_REUSEPORT receiver on the port (1: one socket, no extra thread).")
    var workers = 1

    private enum PollToken {
        static let signals: UInt64 = 0
        static let receiver: UInt64 = 1
        static let shutdown: UInt64 = 2
    }

    func validate() throws {
        guard (1...64).contains(workers) else { throw ValidationError("--workers must be 1...64, not \(workers)") }
    }

    func run() throws {
        // Signals first, as in `serve`: the mask must be in place before anything else,
        // and threads started later inherit it, so only the main thread sees them.
        let signals = try SignalDescriptor(signals: [SIGINT, SIGTERM])
        if workers > 1 {
            try runWorkers(signals: signals)
            return
        }
        let (sender, receiver) = try Self.needingRoot { (try RawReplySender(), try TransparentUDPReceiver(port: port)) }
        let poller = try EventPoller()
        try poller.register(signals.descriptor.rawValue, token: PollToken.signals)
        try poller.register(receiver.socket.rawValue, token: PollToken.receiver)
        let echo = EchoResponder(receiver: receiver, sender: sender)
        printError("tproxy-dns bench-limit: listening on port \(port)")
        try echo.run(poller: poller, signals: signals, signalToken: PollToken.signals)
        printError("tproxy-dns bench-limit: stopped; \(echo.summary)")
    }

    /// `make`'s sockets, or exit 77 with a hint when it lacks the privileges
    /// they need. One exhaustive catch on purpose: Swift 6.3.1 hangs in SIL
    /// passes on a `let` initialised in a `do` whose catches don't cover every error.
    private static func needingRoot<Sockets>(_ make: () throws -> Sockets) throws -> Sockets {
        do {
            return try make()
        } catch {
            if (error as? SystemCallError)?.isPermissionDenied == true {
                printError("tproxy-dns bench-limit: needs CAP_NET_ADMIN and CAP_NET_RAW: run as root (\(error))")
                throw ExitCode(77)
            }
            throw error
        }
    }

    /// `--workers N`: N echo threads on one SO_REUSEPORT group; this thread only
    /// waits for a signal. Stopping goes through one `WakeEvent` every worker
    /// polls rather than a flag plus a poll timeout: an idle worker sleeps in
    /// epoll_wait for good (no timer wakeups in the CPU figure) and still stops
    /// at once.
    private func runWorkers(signals: SignalDescriptor) throws {
        let shutdown = try WakeEvent()
        let group = try Self.needingRoot {
            try (0..<workers).map { index in try EchoWorker(index: index, port: port, shutdown: shutdown) }
        }
        let poller = try EventPoller()
        try poller.register(signals.descriptor.rawValue, token: PollToken.signals)
        try poller.register(shutdown.descriptor.rawValue, token: PollToken.shutdown)
        let finished = DispatchGroup()
        for worker in group { worker.start(shutdown: shutdown, finished: finished) }
        printError("tproxy-dns bench-limit: listening on port \(port) with \(workers) workers (SO_REUSEPORT)")
        let waited = Result { () throws(SystemCallError) in try waitForStop(poller: poller, signals: signals) }
        shutdown.signal()
        finished.wait()
        for worker in group {
            printError("tproxy-dns bench-limit: worker \(worker.index): \(worker.echo.summary)\(worker.failure.map { "; failed: \($0)" } ?? "")")
        }
        printError("tproxy-dns bench-limit: stopped; answered \(group.reduce(0) { $0 + $1.echo.answered }) by \(workers) workers")
        try waited.get()
        if let failure = group.lazy.compactMap(\.failure).first { throw failure }
    }

    /// Until SIGINT or SIGTERM, or a worker fired the shutdown event because its loop failed.
    private func waitForStop(poller: EventPoller, signals: SignalDescriptor) throws(SystemCallError) {
        var running = true
        while running {
            try poller.wait(timeoutMilliseconds: -1) { event in
                if event.token == PollToken.shutdown || EchoResponder.stopRequested(by: signals) { running = false }
            }
        }
    }
}
