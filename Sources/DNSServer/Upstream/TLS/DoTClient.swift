import DNSForward
import Logging
import RawUDP

/// DNS over TLS to the `tls://` upstreams, on the loop's own poller: per
/// upstream a small pool of long-lived connections (a new one only when the
/// others each carry `queriesPerConnection`), idle ones closed, reconnects
/// after a failure spaced by `ReconnectBackoff`, the last session offered for
/// resumption. A failed connection fails its queries over like a timeout
/// would; nothing unverified is ever handed on.
final class DoTClient {
    struct Counters {
        var connectionsOpened = 0
        var handshakesCompleted = 0
        var sessionsResumed = 0
        var connectionFailures = 0
    }

    let configuration: UpstreamTLSConfiguration
    let endpoints: [IPEndpoint]
    let names: [String]
    let context: TLSClientContext
    let loop: EventLoop
    let handler: EventHandler
    let logger: Logger
    weak var receiver: UpstreamOutcomeReceiver?
    var connections: [Int: [DoTConnection]] = [:]
    var byRegistration: [LoopRegistration: DoTConnection] = [:]
    /// Attempt token → the connection and ID it waits on.
    var waiting: [UInt64: (connection: DoTConnection, id: UInt16)] = [:]
    var sessions: [Int: TLSSessionTicket] = [:]
    var backoff: [Int: ReconnectBackoff] = [:]
    var nextNumber = 0
    private var lastSweep = MonotonicInstant.now
    var counters = Counters()
    /// Attempts already sent again after a server closed on them: a second close fails them over.
    var askedAgain = Set<UInt64>()
    /// Connections with queries encrypted this round, not yet written.
    private var unflushed: [DoTConnection] = []

    /// `handler` is who the loop calls for these connections' events (the transport).
    init(configuration: UpstreamTLSConfiguration, endpoints: [IPEndpoint], names: [String], loop: EventLoop,
         handler: EventHandler, logger: Logger) throws(TLSFailure) {
        self.configuration = configuration
        self.endpoints = endpoints
        self.names = names
        self.loop = loop
        self.handler = handler
        self.logger = logger
        context = try TLSClientContext(caFile: configuration.caFile)
    }

    func serves(upstream: Int) -> Bool { configuration.upstreams[upstream] != nil }

    var openConnectionCount: Int { byRegistration.count }

    /// Queues the query on a connection to its upstream; false when none can
    /// take it now (backing off, no descriptor): the caller fails it over.
    func send(_ request: UpstreamRequest, now: MonotonicInstant) -> Bool {
        guard let framed = DNSStreamFramer.frame(EDNSPadding.padded(request.bytes)),
              let connection = connection(for: request.upstream, id: request.id, now: now) else { return false }
        do throws(DoTFailure) {
            try connection.send(framedQuery: framed, id: request.id, token: request.token)
        } catch {
            // This query fails over through the caller; the others on the connection through `fail`.
            connection.release(id: request.id)
            fail(connection, error: error, now: now)
            return false
        }
        waiting[request.token] = (connection, request.id)
        if !connection.awaitsFlush {
            connection.awaitsFlush = true
            unflushed.append(connection)
        }
        return true
    }

    var hasUnflushedQueries: Bool { !unflushed.isEmpty }

    /// The round's queries leave, one write per connection; returns the
    /// attempts on connections that failed doing so, for the caller to fail over.
    func flushQueries(now: MonotonicInstant) -> [UInt64] {
        var failed: [UInt64] = []
        for connection in unflushed where byRegistration[connection.registration!] === connection {
            do throws(DoTFailure) {
                try connection.flushToSocket()
                try updateInterest(connection)
            } catch {
                failed += end(connection, error: error, now: now)
            }
        }
        unflushed.removeAll(keepingCapacity: true)
        return failed
    }

    func close(token: UInt64) {
        askedAgain.remove(token)
        guard let (connection, id) = waiting.removeValue(forKey: token) else { return }
        connection.release(id: id)
    }

    /// Whether `registration` is one of ours; if so its event is handled.
    func handle(_ event: EventPoller.Event, on registration: LoopRegistration, buffer: UnsafeMutableRawBufferPointer) -> Bool {
        guard let connection = byRegistration[registration] else { return false }
        let now = MonotonicInstant.now
        do throws(DoTFailure) {
            let progress = try connection.handle(event, buffer: buffer, now: now)
            if progress.handshakeCompleted { try handshakeCompleted(connection, now: now) }
            for message in progress.messages { deliver(message, from: connection, now: now) }
            if progress.closed {
                askAgainElsewhere(connection, now: now)
                return true
            }
            try updateInterest(connection)
        } catch {
            fail(connection, error: error, now: now)
        }
        return true
    }

    /// Once a second: idle connections closed, stuck handshakes failed.
    func sweep(now: MonotonicInstant) {
        guard lastSweep.duration(to: now) >= .seconds(1) else { return }
        lastSweep = now
        for connection in Array(byRegistration.values) {
            if connection.state != .ready, connection.openedAt.duration(to: now) >= configuration.handshakeTimeout {
                fail(connection, error: .handshakeTimedOut, now: now)
            } else if connection.pending.isEmpty, connection.lastActivity.duration(to: now) >= configuration.idleTimeout {
                remove(connection)
            }
        }
    }

    func closeAll() {
        for connection in Array(byRegistration.values) { remove(connection) }
        waiting.removeAll()
    }
}
