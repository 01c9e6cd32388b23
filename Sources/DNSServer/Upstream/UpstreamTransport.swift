import DNSForward
import Logging
import RawUDP

/// The only place upstream I/O happens: pooled UDP sockets (queries of one
/// round leave in one sendmmsg per socket), and one TCP connection per retry
/// after truncation. It sends what the forwarder asks, and hands back what
/// the sockets report as `UpstreamOutcome`s; it decides nothing about DNS.
final class UpstreamTransport: EventHandler {
    /// Where one attempt waits: a query ID on a pooled socket, or its own TCP connection.
    private enum Exchange {
        case udp(member: Int, id: UInt16)
        case tcp(UpstreamTCPExchange)
    }

    /// A query assigned to a pooled socket, sent at the next flush.
    private struct QueuedQuery {
        let member: Int
        let token: UInt64
        let bytes: [UInt8]
    }

    private let upstreams: [IPEndpoint]
    private let loop: EventLoop
    private let logger: Logger
    /// Set by the loop before the first event: who hears what the sockets report.
    weak var receiver: UpstreamOutcomeReceiver? {
        didSet { tls?.receiver = receiver }
    }
    /// The `tls://` upstreams' connections (`enableTLS`); nil when there are none.
    private(set) var tls: DoTClient?
    private(set) var sockets: UpstreamSocketPool!
    private var exchanges: [UInt64: Exchange] = [:]
    private var queued: [QueuedQuery] = []
    /// Scratch for one socket's sendmmsg, kept between rounds.
    private var runDatagrams: [[UInt8]] = []
    private var runTokens: [UInt64] = []
    /// Pooled sockets and TCP connections by their registration.
    private var pooledByRegistration: [LoopRegistration: Int] = [:]
    private var tcpByRegistration: [LoopRegistration: UInt64] = [:]
    /// Replies on the pooled sockets are read here, one socket at a time.
    private let replies = DatagramBatch()
    private let readBuffer: UnsafeMutableRawBufferPointer
    /// Pooled sockets retired because forged replies flooded them.
    private(set) var socketsRetiredForForgery = 0

    init(upstreams: [IPEndpoint], socketsPerUpstream: Int, queriesPerSocket: Int, loop: EventLoop,
         readBuffer: UnsafeMutableRawBufferPointer, logger: Logger) {
        self.upstreams = upstreams
        self.loop = loop
        self.readBuffer = readBuffer
        self.logger = logger
        sockets = UpstreamSocketPool(
            // One more: the passthrough slot (`Forwarder.passthroughUpstream`).
            upstreams: upstreams.count + 1, socketsPerUpstream: socketsPerUpstream, queriesPerSocket: queriesPerSocket,
            didOpen: { [unowned self] member in
                member.registration = try loop.register(member.socket.socket.rawValue, handler: self)
                pooledByRegistration[member.registration!] = member.number
            },
            willClose: { [unowned self] member in
                guard let registration = member.registration else { return }
                pooledByRegistration[registration] = nil
                loop.unregister(registration)
            })
    }

    var hasQueuedQueries: Bool { !queued.isEmpty || (tls?.hasUnflushedQueries ?? false) }

    /// Sends the queries of `configuration.upstreams` over TLS from now on.
    func enableTLS(_ configuration: UpstreamTLSConfiguration, names: [String]) throws(TLSFailure) {
        guard !configuration.isEmpty else { return }
        let client = try DoTClient(configuration: configuration, endpoints: upstreams, names: names, loop: loop,
                                   handler: self, logger: logger)
        client.receiver = receiver
        tls = client
    }

