import DNSForward
import Logging
import RawUDP

#if canImport(Glibc)
import Glibc
#endif

/// The control socket: stats, cache inspection and flushing, zone reloads.
/// Everything runs on the event loop between packets; a dump goes out in
/// chunks as the socket drains, so a large cache never stalls serving.
extension Daemon {
    static let dumpChunk = 256
    static let controlOutputHighWater = 256 * 1024

    func acceptControlConnections() {
        guard let controlListener else { return }
        for _ in 0..<16 {
            let socket: UnixStreamSocket
            do {
                guard let accepted = try controlListener.accept() else { return }
                socket = accepted
            } catch {
                logger.warning("accepting a control connection failed", metadata: ["error": "\(error)"])
                return
            }
            let id = nextConnectionID
            nextConnectionID += 1
            let connection = ControlConnection(id: id, socket: socket, now: .now)
            do {
                try poller.register(socket.socket.rawValue, token: PollToken.controlTag | id)
            } catch {
                continue
            }
            controlConnections[id] = connection
        }
    }

    func handleControl(_ event: EventPoller.Event, id: UInt64) {
        guard let connection = controlConnections[id] else { return }
        if event.isReadable || event.isClosedOrFailed, connection.dumpKeys == nil, !connection.closeWhenFlushed {
            do {
                guard let read = try connection.socket.read(into: readBuffer) else { return }
                if read == 0 {
                    closeControl(id)
                    return
                }
                connection.input += readBuffer[..<read]
            } catch {
                closeControl(id)
                return
            }
            if let line = connection.takeRequestLine() {
                respond(to: line, on: connection)
            } else if connection.input.count > 64 * 1024 {
                connection.send(ControlReply(error: "request line longer than 64 KiB"))
                connection.closeWhenFlushed = true
            }
        }
        continueDump(connection)
        do {
            try connection.flush()
        } catch {
            closeControl(id)
            return
        }
        if connection.closeWhenFlushed, connection.pendingOutput == 0, connection.dumpKeys == nil {
            closeControl(id)
            return
        }
        var interest: EventPoller.Interest = []
        if connection.pendingOutput > 0 || connection.dumpKeys != nil { interest.insert(.writable) }
        if !connection.closeWhenFlushed, connection.dumpKeys == nil { interest.insert(.readable) }
        try? poller.modify(connection.socket.socket.rawValue, token: PollToken.controlTag | id, interest: interest)
    }

    func closeControl(_ id: UInt64) {
        guard let connection = controlConnections.removeValue(forKey: id) else { return }
        poller.unregister(connection.socket.socket.rawValue)
    }

    private func respond(to line: ArraySlice<UInt8>, on connection: ControlConnection) {
        connection.closeWhenFlushed = true
        let request: ControlRequest
        do {
            request = try ControlCodec.decode(ControlRequest.self, from: line)
        } catch {
            connection.send(ControlReply(error: "bad request: \(error)"))
            return
        }
        let now = ContinuousClock.now
        switch request.command {
        case .stats:
            connection.send(ControlReply(stats: stats(now: now)))
        case .dump:
            connection.dumpKeys = forwarder.cache.keys
            connection.closeWhenFlushed = true
        case .lookup:
            guard let text = request.name, let name = DNSName(presentation: text) else {
                connection.send(ControlReply(error: "lookup needs a valid domain name"))
                return
            }
            var type: RecordType?
            if let mnemonic = request.type {
                guard let number = RecordType(mnemonic: mnemonic) else {
                    connection.send(ControlReply(error: "unknown record type \(mnemonic)"))
                    return
                }
                type = number
            }
            let wanted = name.lowercasedWire
            let keys = forwarder.cache.keys.filter { $0.name == wanted && (type == nil || $0.type == type) }
                .sorted { ($0.type, $0.dnssecOK ? 1 : 0) < ($1.type, $1.dnssecOK ? 1 : 0) }
            var sent = 0
            for key in keys {
                guard let answer = forwarder.cache.entry(for: key) else { continue }
                connection.send(ControlReply(entry: entryView(key, answer, now: now)))
                sent += 1
            }
            connection.send(ControlReply(done: ControlDone(count: sent)))
        case .flush:
            let removed: Int
            if let text = request.name {
                guard let name = DNSName(presentation: text) else {
                    connection.send(ControlReply(error: "flush needs a valid domain name"))
                    return
                }
                removed = forwarder.cache.remove(name: name.lowercasedWire, subtree: request.subtree ?? false)
            } else {
                removed = forwarder.cache.count
                forwarder.cache.removeAll()
            }
            logger.info("cache flushed", metadata: ["name": "\(request.name ?? "(all)")", "removed": "\(removed)"])
            connection.send(ControlReply(done: ControlDone(count: removed)))
        case .zonesReload:
            switch reloadZones() {
            case .success(let zones):
                connection.send(ControlReply(done: ControlDone(count: zones.zoneNames.count,
                                                               message: zones.zoneNames.joined(separator: " "))))
            case .failure(let error):
                connection.send(ControlReply(error: error.message))
            }
        }
    }

    private func continueDump(_ connection: ControlConnection) {
        guard let keys = connection.dumpKeys else { return }
        let now = ContinuousClock.now
        var produced = 0
        while produced < Self.dumpChunk, connection.pendingOutput < Self.controlOutputHighWater,
              connection.dumpPosition < keys.count {
            let key = keys[connection.dumpPosition]
            connection.dumpPosition += 1
            // Entries evicted or flushed since the snapshot are skipped.
            guard let answer = forwarder.cache.entry(for: key) else { continue }
            connection.send(ControlReply(entry: entryView(key, answer, now: now)))
            connection.dumpSent += 1
            produced += 1
        }
        if connection.dumpPosition >= keys.count {
            connection.send(ControlReply(done: ControlDone(count: connection.dumpSent)))
            connection.dumpKeys = nil
        }
    }

