import DNSForward
import Logging
import RawUDP

#if canImport(Glibc)
import Glibc
#endif

/// The event loop: one thread, one epoll set holding the signal descriptor,
/// the TPROXY receiver and one connected socket per upstream attempt.
final class Daemon {
    private enum PollToken {
        static let signals: UInt64 = 0
        static let receiver: UInt64 = 1
        /// Upstream attempt tokens are offset past the fixed ones.
        static let upstreamBase: UInt64 = 16
    }

    private let receiver: TransparentUDPReceiver
    private let sender: RawReplySender
    private let signals: SignalDescriptor
    private let poller: EventPoller
    private let forwarder: Forwarder<ClientContext>
    private let upstreams: [IPEndpoint]
    private var upstreamSockets: [UInt64: ConnectedUDPSocket] = [:]
    private let upstreamBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_535, alignment: 8)
    private let logger: Logger
    private var running = true
    private var sendFailures = 0

    init(port: UInt16, upstreams: [IPEndpoint], configuration: ForwarderConfiguration, logger: Logger) throws {
        // Signals first: the mask must be in place before anything else runs.
        signals = try SignalDescriptor(signals: [SIGINT, SIGTERM])
        sender = try RawReplySender()
        receiver = try TransparentUDPReceiver(port: port)
        poller = try EventPoller()
        try poller.register(signals.descriptor.rawValue, token: PollToken.signals)
        try poller.register(receiver.socket.rawValue, token: PollToken.receiver)
        let fileLimit = try OpenFileLimit.raiseToHardLimit()
        self.upstreams = upstreams
        self.logger = logger
        forwarder = Forwarder(configuration: configuration, logger: logger)
        logger.info("listening", metadata: [
            "port": "\(port)", "dual_stack": "\(receiver.isDualStack)",
            "upstreams": "\(upstreams.map(\.description).joined(separator: " "))",
            "open_file_limit": "\(fileLimit)",
        ])
    }

    deinit { upstreamBuffer.deallocate() }

    func run() throws {
        while running {
            try poller.wait(timeoutMilliseconds: waitTimeout()) { token in
                switch token {
                case PollToken.signals: handleSignals()
                case PollToken.receiver: drainReceiver()
                default: drainUpstream(token: token - PollToken.upstreamBase)
                }
            }
            perform(forwarder.expire(now: .now))
        }
        for token in Array(upstreamSockets.keys) { closeUpstream(token: token) }
        let counters = forwarder.counters
        logger.info("stopped", metadata: [
            "queries": "\(counters.queries)", "answered": "\(counters.answered)",
            "servfail": "\(counters.serverFailures)", "timeouts": "\(counters.timeouts)",
            "rejected_replies": "\(counters.rejectedReplies)", "send_failures": "\(sendFailures)",
            "dropped_truncated": "\(receiver.drops.truncated)",
            "dropped_no_original_destination": "\(receiver.drops.missingOriginalDestination)",
        ])
    }

    private func waitTimeout() -> Int32 {
        guard let deadline = forwarder.nextDeadline else { return -1 }
        let remaining = ContinuousClock.now.duration(to: deadline)
        if remaining <= .zero { return 0 }
        let (seconds, attoseconds) = remaining.components
        // Round up so we never wake just before the deadline and spin.
        return Int32(clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
    }

    private func handleSignals() {
        do {
            while let signal = try signals.next() {
                logger.info("stopping", metadata: ["signal": "\(signal == SIGTERM ? "SIGTERM" : "SIGINT")"])
                running = false
            }
        } catch {
            logger.error("reading signals failed", metadata: ["error": "\(error)"])
            running = false
        }
    }

    private func drainReceiver() {
        // Bounded so a flood on the receiver cannot starve upstream replies.
        for _ in 0..<8 {
            do {
                let count = try receiver.receiveBatch { datagram in
                    let context = ClientContext(client: datagram.client, originalDestination: datagram.originalDestination)
                    perform(forwarder.handleQuery(datagram.payload, from: context, now: .now))
                }
                if count == 0 { return }
            } catch {
                logger.warning("receiving queries failed", metadata: ["error": "\(error)"])
                return
            }
        }
    }

    private func drainUpstream(token: UInt64) {
        while let socket = upstreamSockets[token] {
            let length: Int
            do {
                guard let received = try socket.receive(into: upstreamBuffer) else { return }
                length = received
            } catch {
                logger.debug("upstream socket error", metadata: ["upstream.address": "\(socket.remote)", "error": "\(error)"])
                perform(forwarder.handleUpstreamFailure(token: token, now: .now))
                return
            }
            // MSG_TRUNC reports the full length: a datagram over 64 KiB is not DNS over UDP.
            guard length <= upstreamBuffer.count else { continue }
            perform(forwarder.handleUpstreamReply(UnsafeRawBufferPointer(rebasing: upstreamBuffer[..<length]), token: token))
        }
    }

    private func perform(_ actions: [ForwarderAction<ClientContext>]) {
        for action in actions {
            switch action {
            case .reply(let context, let bytes, let code, let source):
                sendReply(bytes, to: context)
                if logger.logLevel <= .debug {
                    logger.debug("answered", metadata: [
                        "client": "\(context.client)", "original_destination": "\(context.originalDestination)",
                        "rcode": "\(code)", "source": "\(source)",
                    ])
                }
            case .sendUpstream(let token, let index, let bytes):
                openUpstream(token: token, index: index, bytes: bytes)
            case .closeUpstream(let token):
                closeUpstream(token: token)
            }
        }
    }

    private func openUpstream(token: UInt64, index: Int, bytes: [UInt8]) {
        let remote = upstreams[index]
        do {
            let socket = try ConnectedUDPSocket(connectingTo: remote)
            try poller.register(socket.socket.rawValue, token: token + PollToken.upstreamBase)
            upstreamSockets[token] = socket
            try bytes.withUnsafeBytes { try socket.send($0) }
        } catch {
            logger.debug("upstream send failed", metadata: ["upstream.address": "\(remote)", "error": "\(error)"])
            perform(forwarder.handleUpstreamFailure(token: token, now: .now))
        }
    }

    private func closeUpstream(token: UInt64) {
        guard let socket = upstreamSockets.removeValue(forKey: token) else { return }
        poller.unregister(socket.socket.rawValue)
    }

    private func sendReply(_ bytes: [UInt8], to context: ClientContext) {
        do {
            try bytes.withUnsafeBytes { try sender.send($0, from: context.originalDestination, to: context.client) }
        } catch let error as RawSendError where error.isTooLarge {
            // Larger than the route's MTU: the kernel does not fragment our own
            // headers, so send header + question with TC and let the client use TCP.
            guard let truncated = ResponseBuilder.truncated(reply: bytes), truncated.count < bytes.count else { return }
            sendReply(truncated, to: context)
        } catch {
            sendFailures += 1
            logger.warning("sending reply failed", metadata: ["client": "\(context.client)", "error": "\(error)"])
        }
    }
}
