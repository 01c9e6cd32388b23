import ArgumentParser
import RawUDP

#if canImport(Glibc)
import Glibc
#endif

/// `tproxy-dns bench-limit`: the ceiling row of `scripts/bench.sh`. It does the
/// daemon's packet I/O and nothing else: a recvmmsg batch from the TPROXY
/// receiver, the QR bit set on each query, the query sent back raw from the
/// address the client targeted. No parsing, cache or upstream, so the gap
/// between this row and `serve` is the cost of the DNS work.
struct LimitResponderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-limit",
        abstract: "Benchmark ceiling: echo every intercepted query back with QR set, no DNS work.",
        shouldDisplay: false
    )

    @Option(help: "Port the TPROXY rule delivers to.")
    var port: UInt16 = 5353

    private enum PollToken {
        static let signals: UInt64 = 0
        static let receiver: UInt64 = 1
    }

    func run() throws {
        // Signals first, as in `serve`: the mask must be in place before anything else.
        let signals = try SignalDescriptor(signals: [SIGINT, SIGTERM])
        let sender: RawReplySender
        let receiver: TransparentUDPReceiver
        do {
            sender = try RawReplySender()
            receiver = try TransparentUDPReceiver(port: port)
        } catch {
            // One exhaustive catch on purpose: Swift 6.3.1 hangs in SIL passes on a
            // `let` initialised in a `do` whose catches don't cover every error.
            if error.isPermissionDenied {
                printError("tproxy-dns bench-limit: needs CAP_NET_ADMIN and CAP_NET_RAW: run as root (\(error))")
                throw ExitCode(77)
            }
            throw error
        }
        let poller = try EventPoller()
        try poller.register(signals.descriptor.rawValue, token: PollToken.signals)
        try poller.register(receiver.socket.rawValue, token: PollToken.receiver)
        let echo = EchoResponder(receiver: receiver, sender: sender)
        printError("tproxy-dns bench-limit: listening on port \(port)")
        try echo.run(poller: poller, signals: signals, signalToken: PollToken.signals)
        printError("tproxy-dns bench-limit: stopped; answered \(echo.answered), too short \(echo.tooShort), send failures \(echo.sendFailures), dropped truncated \(receiver.drops.truncated), no original destination \(receiver.drops.missingOriginalDestination)")
    }
}

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
                    readSignals(signals)
                } else {
                    drain()
                }
            }
        }
    }

    /// Stops once SIGINT or SIGTERM arrived.
    private func readSignals(_ signals: SignalDescriptor) {
        do {
            while let signal = try signals.next() {
                if signal == SIGINT || signal == SIGTERM { running = false }
            }
        } catch {
            running = false
        }
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