    private func entryView(_ key: CacheKey, _ answer: CachedAnswer, now: ContinuousClock.Instant) -> CacheEntryView {
        // Same arithmetic as the records' TTLs, so the header line and records agree.
        let remaining = Int(answer.lifetime) - Int(answer.age(at: now))
        return CacheEntryView(
            name: DNSName(wire: key.name).description, type: key.type.ldnsMnemonic, class: Int(key.class.rawValue),
            dnssecOK: key.dnssecOK, checkingDisabled: key.checkingDisabled, kind: answer.kind.rawValue,
            rcode: answer.responseCode.description, remainingTTL: remaining,
            ageSeconds: Int(answer.age(at: now)), hits: answer.hits,
            answeredBy: answer.upstream.map { configuration.upstreams[$0].description } ?? "daemon",
            stale: !answer.isFresh(at: now), records: answer.presentation(at: now))
    }

    /// The whole daemon's: this loop's figures plus every worker's.
    func stats(now: ContinuousClock.Instant) -> DaemonStats {
        var stats = ownStats(now: now)
        for other in askWorkers({ $0.ownStats(now: now) }) { stats.add(worker: other) }
        return stats
    }

    /// Upstream round-trip histograms, all loops added up.
    func upstreamLatencies() -> [LatencyHistogram] {
        var latencies = forwarder.upstreamHealth.map(\.latency)
        for other in askWorkers({ $0.forwarder.upstreamHealth.map(\.latency) }) {
            for index in latencies.indices where index < other.count { latencies[index].add(other[index]) }
        }
        return latencies
    }

    /// This loop's figures only; the cache, zones and query log are the daemon's.
    func ownStats(now: ContinuousClock.Instant) -> DaemonStats {
        let cache = forwarder.cache
        // Read once: with workers the shards keep changing between reads.
        let counters = cache.counters
        let lookups = counters.hits + counters.misses
        let answers = forwarder.counters
        let log = queryLog?.counts
        return DaemonStats(
            uptimeSeconds: Int(startedAt.duration(to: now).components.seconds),
            inFlight: forwarder.inFlightCount,
            cache: .init(entries: cache.count, capacity: cache.configuration.capacity, bytes: cache.bytes,
                         hits: counters.hits, misses: counters.misses,
                         hitRatio: lookups == 0 ? 0 : Double(counters.hits) / Double(lookups),
                         staleHits: counters.staleHits, insertions: counters.insertions,
                         evictions: counters.evictions, expired: counters.expired),
            answers: .init(queries: answers.queries, fromCache: answers.answeredFromCache,
                           fromStaleCache: answers.answeredStale, fromZones: answers.answeredFromZones,
                           fromUpstreams: answers.answeredFromUpstream, coalesced: answers.coalesced,
                           serverFailures: answers.serverFailures, timeouts: answers.timeouts,
                           rejectedUpstreamReplies: answers.rejectedReplies, tcpRetries: answers.tcpRetries,
                           droppedQueries: answers.dropped),
            upstreams: forwarder.upstreamHealth.enumerated().map { index, health in
                .init(address: configuration.upstreams[index].description, up: !health.isDown, queries: health.queries,
                      failures: health.failures,
                      rttMilliseconds: health.smoothedRTT.map { Double($0.components.attoseconds) / 1e15 + Double($0.components.seconds) * 1000 })
            },
            originalDestinations: destinations.ranked.map { .init(address: $0.address, queries: $0.queries) },
            transport: .init(tcpConnections: connections.count, tcpRejected: rejectedConnections,
                             replySendFailures: sendFailures, receiveDropsTruncated: receiver.drops.truncated,
                             receiveDropsNoOriginalDestination: receiver.drops.missingOriginalDestination),
            queryLog: .init(enabled: queryLog != nil, written: log?.written ?? 0, dropped: log?.dropped ?? 0),
            zones: forwarder.localZones.zoneNames,
            responseCodes: Dictionary(uniqueKeysWithValues: responseCodes.byCode.map { ($0.key.description, $0.value) }),
            admission: .init(refused: admission.counters.refused, ignored: admission.counters.ignored,
                             rateLimited: admission.counters.rateLimited),
            queriesByWorker: [answers.queries])
    }

    /// Loads the zones directory again; on any error the zones in service stay.
    func reloadZones() -> Result<LocalZones, ZoneReloadError> {
        guard let directory = configuration.zonesDirectory else {
            return .failure(ZoneReloadError(message: "no --zones directory configured"))
        }
        do {
            let zones = try LocalZones.load(directory: directory)
            forwarder.localZones = zones
            for worker in workers { worker.daemon.mailbox.post { $0.forwarder.localZones = zones } }
            logger.notice("zones reloaded", metadata: ["zones": "\(zones.zoneNames.joined(separator: " "))",
                                                       "records": "\(zones.recordCount)"])
            return .success(zones)
        } catch {
            logger.error("zone reload failed; previous zones still served", metadata: ["error": "\(error)"])
            return .failure(ZoneReloadError(message: "zone reload failed, previous zones kept: \(error)"))
        }
    }
}

struct ZoneReloadError: Error {
    let message: String
}
