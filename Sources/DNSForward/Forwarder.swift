import Logging

/// The forwarding state machine: client queries in, upstream queries and
/// client replies out. Single-threaded by design (one event loop owns it);
/// time comes in as `now`, so tests drive it without sockets or sleeping.
public final class Forwarder<Client: Sendable> {
    public typealias Action = ForwarderAction<Client>

    private struct Pending {
        let client: Client
        let query: ClientQuery
        var upstream: Int
        var upstreamID: UInt16
        var deadline: ContinuousClock.Instant
        /// Upstreams tried so far for this query, including the current one.
        var attempts: Int
    }

    public struct Counters: Sendable {
        public var queries = 0
        public var forwarded = 0
        public var answered = 0
        public var rejectedReplies = 0
        public var timeouts = 0
        public var serverFailures = 0
        public var overloaded = 0
    }

    public let configuration: ForwarderConfiguration
    public private(set) var counters = Counters()
    private var pending: [UInt64: Pending] = [:]
    private var deadlines = DeadlineQueue()
    private var nextToken: UInt64 = 1
    private let makeID: () -> UInt16
    private let logger: Logger

    public init(configuration: ForwarderConfiguration, logger: Logger,
                makeID: @escaping () -> UInt16 = { UInt16.random(in: 0...UInt16.max) }) {
        self.configuration = configuration
        self.logger = logger
        self.makeID = makeID
    }

    public var inFlight: Int { pending.count }

    /// When `expire` next has work, for the event loop's wait timeout.
    public var nextDeadline: ContinuousClock.Instant? {
        while let head = deadlines.first, pending[head.token]?.deadline != head.deadline {
            deadlines.removeFirst()
        }
        return deadlines.first?.deadline
    }

    public func handleQuery(_ wire: UnsafeRawBufferPointer, from client: Client, now: ContinuousClock.Instant) -> [Action] {
        counters.queries += 1
        switch ClientQueryParser.classify(wire) {
        case .drop(let reason):
            logger.debug("dropped client datagram", metadata: ["reason": "\(reason)"])
            return []
        case .respond(let bytes, let code):
            return [.reply(to: client, bytes: bytes, code: code, source: .daemon)]
        case .forward(let query):
            guard pending.count < configuration.maximumInFlight else {
                counters.overloaded += 1
                counters.serverFailures += 1
                return [.reply(to: client, bytes: ResponseBuilder.serverFailure(for: query), code: .serverFailure, source: .daemon)]
            }
            let token = nextToken
            nextToken += 1
            let entry = Pending(client: client, query: query, upstream: 0, upstreamID: makeID(),
                                deadline: now + configuration.upstreamTimeout, attempts: 1)
            pending[token] = entry
            deadlines.append(token: token, deadline: entry.deadline)
            counters.forwarded += 1
            return [.sendUpstream(token: token, upstream: 0, bytes: upstreamWire(for: entry))]
        }
    }

    /// A datagram arrived on the socket of attempt `token`.
    public func handleUpstreamReply(_ wire: UnsafeRawBufferPointer, token: UInt64) -> [Action] {
        guard let entry = pending[token] else { return [] }
        switch UpstreamReplyValidator.validate(wire, expectedID: entry.upstreamID, question: entry.query.question) {
        case .reject(let reason):
            counters.rejectedReplies += 1
            logger.debug("rejected upstream reply", metadata: [
                "query.name": "\(entry.query.question.name)", "upstream.index": "\(entry.upstream)", "reason": "\(reason)",
            ])
            return []
        case .accept:
            pending[token] = nil
            counters.answered += 1
            var reply = Array(wire)
            DNSHeader.setID(entry.query.id, in: &reply)
            let code = DNSHeader(wire: wire)?.responseCode ?? .noError
            if reply.count > entry.query.maximumUDPReply, let cut = ResponseBuilder.truncated(reply: reply) {
                reply = cut
            }
            return [.closeUpstream(token: token),
                    .reply(to: entry.client, bytes: reply, code: code, source: .upstream(entry.upstream))]
        }
    }

    /// The attempt's socket reported an error (ICMP unreachable, say): move on
    /// to the next upstream now instead of waiting for the timeout.
    public func handleUpstreamFailure(token: UInt64, now: ContinuousClock.Instant) -> [Action] {
        guard let entry = pending.removeValue(forKey: token) else { return [] }
        return [.closeUpstream(token: token)] + retryOrFail(entry, now: now)
    }

    /// Attempts whose deadline passed: try the next upstream or answer SERVFAIL.
    public func expire(now: ContinuousClock.Instant) -> [Action] {
        var actions: [Action] = []
        while let head = deadlines.first, head.deadline <= now {
            deadlines.removeFirst()
            guard let entry = pending[head.token], entry.deadline == head.deadline else { continue }
            pending[head.token] = nil
            counters.timeouts += 1
            logger.debug("upstream timed out", metadata: [
                "query.name": "\(entry.query.question.name)", "upstream.index": "\(entry.upstream)",
            ])
            actions.append(.closeUpstream(token: head.token))
            actions += retryOrFail(entry, now: now)
        }
        return actions
    }

    private func retryOrFail(_ entry: Pending, now: ContinuousClock.Instant) -> [Action] {
        guard entry.attempts < configuration.upstreamCount else {
            counters.serverFailures += 1
            return [.reply(to: entry.client, bytes: ResponseBuilder.serverFailure(for: entry.query),
                           code: .serverFailure, source: .daemon)]
        }
        var next = entry
        next.upstream = (entry.upstream + 1) % configuration.upstreamCount
        next.upstreamID = makeID()
        next.deadline = now + configuration.upstreamTimeout
        next.attempts += 1
        let token = nextToken
        nextToken += 1
        pending[token] = next
        deadlines.append(token: token, deadline: next.deadline)
        return [.sendUpstream(token: token, upstream: next.upstream, bytes: upstreamWire(for: next))]
    }

    /// The client's query with a fresh ID (RFC 5452 9.2): the client's own ID
    /// is predictable to anyone on the LAN and must not reach the upstream path.
    private func upstreamWire(for entry: Pending) -> [UInt8] {
        var wire = entry.query.wire
        DNSHeader.setID(entry.upstreamID, in: &wire)
        return wire
    }
}
