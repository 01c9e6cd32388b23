import DNSForward
import Dispatch
import Logging
import RawUDP

#if canImport(Glibc)
import Glibc
#endif

/// One event loop: one thread, one epoll set holding the signal descriptor,
/// the TPROXY UDP receiver and TCP listener, every client TCP connection, the
/// pooled upstream UDP sockets and one TCP connection per upstream TCP attempt.
/// With `serve --workers N` the primary loop (main thread) has N - 1 worker
/// loops beside it (Daemon+Workers.swift): each its own UDP receiver in one
/// SO_REUSEPORT group, raw sender, forwarder and upstream sockets, all sharing
/// one sharded cache; signals, TCP clients, control and metrics stay primary.
final class Daemon {
    /// Poll tokens: small fixed values, then three tagged ranges, each holding
    /// two kinds of descriptor told apart by `secondKind`.
    enum PollToken {
        static let signals: UInt64 = 0
        static let udpReceiver: UInt64 = 1
        static let tcpListener: UInt64 = 2
        static let controlListener: UInt64 = 3
        static let metricsListener: UInt64 = 4
        static let mailbox: UInt64 = 5
        static let upstreamTag: UInt64 = 1 << 62
        static let connectionTag: UInt64 = 2 << 62
        static let controlTag: UInt64 = 3 << 62
        static let tagMask: UInt64 = 3 << 62
        /// Within a range, the second kind: upstream — a pooled UDP socket's
        /// number, not a TCP attempt's token; connection — a socket-per-source
        /// socket, not a TCP client; control — a metrics connection.
        static let secondKind: UInt64 = 1 << 61
    }

