import DNSForward
import Dispatch
import Logging
import RawUDP

#if canImport(Glibc)
import Glibc
#endif

/// The running daemon: the primary loop (main thread) with signals, TCP
/// clients, control and metrics attached, and its worker loops. It answers
/// for all of them: stats add every loop up, reloads reach every loop, and
/// stopping stops them all.
public final class Daemon {
    let primary: ServerLoop
    private(set) var workers: [DaemonWorker] = []
    /// Left by each worker thread as it ends.
    private let workersFinished = DispatchGroup()
    private let signals: SignalWatcher
    private let queryLog: QueryLog?
    /// `--cache-file`: loaded before the first query, saved in the background.
    let cacheFile: CacheFileStore?
    /// Re-reads the settings (the --config file and the flags) on SIGHUP.
    private let reload: (() throws -> DaemonConfiguration)?
    let logger: Logger

    public init(configuration: DaemonConfiguration, localZones: LocalZones, logger: Logger,
                reload: (() throws -> DaemonConfiguration)? = nil) throws {
        self.logger = logger
        self.reload = reload
        // Signals first: the mask must be in place before anything else runs,
        // and before any worker thread starts (threads inherit it).
        signals = try SignalWatcher()
        queryLog = try configuration.queryLogPath.map { path in
            try QueryLog(path: path, owner: configuration.queryLogOwner ?? geteuid())
        }
        let cache = DNSCache(configuration: configuration.forwarder.cache, shards: configuration.workers > 1 ? 16 : 1)
        cacheFile = configuration.cacheFile.map { path in
            CacheFileStore(path: path, saveInterval: configuration.cacheSaveInterval, cache: cache, logger: logger)
        }
        cacheFile?.load()
        primary = try ServerLoop(configuration: configuration, localZones: localZones, cache: cache,
                                 queryLog: queryLog, role: .primary, logger: logger)
        let fileLimit = try OpenFileLimit.raiseToHardLimit()
        let reserve = DescriptorReserve(limit: Int(clamping: fileLimit))
        try attachPrimaryHandlers(configuration, reserve: reserve)
        logger.info("listening", metadata: [
            "port": "\(configuration.port)", "dual_stack": "\(primary.udp.receiver.isDualStack)",
            "receive_buffer": "\(primary.udp.receiver.receiveBufferBytes.map(String.init) ?? "unknown")",
            "upstreams": "\(configuration.forwarder.upstreamNames.joined(separator: " "))",
            "upstream_policy": "\(configuration.forwarder.upstreamPolicy)",
            "cache_size": "\(configuration.forwarder.cache.capacity)",
            "cache_memory": "\(configuration.forwarder.cache.memoryLimit)",
            "max_in_flight": "\(configuration.forwarder.maximumInFlight)",
            "max_in_flight_per_client": "\(configuration.forwarder.inFlightPerClientLimit)",
            "zones": "\(localZones.zoneNames.joined(separator: " "))",
            "open_file_limit": "\(fileLimit)", "descriptors_reserved": "\(reserve.reserve)",
            "control": "\(configuration.controlPath ?? "off")", "query_log": "\(configuration.queryLogPath ?? "off")",
            "metrics": "\(configuration.metricsEndpoint.map(\.description) ?? "off")",
            "allow": "\(configuration.admission.allowed.map(\.description).joined(separator: " "))",
            "workers": "\(configuration.workers)",
            "cache_file": "\(configuration.cacheFile ?? "off")",
        ])
    }

    /// The listeners keep `reserve` descriptors free for the upstream sockets of every loop.
    private func attachPrimaryHandlers(_ configuration: DaemonConfiguration, reserve: DescriptorReserve) throws {
        let loop = primary.eventLoop
        try signals.register(on: loop) { [unowned self] signal in received(signal) }
        primary.tcp = try TCPFrontEnd(
            listener: TCPListener(port: configuration.port, transparent: true), loop: loop, pipeline: primary.pipeline,
            admission: primary.admission,
            limits: .init(maximumConnections: configuration.tcpMaximumConnections,
                          maximumOutstanding: configuration.tcpMaximumOutstanding, idleTimeout: configuration.tcpIdleTimeout,
                          messageTimeout: configuration.tcpMessageTimeout, maximumPerClient: configuration.tcpMaximumPerClient),
            readBuffer: primary.readBuffer, reserve: reserve, warnings: primary.warnings)
        if let path = configuration.controlPath {
            let service = ControlService(handler: ControlRequestHandler(target: self, logger: logger),
                                         readBuffer: primary.readBuffer)
            let listener = try ListenerOpenError.naming("--control", path) { () throws(SystemCallError) in
                try UnixStreamListener(path: path)
            }
            primary.control = try StreamServer(listener: listener, service: service, loop: loop,
                                               maximumConnections: ControlService.maximumConnections, reserve: reserve,
                                               warnings: primary.warnings)
        }
        if let endpoint = configuration.metricsEndpoint {
            let listener = try ListenerOpenError.naming("--metrics", endpoint.description) { () throws(SystemCallError) in
                try TCPListener(endpoint: endpoint)
            }
            primary.metrics = try StreamServer(listener: listener,
                                               service: MetricsService(target: self, readBuffer: primary.readBuffer),
                                               loop: loop, maximumConnections: configuration.metricsMaximumConnections,
                                               reserve: reserve, warnings: primary.warnings)
        }
    }