    /// Starts sending `request`. Returns its token when it failed at once
    /// (no socket, no connection): the caller fails it over.
    func send(_ request: UpstreamRequest) -> UInt64? {
        if request.isRetransmission {
            resend(request)
            return nil
        }
        // Over TLS whatever the forwarder asked (UDP, or TCP after TC): never in clear.
        if let tls, tls.serves(upstream: request.upstream) {
            return tls.send(request, now: .now) ? nil : request.token
        }
        // Passthrough: the server the client targeted, on port 53.
        let remote = request.passthroughTarget.map { IPEndpoint(address: IPAddress($0), port: 53) } ?? upstreams[request.upstream]
        do {
            switch request.transport {
            case .udp:
                let member = try sockets.assign(token: request.token, id: request.id, upstream: request.upstream, remote: remote,
                                                singleUse: request.passthroughTarget != nil)
                exchanges[request.token] = .udp(member: member.number, id: request.id)
                queued.append(QueuedQuery(member: member.number, token: request.token, bytes: request.bytes))
            case .tcp:
                guard let framed = DNSStreamFramer.frame(request.bytes) else { throw UpstreamSendError.queryTooLarge }
                let exchange = UpstreamTCPExchange(token: request.token, stream: try StreamSocket(connectingTo: remote),
                                                   framedQuery: framed)
                let registration = try loop.register(exchange.stream.socket.rawValue, interest: .writable, handler: self)
                exchange.registration = registration
                tcpByRegistration[registration] = request.token
                exchanges[request.token] = .tcp(exchange)
            }
            return nil
        } catch {
            logger.debug("upstream send failed", metadata: ["upstream.address": "\(remote)", "error": "\(error)"])
            return request.token
        }
    }

    /// The query again on the pooled socket where its attempt waits, so a
    /// reply to either copy finds it; a stream carries its own retransmission.
    private func resend(_ request: UpstreamRequest) {
        guard case .udp(let member, let id)? = exchanges[request.token], id == request.id else { return }
        queued.append(QueuedQuery(member: member, token: request.token, bytes: request.bytes))
    }

    /// Sends the queued queries, one sendmmsg per pooled socket; returns the
    /// tokens of those the kernel refused (their socket is retired). Queries
    /// whose attempt ended meanwhile are not sent.
    func flushQueries() -> [UInt64] {
        var failed: [UInt64] = []
        // A round's queries to one upstream share a socket (`endRound` moves
        // on), so after sorting by socket each run is one sendmmsg; no
        // dictionary or batch arrays per round.
        queued.sort { $0.member < $1.member }
        var start = queued.startIndex
        while start < queued.endIndex {
            let number = queued[start].member
            var end = start + 1
            while end < queued.endIndex, queued[end].member == number { end += 1 }
            sendRun(queued[start..<end], on: number, failed: &failed)
            start = end
        }
        queued.removeAll(keepingCapacity: true)
        if let tls { failed += tls.flushQueries(now: .now) }
        return failed
    }

    private func sendRun(_ run: ArraySlice<QueuedQuery>, on number: Int, failed: inout [UInt64]) {
        guard let member = sockets.members[number] else { return }
        runDatagrams.removeAll(keepingCapacity: true)
        runTokens.removeAll(keepingCapacity: true)
        for query in run where isWaiting(query) {
            runDatagrams.append(query.bytes)
            runTokens.append(query.token)
        }
        guard !runDatagrams.isEmpty else { return }
        member.socket.send(runDatagrams) { index, error in
            logger.debug("upstream send failed", metadata: ["upstream.address": "\(member.socket.remote)", "error": "\(error)"])
            sockets.retire(member: member.number)
            failed.append(runTokens[index])
        }
    }

    /// The next round's queries go to each used upstream's next socket.
    func endRound() {
        sockets.endRound()
        tls?.sweep(now: .now)
    }

    func close(token: UInt64) {
        switch exchanges.removeValue(forKey: token) {
        case .udp(let member, let id)?:
            sockets.release(member: member, id: id)
        case .tcp(let exchange)?:
            if let registration = exchange.registration {
                tcpByRegistration[registration] = nil
                loop.unregister(registration)
            }
        case nil:
            tls?.close(token: token)
        }
    }

    /// The forwarder found a reply for `token` forged (our ID, the wrong case).
    /// Returns the attempts to move to TCP when that sets off its socket's alarm.
    func recordForgedReply(token: UInt64, now: MonotonicInstant) -> [UInt64] {
        guard case .udp(let number, _)? = exchanges[token], let member = sockets.members[number] else { return [] }
        return recordForgery(on: member, now: now) ?? []
    }