    private(set) var configuration: DaemonConfiguration
    let role: DaemonRole
    let receiver: TransparentUDPReceiver
    /// Primary only, like `signals`: TCP clients are served by the main loop.
    private let listener: TCPListener?
    let controlListener: UnixStreamListener?
    let metricsListener: TCPListener?
    var metricsConnections: [UInt64: MetricsConnection] = [:]
    var admission: ClientAdmission
    /// UDP replies queued on the raw sender since the last flush, by ordinal.
    private var pendingReplies: [QueuedReply] = []
    /// UDP queries to upstreams assigned to pooled sockets since the last flush.
    private var pendingUpstreamQueries: [PendingUpstreamQuery] = []
    var sourceSockets: [TransparentUDPReceiver] = []
    var sourceSocketIndex: [IPEndpoint: Int] = [:]
    var responseCodes = ResponseCodeCounts()
    /// Re-reads the settings (the --config file and the flags) on SIGHUP.
    private let reload: (() throws -> DaemonConfiguration)?
    private let sender: RawReplySender
    private let signals: SignalDescriptor?
    /// Jobs and the stop request from the other loops.
    let mailbox: DaemonMailbox
    /// The primary's worker loops; empty on workers and with one loop.
    var workers: [DaemonWorker] = []
    /// Left by each worker thread as it ends.
    let workersFinished = DispatchGroup()
    let poller: EventPoller
    let forwarder: Forwarder<ClientContext>
    let queryLog: QueryLog?
    private var exchanges: [UInt64: UpstreamExchange] = [:]
    private var upstreamSockets: UpstreamSocketPool!
    var connections: [UInt64: ClientConnection] = [:]
    var controlConnections: [UInt64: ControlConnection] = [:]
    var destinations = DestinationCounts()
    var nextConnectionID: UInt64 = 1
    private var lastIdleSweep = ContinuousClock.now
    let startedAt = ContinuousClock.now
    let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 8)
    /// Where replies on the pooled upstream sockets are read, one socket at a time.
    private let upstreamReplies = DatagramBatch()
    /// Where the cache-hit fast path writes a reply (at most --max-udp-size, 4096).
    private let replyBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
    /// Whether each answer is logged (query log, debug lines): fixed at start.
    private let logsEveryAnswer: Bool
    let logger: Logger
    var running = true
    private(set) var sendFailures = 0
    private(set) var rejectedConnections = 0

    /// A primary (`role` .primary) opens everything; a worker gets the
    /// primary's cache and query log and opens only its UDP side.
    init(configuration: DaemonConfiguration, localZones: LocalZones, logger: Logger,
         reload: (() throws -> DaemonConfiguration)? = nil, role: DaemonRole = .primary,
         sharedCache: DNSCache? = nil, sharedQueryLog: QueryLog? = nil) throws {
        self.configuration = configuration
        self.reload = reload
        self.role = role
        admission = configuration.admission
        let isPrimary = role == .primary
        // Signals first: the mask must be in place before anything else runs,
        // and before any worker thread starts (threads inherit it).
        signals = isPrimary ? try SignalDescriptor(signals: [SIGINT, SIGTERM, SIGHUP]) : nil
        sender = try RawReplySender()
        // The loops of one daemon share the port through SO_REUSEPORT. The
        // primary's TCP listener binds the same port without it, so a second
        // daemon on that port still fails with EADDRINUSE.
        receiver = try TransparentUDPReceiver(port: configuration.port, reusePort: configuration.workers > 1)
        listener = isPrimary ? try TCPListener(port: configuration.port, transparent: true) : nil
        controlListener = isPrimary ? try configuration.controlPath.map { path in try UnixStreamListener(path: path) } : nil
        metricsListener = isPrimary ? try configuration.metricsEndpoint.map { endpoint in try TCPListener(endpoint: endpoint) } : nil
        queryLog = isPrimary ? try configuration.queryLogPath.map { path in try QueryLog(path: path) } : sharedQueryLog
        logsEveryAnswer = configuration.queryLogPath != nil || logger.logLevel <= .debug
        mailbox = try DaemonMailbox()
        poller = try EventPoller()
        if let signals { try poller.register(signals.descriptor.rawValue, token: PollToken.signals) }
        try poller.register(mailbox.wake.descriptor.rawValue, token: PollToken.mailbox)
        try poller.register(receiver.socket.rawValue, token: PollToken.udpReceiver)
        if let listener { try poller.register(listener.socket.rawValue, token: PollToken.tcpListener) }
        if let controlListener {
            try poller.register(controlListener.socket.rawValue, token: PollToken.controlListener)
        }
        if let metricsListener {
            try poller.register(metricsListener.socket.rawValue, token: PollToken.metricsListener)
        }
        let fileLimit = try OpenFileLimit.raiseToHardLimit()
        self.logger = logger
        forwarder = Forwarder(configuration: configuration.forwarder, logger: logger,
                              cache: sharedCache ?? DNSCache(configuration: configuration.forwarder.cache,
                                                             shards: configuration.workers > 1 ? 16 : 1))
        forwarder.localZones = localZones
        let poller = poller
        upstreamSockets = UpstreamSocketPool(
            upstreams: configuration.upstreams.count, socketsPerUpstream: configuration.upstreamSockets,
            queriesPerSocket: configuration.upstreamSocketQueries,
            didOpen: { member in
                try poller.register(member.socket.socket.rawValue,
                                    token: PollToken.upstreamTag | PollToken.secondKind | UInt64(member.number))
            },
            willClose: { member in poller.unregister(member.socket.socket.rawValue) })
        guard isPrimary else { return }
        logger.info("listening", metadata: [
            "port": "\(configuration.port)", "dual_stack": "\(receiver.isDualStack)",
            "upstreams": "\(configuration.upstreams.map(\.description).joined(separator: " "))",
            "upstream_policy": "\(configuration.forwarder.upstreamPolicy)",
            "cache_size": "\(configuration.forwarder.cache.capacity)",
            "zones": "\(localZones.zoneNames.joined(separator: " "))",
            "open_file_limit": "\(fileLimit)",
            "control": "\(configuration.controlPath ?? "off")", "query_log": "\(configuration.queryLogPath ?? "off")",
            "metrics": "\(configuration.metricsEndpoint.map(\.description) ?? "off")",
            "allow": "\(configuration.admission.allowed.map(\.description).joined(separator: " "))",
            "workers": "\(configuration.workers)",
        ])
    }

    deinit {
        readBuffer.deallocate()
        replyBuffer.deallocate()
    }

    func run() throws {
        startWorkers()
        // Also when the loop throws: no worker thread outlives the primary's run.
        defer { stopWorkers() }
        while running {
            try poller.wait(timeoutMilliseconds: waitTimeout()) { event in
                let id = event.token & ~PollToken.tagMask
                let isSecondKind = id & PollToken.secondKind != 0
                switch event.token & PollToken.tagMask {
                case PollToken.upstreamTag:
                    if isSecondKind { drainUpstreamSocket(Int(id & ~PollToken.secondKind)) } else { handleUpstreamTCP(event, token: id) }
                case PollToken.connectionTag:
                    if isSecondKind { drainSourceSocket(Int(id & ~PollToken.secondKind)) } else { handleConnection(event, id: id) }
                case PollToken.controlTag:
                    if isSecondKind { handleMetrics(event, id: id) } else { handleControl(event, id: id) }
                default:
                    switch event.token {
                    case PollToken.signals: handleSignals()
                    case PollToken.mailbox: handleMail()
                    case PollToken.udpReceiver: drain(receiver)
                    case PollToken.tcpListener: acceptConnections()
                    case PollToken.controlListener: acceptControlConnections()
                    case PollToken.metricsListener: acceptMetricsConnections()
                    default: break
                    }
                }
            }
            let now = ContinuousClock.now
            perform(forwarder.expire(now: now))
            flushUpstreamQueries()
            flushReplies()
            if lastIdleSweep.duration(to: now) >= .seconds(1) {
                lastIdleSweep = now
                closeIdleConnections(now: now)
            }
        }
        flushReplies()
        for token in Array(exchanges.keys) { closeUpstream(token: token) }
        upstreamSockets.closeAll()
        for id in Array(connections.keys) { closeConnection(id) }
        for id in Array(controlConnections.keys) { closeControl(id) }
        for id in Array(metricsConnections.keys) { closeMetrics(id) }
        // The query log and the totals belong to the primary, once its workers are done.
        guard role == .primary else { return }
        stopWorkers()
        queryLog?.close()
        let loops = [self] + workers.map(\.daemon)
        let total = { (value: (Daemon) -> Int) in loops.reduce(0) { $0 + value($1) } }
        logger.info("stopped", metadata: [
            "queries": "\(total { $0.forwarder.counters.queries })",
            "cache_hits": "\(total { $0.forwarder.counters.answeredFromCache })",
            "upstream_answers": "\(total { $0.forwarder.counters.answeredFromUpstream })",
            "servfail": "\(total { $0.forwarder.counters.serverFailures })",
            "timeouts": "\(total { $0.forwarder.counters.timeouts })",
            "rejected_replies": "\(total { $0.forwarder.counters.rejectedReplies })",
            "send_failures": "\(total(\.sendFailures))", "dropped_truncated": "\(total { $0.receiver.drops.truncated })",
            "dropped_no_original_destination": "\(total { $0.receiver.drops.missingOriginalDestination })",
        ])
    }

    private func waitTimeout() -> Int32 {
        var timeout: Int32 = connections.isEmpty && controlConnections.isEmpty && metricsConnections.isEmpty ? -1 : 1000
        if let deadline = forwarder.nextDeadline {
            let remaining = ContinuousClock.now.duration(to: deadline)
            let (seconds, attoseconds) = remaining.components
            // Round up so we never wake just before the deadline and spin.
            let milliseconds = remaining <= .zero ? 0
                : Int32(clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
            timeout = timeout < 0 ? milliseconds : min(timeout, milliseconds)
        }
        return timeout
    }

    private func handleSignals() {
        guard let signals else { return }
        do {
            while let signal = try signals.next() {
                if signal == SIGHUP {
                    reloadSettings()
                    continue
                }
                logger.info("stopping", metadata: ["signal": "\(signal == SIGTERM ? "SIGTERM" : "SIGINT")"])
                running = false
            }
        } catch {
            logger.error("reading signals failed", metadata: ["error": "\(error)"])
            running = false
        }
    }

    // MARK: UDP clients

    func drain(_ receiver: TransparentUDPReceiver) {
        // Bounded so a flood on the receiver cannot starve upstream replies.
        for _ in 0..<8 {
            do {
                let count = try receiver.receiveBatch { datagram in
                    let now = ContinuousClock.now
                    switch admission.admit(datagram.client.address, now: now) {
                    case .admit:
                        destinations.record(datagram.originalDestination.address)
                        if let hit = forwarder.answerFromCache(datagram.payload, now: now, into: replyBuffer) {
                            responseCodes.record(hit.code)
                            sendUDPReply(UnsafeRawBufferPointer(rebasing: replyBuffer[..<hit.length]),
                                         from: datagram.originalDestination, to: datagram.client)
                            if logsEveryAnswer {
                                let question = ClientQueryParser.question(of: datagram.payload)
                                logAnswer(.udp(client: datagram.client, originalDestination: datagram.originalDestination),
                                          ReplyDetails(code: hit.code, source: .cache, question: question, receivedAt: now),
                                          byteCount: hit.length)
                            }
                            return
                        }
                        let context = ClientContext.udp(client: datagram.client, originalDestination: datagram.originalDestination)
                        perform(forwarder.handleQuery(datagram.payload, from: context, transport: .udp, now: now))
                    case .refuse:
                        if let refusal = ResponseBuilder.refusal(forQuery: datagram.payload) {
                            sendUDPReply(refusal, from: datagram.originalDestination, to: datagram.client)
                            responseCodes.record(.refused)
                        }
                    case .drop:
                        break
                    }
                }
                // This batch's misses leave now, not after the rest of the round.
                flushUpstreamQueries()
                // A short batch means the queue is empty: don't spend a syscall to hear EAGAIN.
                if count < receiver.batchSize { return }
            } catch {
                logger.warning("receiving queries failed", metadata: ["error": "\(error)"])
                return
            }
        }
    }

    // MARK: TCP clients

    private func acceptConnections() {
        guard let listener else { return }
        for _ in 0..<64 {
            let stream: StreamSocket
            do {
                guard let accepted = try listener.accept() else { return }
                stream = accepted
            } catch {
                logger.warning("accepting a TCP connection failed", metadata: ["error": "\(error)"])
                return
            }
            // Outside --allow: no TCP service at all (closing is the TCP form of refusing).
            guard admission.isAllowed(stream.remote.address) else {
                _ = admission.admit(stream.remote.address, now: .now)
                continue
            }
            guard connections.count < configuration.tcpMaximumConnections else {
                // Dropping the socket closes it: better one refused client than none served.
                rejectedConnections += 1
                continue
            }
            let id = nextConnectionID
            nextConnectionID += 1
            let connection = ClientConnection(id: id, stream: stream, now: .now)
            do {
                try poller.register(stream.socket.rawValue, token: PollToken.connectionTag | id)
            } catch {
                logger.warning("watching a TCP connection failed", metadata: ["error": "\(error)"])
                continue
            }
            connections[id] = connection
        }
    }

    private func handleConnection(_ event: EventPoller.Event, id: UInt64) {
        guard let connection = connections[id] else { return }
        let now = ContinuousClock.now
        if event.isWritable {
            do {
                try connection.flush()
            } catch {
                closeConnection(id)
                return
            }
        }
        if event.isReadable || event.isClosedOrFailed, !connection.readClosed {
            readQueries(from: connection, now: now)
        }
        guard connections[id] != nil else { return }
        updateInterest(connection)
    }

    private func readQueries(from connection: ClientConnection, now: ContinuousClock.Instant) {
        let read: Int
        do {
            guard let count = try connection.stream.read(into: readBuffer) else { return }
            read = count
        } catch {
            closeConnection(connection.id)
            return
        }
        if read == 0 {
            connection.readClosed = true
            if connection.outstanding == 0, connection.pendingOutput == 0 { closeConnection(connection.id) }
            return
        }
        connection.lastActivity = now
        connection.framer.append(UnsafeRawBufferPointer(rebasing: readBuffer[..<read]))
        submitBufferedQueries(connection, now: now)
    }

    /// Hands complete queries to the forwarder while under the pipelining limit.
    private func submitBufferedQueries(_ connection: ClientConnection, now: ContinuousClock.Instant) {
        let context = ClientContext.tcp(connection: connection.id, client: connection.stream.remote,
                                        originalDestination: connection.originalDestination)
        while connection.outstanding < configuration.tcpMaximumOutstanding, let message = connection.framer.nextMessage() {
            // Every query counted here gets exactly one reply; anything the
            // forwarder would drop unanswered means this is no DNS client.
            guard let header = message.withUnsafeBytes({ DNSHeader(wire: $0) }), !header.isResponse else {
                closeConnection(connection.id)
                return
            }
            if admission.rateLimiter != nil, admission.admit(connection.stream.remote.address, now: now) != .admit {
                continue
            }
            connection.outstanding += 1
            destinations.record(connection.originalDestination.address)
            perform(message.withUnsafeBytes { forwarder.handleQuery($0, from: context, transport: .tcp, now: now) })
            guard connections[connection.id] != nil else { return }
        }
    }

    /// Read while under the pipelining limit, write while output is queued.
    private func updateInterest(_ connection: ClientConnection) {
        var interest: EventPoller.Interest = []
        if !connection.readClosed, connection.outstanding < configuration.tcpMaximumOutstanding { interest.insert(.readable) }
        if connection.pendingOutput > 0 { interest.insert(.writable) }
        do {
            try poller.modify(connection.stream.socket.rawValue, token: PollToken.connectionTag | connection.id, interest: interest)
        } catch {
            closeConnection(connection.id)
        }
    }

    private func sendTCPReply(_ bytes: [UInt8], connection id: UInt64) {
        guard let connection = connections[id], let framed = DNSStreamFramer.frame(bytes) else { return }
        connection.outstanding = max(0, connection.outstanding - 1)
        connection.output += framed
        connection.lastActivity = .now
        do {
            try connection.flush()
        } catch {
            closeConnection(id)
            return
        }
        // A client that stops reading must not make us buffer without bound.
        if connection.pendingOutput > 1 << 20 {
            logger.debug("closing slow TCP client", metadata: ["client": "\(connection.stream.remote)"])
            closeConnection(id)
            return
        }
        if connection.readClosed, connection.outstanding == 0, connection.pendingOutput == 0 {
            closeConnection(id)
            return
        }
        updateInterest(connection)
        // Replies may have freed pipelining room for queries already buffered.
        if connection.framer.pendingByteCount > 0, connection.outstanding < configuration.tcpMaximumOutstanding {
            submitBufferedQueries(connection, now: .now)
        }
    }

    private func closeIdleConnections(now: ContinuousClock.Instant) {
        for (id, connection) in connections where connection.lastActivity.duration(to: now) >= configuration.tcpIdleTimeout {
            // RFC 7766 6.2.3: idle connections are closed by the server.
            closeConnection(id)
        }
        // A CLI that connects and never asks, or never reads, is let go.
        for (id, connection) in controlConnections where connection.openedAt.duration(to: now) >= .seconds(60) {
            closeControl(id)
        }
    }

    private func closeConnection(_ id: UInt64) {
        guard let connection = connections.removeValue(forKey: id) else { return }
        poller.unregister(connection.stream.socket.rawValue)
    }

    // MARK: Upstreams

    private func handleUpstreamTCP(_ event: EventPoller.Event, token: UInt64) {
        guard case .tcp(let tcp) = exchanges[token] else { return }
        progressTCPUpstream(tcp, event: event, token: token)
    }

    /// Replies on a pooled socket, read in batches, each handed to the attempt its ID names.
    private func drainUpstreamSocket(_ number: Int) {
        // Bounded like the client side: a flooding upstream cannot starve the rest.
        for _ in 0..<4 {
            guard let member = upstreamSockets.members[number] else { return }
            let count: Int
            do {
                guard let received = try member.socket.receive(into: upstreamReplies) else { return }
                count = received
            } catch {
                // ECONNREFUSED (ICMP port unreachable) and the like concern the
                // upstream, not one query: everything waiting here moves on now.
                logger.debug("upstream socket error", metadata: ["upstream.address": "\(member.socket.remote)", "error": "\(error)"])
                for token in Array(member.pending.values) {
                    perform(forwarder.handleUpstreamFailure(token: token, now: .now))
                }
                return
            }
            for index in 0..<count {
                // Longer than a slot (8 KiB, while we advertise 1,232): not an answer we take over UDP.
                guard let reply = upstreamReplies.datagram(index), reply.count >= 2 else {
                    forwarder.rejectUnmatchedReply(reason: "too short or over \(upstreamReplies.slotSize) bytes")
                    continue
                }
                let id = UInt16(reply[0]) << 8 | UInt16(reply[1])
                guard let token = member.pending[id] else {
                    forwarder.rejectUnmatchedReply(reason: "no query with ID \(id) waits on this socket")
                    continue
                }
                perform(forwarder.handleUpstreamReply(reply, token: token, now: .now))
            }
            // A short batch means the socket is empty: don't spend a syscall to hear EAGAIN.
            if count < upstreamReplies.capacity { return }
        }
    }

    private func progressTCPUpstream(_ exchange: UpstreamTCPExchange, event: EventPoller.Event, token: UInt64) {
        do {
            if !exchange.connected, event.isWritable || event.isClosedOrFailed {
                try exchange.stream.connectResult()
                exchange.connected = true
            }
            if exchange.connected, exchange.hasPendingOutput {
                exchange.outputOffset += try exchange.stream.write(exchange.output, from: exchange.outputOffset) ?? 0
                if !exchange.hasPendingOutput {
                    try poller.modify(exchange.stream.socket.rawValue, token: PollToken.upstreamTag | token, interest: .readable)
                }
            }
            guard exchange.connected, event.isReadable || event.isClosedOrFailed else { return }
            guard let read = try exchange.stream.read(into: readBuffer) else { return }
            if read == 0 {
                perform(forwarder.handleUpstreamFailure(token: token, now: .now))
                return
            }
            exchange.framer.append(UnsafeRawBufferPointer(rebasing: readBuffer[..<read]))
            while exchanges[token] != nil, let message = exchange.framer.nextMessage() {
                perform(message.withUnsafeBytes { forwarder.handleUpstreamReply($0, token: token, now: .now) })
            }
        } catch {
            logger.debug("upstream TCP error", metadata: ["upstream.address": "\(exchange.stream.remote)", "error": "\(error)"])
            perform(forwarder.handleUpstreamFailure(token: token, now: .now))
        }
    }

    private func openUpstream(_ request: UpstreamRequest) {
        let (token, index, id, bytes) = (request.token, request.upstream, request.id, request.bytes)
        let remote = configuration.upstreams[index]
        do {
            switch request.transport {
            case .udp:
                let member = try upstreamSockets.assign(token: token, id: id, upstream: index, remote: remote)
                exchanges[token] = .udp(member: member.number, id: id)
                pendingUpstreamQueries.append(PendingUpstreamQuery(member: member.number, token: token, bytes: bytes))
            case .tcp:
                guard let framed = DNSStreamFramer.frame(bytes) else { throw DaemonError.queryTooLarge }
                let exchange = UpstreamTCPExchange(stream: try StreamSocket(connectingTo: remote), framedQuery: framed)
                try poller.register(exchange.stream.socket.rawValue, token: PollToken.upstreamTag | token, interest: .writable)
                exchanges[token] = .tcp(exchange)
            }
        } catch {
            logger.debug("upstream send failed", metadata: ["upstream.address": "\(remote)", "error": "\(error)"])
            perform(forwarder.handleUpstreamFailure(token: token, now: .now))
        }
    }

    /// Sends the queued upstream queries, one sendmmsg per pooled socket. A
    /// socket that refuses one is retired and that query fails over; queries
    /// whose attempt ended meanwhile are not sent.
    private func flushUpstreamQueries() {
        while !pendingUpstreamQueries.isEmpty {
            let queued = pendingUpstreamQueries.filter(isWaiting)
            pendingUpstreamQueries.removeAll(keepingCapacity: true)
            var failed: [UInt64] = []
            for (number, batch) in Dictionary(grouping: queued, by: \.member) {
                guard let member = upstreamSockets.members[number] else { continue }
                member.socket.send(batch.map(\.bytes)) { index, error in
                    logger.debug("upstream send failed", metadata: ["upstream.address": "\(member.socket.remote)", "error": "\(error)"])
                    upstreamSockets.retire(member: member.number)
                    failed.append(batch[index].token)
                }
            }
            // Failing over may queue new queries: the loop sends them too.
            for token in failed { perform(forwarder.handleUpstreamFailure(token: token, now: .now)) }
        }
        upstreamSockets.endRound()
    }

    private func isWaiting(_ query: PendingUpstreamQuery) -> Bool {
        if case .udp(let member, _)? = exchanges[query.token] { return member == query.member }
        return false
    }

    private func closeUpstream(token: UInt64) {
        switch exchanges.removeValue(forKey: token) {
        case .udp(let member, let id)?: upstreamSockets.release(member: member, id: id)
        case .tcp(let exchange)?: poller.unregister(exchange.stream.socket.rawValue)
        case nil: break
        }
    }

    // MARK: Actions

    private func perform(_ actions: [ForwarderAction<ClientContext>]) {
        for action in actions {
            switch action {
            case .reply(let context, let bytes, let details):
                switch context {
                case .udp(let client, let destination): sendUDPReply(bytes, from: destination, to: client)
                case .tcp(let connection, _, _): sendTCPReply(bytes, connection: connection)
                }
                responseCodes.record(details.code)
                if logsEveryAnswer { logAnswer(context, details, byteCount: bytes.count) }
            case .sendUpstream(let request):
                openUpstream(request)
            case .closeUpstream(let token):
                closeUpstream(token: token)
            }
        }
    }

    private func logAnswer(_ context: ClientContext, _ details: ReplyDetails, byteCount: Int) {
        if let queryLog { queryLog.record(logRecord(context, details)) }
        if logger.logLevel <= .debug {
            logger.debug("answered", metadata: [
                "client": "\(context.client)", "original_destination": "\(context.originalDestination)",
                "rcode": "\(details.code)", "source": "\(details.source)", "bytes": "\(byteCount)",
            ])
        }
    }

    private func logRecord(_ context: ClientContext, _ details: ReplyDetails) -> QueryLogRecord {
        var wallClock = timespec()
        clock_gettime(CLOCK_REALTIME, &wallClock)
        let answeredFrom: String
        switch details.source {
        case .upstream(let index): answeredFrom = "upstream:\(configuration.upstreams[index])"
        default: answeredFrom = details.source.description
        }
        let transport: Transport
        if case .tcp = context { transport = .tcp } else { transport = .udp }
        return QueryLogRecord(wallClock: wallClock, client: context.client, originalDestination: context.originalDestination,
                              transport: transport, question: details.question, code: details.code,
                              answeredFrom: answeredFrom, latency: details.receivedAt.duration(to: .now))
    }

    /// SIGHUP: re-read the settings and zones; the cache stays. Settings that
    /// only take effect at start are named in the log.
    private func reloadSettings() {
        if let reload {
            do {
                let new = try reload()
                let needsRestart = apply(new)
                for worker in workers { worker.daemon.mailbox.post { _ = $0.apply(new) } }
                logger.notice("configuration reloaded", metadata: [
                    "allow": "\(admission.allowed.map(\.description).joined(separator: " "))",
                    "needs_restart": "\(needsRestart.isEmpty ? "none" : needsRestart.joined(separator: " "))",
                ])
            } catch {
                logger.error("configuration reload failed; previous settings kept", metadata: ["error": "\(error)"])
                return
            }
        }
        if configuration.zonesDirectory != nil { _ = reloadZones() }
    }

    /// Takes what of `new` can change while running; returns the names of the
    /// settings that differ but need a restart. Each loop applies it to itself.
    private func apply(_ new: DaemonConfiguration) -> [String] {
        var needsRestart = forwarder.reconfigure(new.forwarder)
        if new.port != configuration.port { needsRestart.append("port") }
        if new.controlPath != configuration.controlPath { needsRestart.append("control") }
        if new.queryLogPath != configuration.queryLogPath { needsRestart.append("query-log") }
        if new.metricsEndpoint != configuration.metricsEndpoint { needsRestart.append("metrics") }
        if new.tcpMaximumConnections != configuration.tcpMaximumConnections { needsRestart.append("tcp-max-connections") }
        if new.replyVia != configuration.replyVia { needsRestart.append("reply-via") }
        if new.upstreamSockets != configuration.upstreamSockets { needsRestart.append("upstream-sockets") }
        if new.upstreamSocketQueries != configuration.upstreamSocketQueries {
            needsRestart.append("upstream-socket-queries")
        }
        if new.workers != configuration.workers { needsRestart.append("workers") }
        var admission = new.admission
        admission.carryOver(from: self.admission)
        self.admission = admission
        var applied = new
        applied.port = configuration.port
        applied.upstreams = configuration.upstreams
        applied.controlPath = configuration.controlPath
        applied.queryLogPath = configuration.queryLogPath
        applied.metricsEndpoint = configuration.metricsEndpoint
        applied.tcpMaximumConnections = configuration.tcpMaximumConnections
        applied.replyVia = configuration.replyVia
        applied.upstreamSockets = configuration.upstreamSockets
        applied.upstreamSocketQueries = configuration.upstreamSocketQueries
        applied.workers = configuration.workers
        applied.forwarder = forwarder.configuration
        configuration = applied
        return needsRestart
    }

    /// Sends the queued raw replies; one that exceeds the route's MTU goes
    /// again truncated (TC), so the client retries over TCP.
    private func flushReplies() {
        guard !pendingReplies.isEmpty else { return }
        var failures: [(ordinal: Int, error: RawSendError, payload: [UInt8])] = []
        sender.flush { failures.append(($0, $1, Array($2))) }
        for failure in failures {
            let reply = pendingReplies[failure.ordinal]
            if failure.error.isTooLarge, let truncated = ResponseBuilder.truncated(reply: failure.payload),
               truncated.count < failure.payload.count, sendDirectly(truncated, from: reply.source, to: reply.client) {
                continue
            }
            sendFailures += 1
            logger.warning("sending reply failed", metadata: ["client": "\(reply.client)", "error": "\(failure.error)"])
        }
        pendingReplies.removeAll(keepingCapacity: true)
    }

    private func sendDirectly(_ bytes: [UInt8], from source: IPEndpoint, to client: IPEndpoint) -> Bool {
        do {
            try bytes.withUnsafeBytes { try sender.send($0, from: source, to: client) }
            return true
        } catch {
            return false
        }
    }

    private func sendUDPReply(_ bytes: [UInt8], from source: IPEndpoint, to client: IPEndpoint) {
        bytes.withUnsafeBytes { sendUDPReply($0, from: source, to: client) }
    }

    func sendUDPReply(_ bytes: UnsafeRawBufferPointer, from source: IPEndpoint, to client: IPEndpoint) {
        do {
            switch configuration.replyVia {
            case .raw:
                // The batch keeps its own copy; a reply the kernel refuses comes back from it.
                try sender.enqueue(bytes, from: source, to: client, ordinal: pendingReplies.count)
                pendingReplies.append(QueuedReply(source: source, client: client))
            case .socketPerSource:
                let socket = try sourceSocket(for: source)
                try socket.send(bytes, to: client)
            }
        } catch let error as SystemCallError where error.errno == EMSGSIZE {
            guard let truncated = ResponseBuilder.truncated(reply: Array(bytes)), truncated.count < bytes.count else { return }
            sendUDPReply(truncated, from: source, to: client)
        } catch let error as RawSendError where error.isTooLarge {
            // Larger than the route's MTU: the kernel does not fragment our own
            // headers, so send header + question with TC and let the client use TCP.
            guard let truncated = ResponseBuilder.truncated(reply: Array(bytes)), truncated.count < bytes.count else { return }
            sendUDPReply(truncated, from: source, to: client)
        } catch {
            sendFailures += 1
            logger.warning("sending reply failed", metadata: ["client": "\(client)", "error": "\(error)"])
        }
    }
}

/// Where a reply handed to the raw sender's batch goes, kept until the batch
/// is sent in case the kernel refuses it as too large and it must go again
/// truncated (the bytes come back from the batch).
struct QueuedReply {
    let source: IPEndpoint
    let client: IPEndpoint
}

/// A query assigned to a pooled upstream socket, sent at the next flush with
/// the others on that socket.
struct PendingUpstreamQuery {
    let member: Int
    let token: UInt64
    let bytes: [UInt8]
}

enum DaemonError: Error, CustomStringConvertible {
    case queryTooLarge
    case tooManySourceSockets(Int)

    var description: String {
        switch self {
        case .queryTooLarge: return "query over 65,535 bytes cannot be framed for TCP"
        case .tooManySourceSockets(let limit): return "more than \(limit) spoofed sources: socket-per-source is out of sockets"
        }
    }
}
