import RawUDP

#if canImport(Glibc)
import Glibc
#endif

/// Sends `. NS` over UDP to every upstream at once and waits up to `timeout` seconds for
/// each to answer. From this host's own stack: the gateway's own queries are never diverted.
public enum UpstreamProbe {
    public enum Outcome: Equatable, Sendable {
        case answered(milliseconds: Int)
        case timedOut(seconds: Int)
        case refused
        case error(String)
    }

    public static func run(_ upstreams: [IPEndpoint], timeout: Int = 2) -> [(upstream: IPEndpoint, outcome: Outcome)] {
        var outcomes = [Outcome?](repeating: nil, count: upstreams.count)
        var sockets: [Int: ConnectedUDPSocket] = [:]
        var queries: [Int: DNSProbeQuery] = [:]
        let start = monotonicMilliseconds()
        for (index, upstream) in upstreams.enumerated() {
            let query = DNSProbeQuery(id: UInt16.random(in: 0...UInt16.max))
            do {
                let socket = try ConnectedUDPSocket(connectingTo: upstream)
                // Caught inside: a typed-throws closure here crashes the 6.3 compiler in IRGen.
                var sendError: (any Error)?
                query.bytes.withUnsafeBytes { bytes in
                    do { try socket.send(bytes) } catch { sendError = error }
                }
                if let sendError { throw sendError }
                sockets[index] = socket
                queries[index] = query
            } catch {
                outcomes[index] = .error("\(error)")
            }
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
        defer { buffer.deallocate() }
        while !sockets.isEmpty {
            let remaining = timeout * 1000 - (monotonicMilliseconds() - start)
            guard remaining > 0 else { break }
            let waiting = sockets.keys.sorted()
            var descriptors = waiting.map { pollfd(fd: sockets[$0]!.socket.rawValue, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&descriptors, nfds_t(descriptors.count), Int32(remaining))
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { break }
            for (slot, index) in waiting.enumerated() where descriptors[slot].revents != 0 {
                do {
                    // Drains what is queued; a stray datagram with another ID is skipped.
                    while let count = try sockets[index]!.receive(into: buffer) {
                        if queries[index]!.isAnswered(by: UnsafeRawBufferPointer(rebasing: buffer[..<min(count, buffer.count)])) {
                            outcomes[index] = .answered(milliseconds: monotonicMilliseconds() - start)
                            sockets[index] = nil
                            break
                        }
                    }
                } catch where error.errno == ECONNREFUSED {
                    outcomes[index] = .refused
                    sockets[index] = nil
                } catch {
                    outcomes[index] = .error("\(error)")
                    sockets[index] = nil
                }
            }
        }
        return upstreams.enumerated().map { ($0.element, outcomes[$0.offset] ?? .timedOut(seconds: timeout)) }
    }

    private static func monotonicMilliseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return now.tv_sec * 1000 + now.tv_nsec / 1_000_000
    }
}