    /// Opens `count` worker loops beside the primary (their sockets now,
    /// before privileges are dropped); their threads start with `run`.
    public func addWorkers(_ count: Int, localZones: LocalZones) throws {
        guard count > 0 else { return }
        for index in 1...count {
            let loop = try ServerLoop(configuration: primary.configuration, localZones: localZones,
                                      cache: primary.forwarder.cache, queryLog: queryLog, role: .worker, logger: logger)
            workers.append(DaemonWorker(index: index, loop: loop))
        }
    }

    /// Serves until SIGINT/SIGTERM (or a worker fails), then stops every loop.
    public func run() throws {
        for worker in workers { worker.start(finished: workersFinished, primary: primary.mailbox) }
        // Also when the loop throws: no worker thread outlives the primary's run.
        defer { stopWorkers() }
        cacheFile?.startPeriodicSaves()
        try primary.run()
        stopWorkers()
        // Every loop has stopped: the file holds the cache as the last answer left it.
        cacheFile?.saveAtExit()
        queryLog?.close()
        logStopped()
    }

    /// Asks every worker to stop and waits until their threads are done. Idempotent.
    private func stopWorkers() {
        guard !workers.isEmpty else { return }
        for worker in workers { worker.loop.mailbox.requestStop() }
        workersFinished.wait()
    }

    private func logStopped() {
        let loops = [primary] + workers.map(\.loop)
        let total = { (value: (ServerLoop) -> Int) in loops.reduce(0) { $0 + value($1) } }
        logger.info("stopped", metadata: [
            "queries": "\(total { $0.forwarder.counters.queries })",
            "cache_hits": "\(total { $0.forwarder.counters.answeredFromCache })",
            "upstream_answers": "\(total { $0.forwarder.counters.answeredFromUpstream })",
            "servfail": "\(total { $0.forwarder.counters.serverFailures })",
            "timeouts": "\(total { $0.forwarder.counters.timeouts })",
            "retransmits": "\(total { $0.forwarder.counters.retransmissions })",
            "rejected_replies": "\(total { $0.forwarder.counters.rejectedReplies })",
            "send_failures": "\(total { $0.pipeline.udpReplies.sendFailures })",
            "dropped_truncated": "\(total { $0.udp.drops.truncated })",
            "dropped_no_original_destination": "\(total { $0.udp.drops.missingOriginalDestination })",
        ])
    }

    private func received(_ signal: SignalWatcher.Signal) {
        switch signal {
        case .reload:
            reloadSettings()
        case .stop(let name):
            logger.info("stopping", metadata: ["signal": "\(name)"])
            primary.running = false
        case .failed(let error):
            logger.error("reading signals failed", metadata: ["error": "\(error)"])
            primary.running = false
        }
    }

    /// SIGHUP: re-read the settings and zones; the cache stays. Settings that
    /// only take effect at start are named in the log.
    private func reloadSettings() {
        if let reload {
            do {
                let new = try reload()
                let needsRestart = primary.apply(new)
                for worker in workers { worker.loop.mailbox.post { _ = $0.apply(new) } }
                logger.notice("configuration reloaded", metadata: [
                    "allow": "\(primary.admission.policy.allowed.map(\.description).joined(separator: " "))",
                    "needs_restart": "\(needsRestart.isEmpty ? "none" : needsRestart.joined(separator: " "))",
                ])
            } catch {
                logger.error("configuration reload failed; previous settings kept", metadata: ["error": "\(error)"])
                return
            }
        }
        if primary.configuration.zonesDirectory != nil { _ = reloadZones() }
    }

    /// Runs `job` on every worker's thread and waits until each has done it,
    /// 2 s at most in all (a worker that does not answer by then is left out).
    /// Posted to all before waiting on any, so the workers answer in parallel.
    func askWorkers<Answer>(_ job: @escaping (ServerLoop) -> Answer) -> [Answer] {
        let deadline = DispatchTime.now() + .seconds(2)
        let replies = workers.map { worker in
            let reply = WorkerReply<Answer>()
            worker.loop.mailbox.post { loop in reply.deliver(job(loop)) }
            return reply
        }
        return replies.compactMap { $0.wait(until: deadline) }
    }
}