    /// Counts a suspect reply on `member`; past the alarm's threshold retires
    /// it and returns the attempts waiting there.
    private func recordForgery(on member: UpstreamSocketPool.Member, now: MonotonicInstant) -> [UInt64]? {
        guard member.forgeryAlarm.record(now: now) else { return nil }
        socketsRetiredForForgery += 1
        logger.warning("forged replies flood an upstream socket: retired, its queries go over TCP", metadata: [
            "upstream.address": "\(member.socket.remote)", "waiting": "\(member.pending.count)",
            "replies": "\(ForgeryAlarm.threshold)",
        ])
        let waiting = Array(member.pending.values)
        sockets.retire(member: member.number)
        return waiting
    }

    func closeAll() {
        for token in Array(exchanges.keys) { close(token: token) }
        sockets.closeAll()
        tls?.closeAll()
    }

    func handle(_ event: EventPoller.Event, on registration: LoopRegistration) {
        if let number = pooledByRegistration[registration] {
            drainPooledSocket(number)
        } else if let token = tcpByRegistration[registration], case .tcp(let exchange)? = exchanges[token] {
            progress(exchange, event: event)
        } else if let tls {
            _ = tls.handle(event, on: registration, buffer: readBuffer)
        }
    }

    private func isWaiting(_ query: QueuedQuery) -> Bool {
        if case .udp(let member, _)? = exchanges[query.token] { return member == query.member }
        return false
    }

    /// Replies on a pooled socket, read in batches, each handed on with the attempt its ID names.
    private func drainPooledSocket(_ number: Int) {
        // Bounded like the client side: a flooding upstream cannot starve the rest.
        for _ in 0..<4 {
            guard let member = sockets.members[number] else { return }
            let count: Int
            do {
                guard let received = try member.socket.receive(into: replies) else { return }
                count = received
            } catch {
                // ECONNREFUSED (ICMP port unreachable) and the like concern the
                // upstream, not one query: everything waiting here moves on now.
                logger.debug("upstream socket error", metadata: ["upstream.address": "\(member.socket.remote)", "error": "\(error)"])
                for token in Array(member.pending.values) { receiver?.deliver(.failure(token: token), now: .now) }
                return
            }
            for index in 0..<count {
                // Longer than a slot (8 KiB, while we advertise 1,232): not an answer we take over UDP.
                guard let reply = replies.datagram(index), reply.count >= 2 else {
                    receiver?.deliver(.unmatched(.malformed(slotSize: replies.slotSize)), now: .now)
                    continue
                }
                let id = UInt16(reply[0]) << 8 | UInt16(reply[1])
                guard let token = member.pending[id] else {
                    let now = MonotonicInstant.now
                    receiver?.deliver(.unmatched(.unknownID(id)), now: now)
                    if let waiting = recordForgery(on: member, now: now) {
                        receiver?.deliver(.forgedReplies(tokens: waiting), now: now)
                        return
                    }
                    continue
                }
                receiver?.deliver(.reply(token: token, wire: reply), now: .now)
            }
            // A short batch means the socket is empty: don't spend a syscall to hear EAGAIN.
            if count < replies.capacity { return }
        }
    }

    private func progress(_ exchange: UpstreamTCPExchange, event: EventPoller.Event) {
        do {
            if try exchange.progressWrite(event), let registration = exchange.registration {
                try loop.modify(registration, interest: .readable)
            }
            switch try exchange.read(event, into: readBuffer) {
            case .nothing:
                return
            case .closed:
                receiver?.deliver(.failure(token: exchange.token), now: .now)
            case .messages(let messages):
                for message in messages where exchanges[exchange.token] != nil {
                    message.withUnsafeBytes { receiver?.deliver(.reply(token: exchange.token, wire: $0), now: .now) }
                }
            }
        } catch {
            logger.debug("upstream TCP error", metadata: ["upstream.address": "\(exchange.stream.remote)", "error": "\(error)"])
            receiver?.deliver(.failure(token: exchange.token), now: .now)
        }
    }
}

enum UpstreamSendError: Error, CustomStringConvertible {
    case queryTooLarge

    var description: String { "query over 65,535 bytes cannot be framed for TCP" }
}
