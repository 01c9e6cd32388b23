import DNSForward
import Logging
import RawUDP

/// Intercepted UDP queries: a batch from the TPROXY socket, each admitted or
/// not, answered from the cache straight into the reply buffer when it can be
/// (no allocation, no parse), otherwise handed to the pipeline. Its replies
/// leave through the pipeline's raw sender at the end of the round.
final class UDPFrontEnd: EventHandler {
    let receiver: TransparentUDPReceiver
    private let pipeline: QueryPipeline
    private let admission: AdmissionGate
    /// Failures can repeat per packet: rate-limited.
    private let warnings: RateLimitedLogger
    /// Socket-per-source sockets, by registration (they receive queries too).
    private var sourceSockets: [LoopRegistration: TransparentUDPReceiver] = [:]
    /// Where the cache-hit fast path writes a reply (at most --max-udp-size, 4096).
    private let replyBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
    private var receiverRegistration: LoopRegistration?

    init(receiver: TransparentUDPReceiver, pipeline: QueryPipeline, admission: AdmissionGate, loop: EventLoop,
         warnings: RateLimitedLogger) throws(SystemCallError) {
        self.admission = admission
        self.receiver = receiver
        self.pipeline = pipeline
        self.warnings = warnings
        receiverRegistration = try loop.register(receiver.socket.rawValue, handler: self)
        pipeline.udpReplies.sourceSockets?.opened = { [unowned self] socket in
            sourceSockets[try loop.register(socket.socket.rawValue, handler: self)] = socket
        }
    }

    deinit { replyBuffer.deallocate() }

    /// Datagrams dropped before parsing, this receiver's and the source sockets'.
    var drops: ReceiverDropCounts {
        sourceSockets.values.reduce(into: receiver.drops) { total, socket in
            total.truncated += socket.drops.truncated
            total.missingOriginalDestination += socket.drops.missingOriginalDestination
        }
    }

    func handle(_ event: EventPoller.Event, on registration: LoopRegistration) {
        if registration == receiverRegistration {
            drain(receiver)
        } else if let socket = sourceSockets[registration] {
            drain(socket)
        }
    }

    private func drain(_ receiver: TransparentUDPReceiver) {
        // Bounded so a flood on the receiver cannot starve upstream replies.
        for _ in 0..<8 {
            do {
                let count = try receiver.receiveBatch { datagram in answer(datagram) }
                // This batch's misses leave now, not after the rest of the round.
                pipeline.flushUpstreamQueries()
                // A short batch means the queue is empty: don't spend a syscall to hear EAGAIN.
                if count < receiver.batchSize { return }
            } catch {
                warnings.warning("receiving queries failed", metadata: ["error": "\(error)"])
                return
            }
        }
    }

    private func answer(_ datagram: InterceptedDatagram) {
        let now = MonotonicInstant.now
        switch admission.admit(datagram.client.address, now: now) {
        case .admit:
            if !answerFromCache(datagram, now: now) {
                pipeline.submit(datagram.payload, from: .udp(client: datagram.client, originalDestination: datagram.originalDestination),
                                now: now)
            }
        case .refuse:
            if let refusal = ResponseBuilder.refusal(forQuery: datagram.payload) {
                pipeline.udpReplies.send(refusal, from: datagram.originalDestination, to: datagram.client)
                pipeline.answers.recordRefusal()
            }
        case .drop:
            break
        }
    }

    private func answerFromCache(_ datagram: InterceptedDatagram, now: MonotonicInstant) -> Bool {
        let endpoints = PolicyEndpoints(client: PolicyAddress(datagram.client.address),
                                        target: PolicyAddress(datagram.originalDestination.address))
        guard let hit = pipeline.forwarder.answerFromCache(datagram.payload, now: now, into: replyBuffer, endpoints: endpoints)
        else { return false }
        pipeline.countAsker(datagram.payload, client: datagram.client.address, originalDestination: datagram.originalDestination.address)
        pipeline.udpReplies.send(UnsafeRawBufferPointer(rebasing: replyBuffer[..<hit.length]),
                                 from: datagram.originalDestination, to: datagram.client)
        let client = ClientContext.udp(client: datagram.client, originalDestination: datagram.originalDestination)
        if pipeline.answers.logsEveryAnswer {
            let question = ClientQueryParser.question(of: datagram.payload)
            pipeline.answers.record(client, ReplyDetails(code: hit.code, source: .cache, question: question, receivedAt: now,
                                                         rule: hit.rule),
                                    byteCount: hit.length)
        } else {
            pipeline.answers.count(hit.code)
        }
        // The reply is queued: the refresh this hit claimed can take its time.
        if hit.prefetch { pipeline.prefetch(datagram.payload, endpoints: endpoints, now: now) }
        return true
    }
}
