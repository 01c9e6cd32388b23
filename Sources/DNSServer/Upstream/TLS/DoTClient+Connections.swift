import DNSForward
import Logging
import RawUDP

extension DoTClient {
    /// The connection for a query to `upstream` with `id`: the least busy one
    /// under `queriesPerConnection`, else a new one while under
    /// `connectionsPerUpstream`, else the least busy of all; nil when the
    /// upstream is backing off or no socket can be opened.
    func connection(for upstream: Int, id: UInt16, now: MonotonicInstant) -> DoTConnection? {
        let candidates = (connections[upstream] ?? []).filter { $0.isFree(for: id) }
        let leastBusy = candidates.min { $0.pending.count < $1.pending.count }
        if let leastBusy, leastBusy.pending.count < configuration.queriesPerConnection { return leastBusy }
        if (connections[upstream]?.count ?? 0) < configuration.connectionsPerUpstream,
           backoff[upstream, default: ReconnectBackoff()].allowsConnect(now: now),
           let opened = open(upstream, now: now) {
            return opened
        }
        return leastBusy
    }

    private func open(_ upstream: Int, now: MonotonicInstant) -> DoTConnection? {
        let endpoint = endpoints[upstream]
        do {
            let tls = try TLSStream(context: context, serverName: configuration.upstreams[upstream]?.serverName,
                                    address: endpoint.address, session: sessions[upstream])
            let stream = try StreamSocket(connectingTo: endpoint)
            let connection = DoTConnection(number: nextNumber, upstream: upstream, stream: stream, tls: tls, now: now)
            nextNumber += 1
            let registration = try loop.register(stream.socket.rawValue, interest: connection.registeredInterest, handler: handler)
            connection.registration = registration
            byRegistration[registration] = connection
            connections[upstream, default: []].append(connection)
            counters.connectionsOpened += 1
            return connection
        } catch {
            counters.connectionFailures += 1
            backoff[upstream, default: ReconnectBackoff()].recordFailure(now: now)
            logger.warning("upstream TLS connection failed", metadata: [
                "upstream.address": "\(names[upstream])", "tls.reason": "\(error)",
            ])
            return nil
        }
    }

    /// The chain verified (OpenSSL refused it otherwise); now the pins. A
    /// resumed session shows no certificates: it is one we kept from a
    /// connection that passed both checks, for this upstream only.
    func handshakeCompleted(_ connection: DoTConnection, now: MonotonicInstant) throws(DoTFailure) {
        let pins = configuration.upstreams[connection.upstream]?.pins ?? []
        if !pins.isEmpty, !connection.tls.wasResumed {
            let digests = connection.tls.chainKeyDigests()
            guard pins.contains(where: { digests.contains($0.digest) }) else { throw .pinMismatch(pins: pins.count) }
        }
        counters.handshakesCompleted += 1
        if connection.tls.wasResumed { counters.sessionsResumed += 1 }
        backoff[connection.upstream] = nil
        logger.debug("upstream TLS connection ready", metadata: [
            "upstream.address": "\(names[connection.upstream])", "tls.resumed": "\(connection.tls.wasResumed)",
            "tls.version": "\(connection.tls.protocolVersion)",
        ])
    }

    /// A framed message from the server, handed on with the attempt its ID names.
    func deliver(_ message: [UInt8], from connection: DoTConnection, now: MonotonicInstant) {
        // TLS 1.3 tickets arrive after the handshake: by the first answer one is here.
        if let session = connection.tls.takeReceivedSession() {
            sessions[connection.upstream] = session
        }
        guard message.count >= 2 else {
            receiver?.deliver(.unmatched(.malformed(slotSize: 65_535)), now: now)
            return
        }
        let id = UInt16(message[0]) << 8 | UInt16(message[1])
        guard let token = connection.pending[id] else {
            receiver?.deliver(.unmatched(.unknownID(id)), now: now)
            return
        }
        message.withUnsafeBytes { receiver?.deliver(.reply(token: token, wire: $0), now: now) }
    }

    /// The server closed `connection` cleanly (idle timeout, restart) with
    /// queries unanswered, perhaps sent as it closed: each is sent once more
    /// on another connection (RFC 7766 6.2.1 lets a server close at any
    /// time); one closed on twice fails over.
    func askAgainElsewhere(_ connection: DoTConnection, now: MonotonicInstant) {
        let unanswered = connection.takeUnanswered()
        remove(connection)
        for query in unanswered {
            waiting[query.token] = nil
            guard askedAgain.insert(query.token).inserted,
                  let next = self.connection(for: connection.upstream, id: query.id, now: now) else {
                failOver(query.token, upstream: connection.upstream, reason: DoTFailure.closedWithQueriesPending(unanswered.count), now: now)
                continue
            }
            do throws(DoTFailure) {
                try next.send(framedQuery: query.framedQuery, id: query.id, token: query.token)
                try next.flushToSocket()
                try updateInterest(next)
                waiting[query.token] = (next, query.id)
            } catch {
                next.release(id: query.id)
                failOver(query.token, upstream: connection.upstream, reason: error, now: now)
            }
        }
    }

    private func failOver(_ token: UInt64, upstream: Int, reason: DoTFailure, now: MonotonicInstant) {
        logger.debug("upstream TLS query failed over", metadata: ["upstream.address": "\(names[upstream])", "tls.reason": "\(reason)"])
        receiver?.deliver(.failure(token: token), now: now)
    }

    /// Ends `connection` and fails over every query on it; a failure before
    /// the connection was ready also delays the next connect.
    func fail(_ connection: DoTConnection, error: DoTFailure, now: MonotonicInstant) {
        for token in end(connection, error: error, now: now) { receiver?.deliver(.failure(token: token), now: now) }
    }

    /// `fail` without telling anyone: returns the attempts that were waiting on it.
    func end(_ connection: DoTConnection, error: DoTFailure, now: MonotonicInstant) -> [UInt64] {
        counters.connectionFailures += 1
        if connection.state != .ready || { if case .pinMismatch = error { return true } else { return false } }() {
            backoff[connection.upstream, default: ReconnectBackoff()].recordFailure(now: now)
            // A session from a server that now fails verification is not offered again.
            sessions[connection.upstream] = nil
        }
        logger.warning("upstream TLS connection failed", metadata: [
            "upstream.address": "\(names[connection.upstream])", "tls.reason": "\(error)",
            "queries.failed": "\(connection.pending.count)",
        ])
        let lost = connection.takePending()
        remove(connection, graceful: false)
        for token in lost { waiting[token] = nil }
        return lost
    }

    func remove(_ connection: DoTConnection, graceful: Bool = true) {
        guard let registration = connection.registration, byRegistration.removeValue(forKey: registration) != nil else { return }
        if graceful { connection.closeGracefully() }
        loop.unregister(registration)
        connections[connection.upstream]?.removeAll { $0 === connection }
        for token in connection.takePending() { waiting[token] = nil }
    }

    func updateInterest(_ connection: DoTConnection) throws(DoTFailure) {
        let wanted = connection.wantedInterest
        guard wanted != connection.registeredInterest, let registration = connection.registration else { return }
        do { try loop.modify(registration, interest: wanted) } catch { throw .socket(error) }
        connection.registeredInterest = wanted
    }
}
