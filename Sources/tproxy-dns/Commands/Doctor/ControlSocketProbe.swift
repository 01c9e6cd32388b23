import DNSServer
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatewaySetup
import RawUDP

#if canImport(Glibc)
import Glibc
#endif

/// Asks a daemon's control socket for its stats, as `doctor` does: a running daemon that
/// answers is fine, a missing one is worth a warning, a stuck one a failure.
enum ControlSocketProbe {
    static func run(path: String, timeoutSeconds: Int = 2) -> (DoctorFinding, DaemonStats?) {
        guard FileManager.default.fileExists(atPath: path) else {
            return (.warn("no control socket at \(path): the daemon is not running, or runs with --no-control or another --control",
                          fix: "start tproxy-dns serve, or pass doctor --control PATH"), nil)
        }
        let socket: UnixStreamSocket
        do {
            socket = try UnixStreamSocket(connectingTo: path, timeoutSeconds: timeoutSeconds)
        } catch {
            switch error.errno {
            case ECONNREFUSED:
                return (.warn("control socket \(path) is stale: nothing listens (the daemon is not running)",
                              fix: "start tproxy-dns serve"), nil)
            case EACCES, EPERM:
                return (.warn("control socket \(path): permission denied", fix: "run doctor as the daemon's user (usually root)"), nil)
            default:
                return (.fail("control socket \(path): \(error)"), nil)
            }
        }
        var received: [UInt8] = []
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 8)
        defer { chunk.deallocate() }
        do {
            try socket.writeAll(ControlCodec.line(ControlRequest(command: .stats)))
            while !received.contains(0x0A) {
                // SO_RCVTIMEO turns a silent daemon into EAGAIN, which read reports as nil.
                guard let count = try socket.read(into: chunk), count > 0 else { break }
                received += chunk[..<count]
            }
        } catch {
            return (.fail("control socket \(path): \(error)", fix: "restart tproxy-dns serve"), nil)
        }
        guard let newline = received.firstIndex(of: 0x0A),
              let reply = try? ControlCodec.decode(ControlReply.self, from: received[..<newline]),
              let stats = reply.stats else {
            return (.fail("control socket \(path) accepted but gave no stats within \(timeoutSeconds) s: the daemon is stuck or is not tproxy-dns",
                          fix: "restart tproxy-dns serve"), nil)
        }
        return (.ok("daemon answers on \(path): up \(stats.uptimeSeconds) s, \(stats.answers.queries) queries, \(stats.upstreams.count) upstreams"), stats)
    }
}
