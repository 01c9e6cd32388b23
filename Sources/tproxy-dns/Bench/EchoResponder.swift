import RawUDP

#if canImport(Glibc)
import Glibc
#endif

/// The echo loop's state, kept in a class so the receive and poll callbacks
/// mutate properties rather than captured locals.
final class EchoResponder {
    let receiver: TransparentUDPReceiver
    let sender: RawReplySender
    /// A datagram larger than a receiver slot never reaches us (MSG_TRUNC), so one slot's size is enough.
    let reply = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
    var answered = 0
    var tooShort = 0
    var sendFailures = 0

    init(receiver: TransparentUDPReceiver, sender: RawReplySender) {
        self.receiver = receiver
        self.sender = sender
    }

    deinit { reply.deallocate() }

    /// Bounded like the daemon's drain, so a flood cannot starve the signal check.
    func drain() {
        for _ in 0..<8 {
            do {
                let count = try receiver.receiveBatch { datagram in echo(datagram) }
                if count < receiver.batchSize { return }
            } catch {
                return
            }
        }
    }

    private var running = true

    func run(poller: EventPoller, signals: SignalDescriptor, signalToken: UInt64) throws {
        while running {
            try poller.wait(timeoutMilliseconds: -1) { event in
                if event.token == signalToken {
                    if Self.stopRequested(by: signals) { running = false }
                } else {
                    drain()
                }
            }
        }
    }

    /// A worker thread's loop: signals go to the main thread, which stops the
    /// workers through a `WakeEvent` registered here under `stopToken`.
    func run(poller: EventPoller, stopToken: UInt64) throws(SystemCallError) {
        while running {
            try poller.wait(timeoutMilliseconds: -1) { event in
                if event.token == stopToken {
                    running = false
                } else {
                    drain()
                }
            }
        }
    }

    /// Reads every pending signal: true once SIGINT or SIGTERM arrived, or
    /// reading them failed.
    static func stopRequested(by signals: SignalDescriptor) -> Bool {
        var stop = false
        do {
            while let signal = try signals.next() {
                if signal == SIGINT || signal == SIGTERM { stop = true }
            }
        } catch {
            stop = true
        }
        return stop
    }

    /// The counts printed when the loop stops.
    var summary: String {
        "answered \(answered), too short \(tooShort), send failures \(sendFailures), dropped truncated \(receiver.drops.truncated), no original destination \(receiver.drops.missingOriginalDestination)"
    }

    private func echo(_ datagram: InterceptedDatagram) {
        // A DNS header is 12 octets; QR is the top bit of octet 2 (RFC 1035 4.1.1).
        guard datagram.payload.count >= 12, datagram.payload.count <= reply.count else {
            tooShort += 1
            return
        }
        reply.copyMemory(from: datagram.payload)
        reply[2] |= 0x80
        do {
            try sender.send(UnsafeRawBufferPointer(rebasing: reply[0..<datagram.payload.count]),
                            from: datagram.originalDestination, to: datagram.client)
            answered += 1
        } catch {
            sendFailures += 1
        }
    }
}
