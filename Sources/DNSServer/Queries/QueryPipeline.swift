import DNSForward
import Logging
import RawUDP

/// One loop's path for a query that the cache fast path did not answer:
/// front end → forwarder → upstream transport → (reply) forwarder → the front
/// end that owns the client. The forwarder's actions are carried out here, as
/// a work list: a send that fails comes back as a value and its failover is
/// appended, never a call back into sending.
final class QueryPipeline: UpstreamOutcomeReceiver {
    typealias Action = ForwarderAction<ClientContext>

    let forwarder: Forwarder<ClientContext>
    let transport: UpstreamTransport
    let udpReplies: UDPReplySender
    /// TCP replies; set on the primary loop, which serves TCP clients.
    weak var tcpReplies: TCPFrontEnd?
    let answers: AnswerRecorder
    /// Who asked, whom they thought they asked, and for what: `cache stats`, metrics, `top`.
    var destinations = TopCounts<IPAddress>()
    var clients = TopCounts<IPAddress>()
    var names = QuestionNameCounts()
    /// Clients and names (for `top`) are sampled under load; destinations (stats,
    /// metrics) stay exact.
    var askerSampling = AskerSampling()

    init(forwarder: Forwarder<ClientContext>, transport: UpstreamTransport, udpReplies: UDPReplySender,
         answers: AnswerRecorder) {
        self.forwarder = forwarder
        self.transport = transport
        self.udpReplies = udpReplies
        self.answers = answers
    }

    func submit(_ wire: UnsafeRawBufferPointer, from client: ClientContext, now: MonotonicInstant) {
        countAsker(wire, client: client.client.address, originalDestination: client.originalDestination.address)
        perform(forwarder.handleQuery(wire, from: client, transport: client.transport, now: now))
    }

    /// One query's client, original destination and question name, counted (hits and misses alike).
    func countAsker(_ wire: UnsafeRawBufferPointer, client: IPAddress, originalDestination: IPAddress) {
        destinations.record(originalDestination)
        let weight = askerSampling.weight()
        guard weight > 0 else { return }
        clients.record(client, weight: weight)
        names.record(questionOf: wire, weight: weight)
    }

    /// A fast-path cache hit claimed its entry's refresh ahead of expiry: the
    /// refresh goes upstream with this round's misses, and its answer to the cache only.
    func prefetch(_ wire: UnsafeRawBufferPointer, endpoints: PolicyEndpoints?, now: MonotonicInstant) {
        perform(forwarder.prefetch(wire, endpoints: endpoints, now: now))
    }

    /// What the upstream transport heard: a reply, a failure, or a stray datagram.
    func deliver(_ outcome: UpstreamOutcome, now: MonotonicInstant) {
        switch outcome {
        case .reply(let token, let wire): perform(forwarder.handleUpstreamReply(wire, token: token, now: now))
        case .failure(let token): perform(forwarder.handleUpstreamFailure(token: token, now: now))
        case .unmatched(let reason): forwarder.rejectUnmatchedReply(reason: reason.description)
        case .forgedReplies(let tokens):
            for token in tokens { perform(forwarder.retryOverTCP(token: token, now: now)) }
        }
    }

    /// Timeouts and due probes, then everything queued leaves: upstream
    /// queries first (a refused send fails over and may queue more), then replies.
    func endRound(now: MonotonicInstant) {
        perform(forwarder.expire(now: now))
        flushUpstreamQueries()
        udpReplies.flush()
    }

    /// Sends the queued upstream queries; one the kernel refused fails over now.
    func flushUpstreamQueries() {
        while transport.hasQueuedQueries {
            for token in transport.flushQueries() {
                perform(forwarder.handleUpstreamFailure(token: token, now: .now))
            }
        }
        transport.endRound()
    }

    func perform(_ actions: [Action]) {
        guard !actions.isEmpty else { return }
        var work = actions
        var next = 0
        while next < work.count {
            let action = work[next]
            next += 1
            switch action {
            case .reply(let client, let bytes, let details):
                switch client {
                case .udp(let address, let destination): udpReplies.send(bytes, from: destination, to: address)
                case .tcp(let connection, _, _): tcpReplies?.sendReply(bytes, connection: connection)
                }
                answers.record(client, details, byteCount: bytes.count)
            case .sendUpstream(let request):
                if let failed = transport.send(request) {
                    work += forwarder.handleUpstreamFailure(token: failed, now: .now)
                }
            case .closeUpstream(let token):
                transport.close(token: token)
            case .suspectForgery(let token):
                for waiting in transport.recordForgedReply(token: token, now: .now) {
                    work += forwarder.retryOverTCP(token: waiting, now: .now)
                }
            }
        }
    }
}
