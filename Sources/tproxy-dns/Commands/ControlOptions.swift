import DNSServer
import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RawUDP

#if canImport(Glibc)
import Glibc
#endif

/// Flags every control-socket client command shares.
struct ControlOptions: ParsableArguments {
    static let defaultPath = "/run/tproxy-dns/control.sock"

    @Option(help: ArgumentHelp("The daemon's control socket.", valueName: "path"))
    var control: String = ControlOptions.defaultPath

    @Flag(help: "Print JSON (one object per line) instead of a table.")
    var json = false

    /// Sends one request and returns the reply lines, ending at `done` or `error`.
    /// Connection problems become one line saying what to do, and exit status 2.
    func exchange(_ request: ControlRequest, onReply: (ControlReply) throws -> Void) throws {
        let socket: UnixStreamSocket
        do {
            socket = try UnixStreamSocket(connectingTo: control)
        } catch {
            switch error.errno {
            case ENOENT:
                printError("tproxy-dns: no control socket at \(control): is `tproxy-dns serve` running? (or pass --control PATH)")
            case ECONNREFUSED:
                printError("tproxy-dns: nothing listens on \(control): the daemon is not running (stale socket file)")
            case EACCES, EPERM:
                printError("tproxy-dns: permission denied on \(control): run as the daemon's user (usually root)")
            default:
                printError("tproxy-dns: cannot reach the daemon at \(control): \(error)")
            }
            throw ExitCode(2)
        }
        do {
            try socket.writeAll(ControlCodec.line(request))
        } catch {
            printError("tproxy-dns: sending to the daemon failed: \(error)")
            throw ExitCode(2)
        }
        var buffer: [UInt8] = []
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 8)
        defer { chunk.deallocate() }
        while true {
            while let newline = buffer.firstIndex(of: 0x0A) {
                let line = buffer[..<newline]
                let reply: ControlReply
                do {
                    reply = try ControlCodec.decode(ControlReply.self, from: line)
                } catch {
                    printError("tproxy-dns: unreadable reply from the daemon: \(error)")
                    throw ExitCode(2)
                }
                buffer.removeSubrange(...newline)
                if let message = reply.error {
                    printError("tproxy-dns: \(message)")
                    throw ExitCode(1)
                }
                try onReply(reply)
                if reply.done != nil || reply.stats != nil { return }
            }
            let read: Int?
            do {
                read = try socket.read(into: chunk)
            } catch {
                printError("tproxy-dns: reading from the daemon failed: \(error)")
                throw ExitCode(2)
            }
            guard let read, read > 0 else {
                printError("tproxy-dns: the daemon closed the connection before answering")
                throw ExitCode(2)
            }
            buffer += chunk[..<read]
        }
    }
}
