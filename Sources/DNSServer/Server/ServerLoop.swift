import DNSForward
import Logging
import RawUDP

/// One event loop and the handlers hung off it: on every loop the UDP front
/// end, the query pipeline and the upstream transport; on the primary also
/// TCP clients, control and metrics (attached by `Daemon`). With `serve
/// --workers N` there are N of these, one thread each, sharing one cache.
final class ServerLoop: EventHandler {
    enum Role {
        /// The main thread: signals, TCP clients, control and metrics, and a share of the UDP queries.
        case primary
        /// A worker thread: its share of the UDP queries and their upstream exchanges.
        case worker
    }

    let role: Role
    let eventLoop: EventLoop
    let pipeline: QueryPipeline
    /// Who may ask: shared by this loop's UDP and TCP front ends.
    let admission: AdmissionGate
    let udp: UDPFrontEnd
    let mailbox: LoopMailbox
    var tcp: TCPFrontEnd?
    var control: StreamServer<ControlService>?
    var metrics: StreamServer<MetricsService>?
    /// What `apply` (SIGHUP) last left in force.
    var configuration: DaemonConfiguration
    var running = true
    let startedAt = MonotonicInstant.now
    private var lastIdleSweep = MonotonicInstant.now
    /// Scratch for stream reads; every reader runs on this loop's thread.
    let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 8)
    let logger: Logger
    /// Warnings that can repeat per packet or per accept go through here.
    let warnings: RateLimitedLogger

    init(configuration: DaemonConfiguration, localZones: LocalZones, cache: DNSCache, queryLog: QueryLog?,
         role: Role, logger: Logger) throws {
        self.configuration = configuration
        self.role = role
        self.logger = logger
        warnings = RateLimitedLogger(logger: logger)
        eventLoop = try EventLoop()
        mailbox = try LoopMailbox()
        let forwarder = Forwarder<ClientContext>(configuration: configuration.forwarder, logger: logger, cache: cache)
        forwarder.localZones = localZones
        let transport = UpstreamTransport(
            upstreams: configuration.upstreams, socketsPerUpstream: configuration.upstreamSockets,
            queriesPerSocket: configuration.upstreamSocketQueries, loop: eventLoop, readBuffer: readBuffer, logger: logger)
        try transport.enableTLS(configuration.upstreamTLS, names: configuration.forwarder.upstreamNames)
        let replies = try UDPReplySender(path: configuration.replyVia, mark: configuration.replyMark,
                                         sourceSockets: configuration.replyVia == .socketPerSource ? SourceSocketTable() : nil,
                                         warnings: warnings)
        pipeline = QueryPipeline(forwarder: forwarder, transport: transport, udpReplies: replies,
                                 answers: AnswerRecorder(queryLog: queryLog, upstreamNames: configuration.forwarder.upstreamNames,
                                                         ruleNames: forwarder.policy.ruleNames, logger: logger))
        transport.receiver = pipeline
        // The loops of one daemon share the port through SO_REUSEPORT. The
        // primary's TCP listener binds the same port without it, so a second
        // daemon on that port still fails with EADDRINUSE.
        let receiver = try TransparentUDPReceiver(port: configuration.port, reusePort: configuration.workers > 1)
        admission = AdmissionGate(configuration.admission.sharing(among: configuration.workers))
        udp = try UDPFrontEnd(receiver: receiver, pipeline: pipeline, admission: admission, loop: eventLoop, warnings: warnings)
        _ = try eventLoop.register(mailbox.wake.descriptor.rawValue, handler: self)
    }

    deinit { readBuffer.deallocate() }

    var forwarder: Forwarder<ClientContext> { pipeline.forwarder }

    func run() throws {
        while running {
            try eventLoop.turn(timeoutMilliseconds: waitTimeout())
            let now = MonotonicInstant.now
            pipeline.endRound(now: now)
            forEachAcceptor { $0.resumeIfDue(now: now) }
            if lastIdleSweep.duration(to: now) >= .seconds(1) {
                lastIdleSweep = now
                pipeline.askerSampling.startSecond()
                tcp?.closeIdle(now: now)
                control?.closeIdle(now: now)
                metrics?.closeIdle(now: now)
                warnings.flushSuppressed(now: now)
            }
        }
        pipeline.udpReplies.flush()
        pipeline.transport.closeAll()
        tcp?.closeAll()
        control?.closeAll()
        metrics?.closeAll()
        eventLoop.removeAllHandlers()
    }

    /// The mailbox's eventfd fired: run what other loops posted.
    func handle(_ event: EventPoller.Event, on registration: LoopRegistration) {
        let mail = mailbox.collect()
        for job in mail.jobs { job(self) }
        if mail.stop {
            if role == .primary { logger.error("stopping: a worker failed") }
            running = false
        }
    }

    private var hasConnections: Bool {
        (tcp?.connectionCount ?? 0) > 0 || (control?.connectionCount ?? 0) > 0 || (metrics?.connectionCount ?? 0) > 0
            || (pipeline.transport.tls?.openConnectionCount ?? 0) > 0
    }

    /// The primary's listeners (none on a worker); no array built on the per-round path.
    private func forEachAcceptor(_ body: (ListenerAcceptor) -> Void) {
        if let tcp { body(tcp.acceptor) }
        if let control { body(control.acceptor) }
        if let metrics { body(metrics.acceptor) }
    }

    private func waitTimeout() -> Int32 {
        // A listener paused for want of descriptors is watched again within 0.1 s of its time.
        var paused = false
        forEachAcceptor { paused = paused || $0.pausedUntil != nil }
        var timeout: Int32 = paused ? 100 : hasConnections ? 1000 : -1
        if let deadline = forwarder.nextDeadline {
            let remaining = MonotonicInstant.now.duration(to: deadline)
            let (seconds, attoseconds) = remaining.components
            // Round up so we never wake just before the deadline and spin.
            let milliseconds = remaining <= .zero ? 0
                : Int32(clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
            timeout = timeout < 0 ? milliseconds : min(timeout, milliseconds)
        }
        return timeout
    }
}
