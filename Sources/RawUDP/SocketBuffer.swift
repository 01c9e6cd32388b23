#if canImport(Glibc)
import Glibc
#endif

/// A socket's kernel buffer, asked for past `net.core.rmem_max`/`wmem_max`.
///
/// The plain SO_RCVBUF/SO_SNDBUF are capped at those sysctls without a word:
/// 212,992 bytes on a stock kernel, often less on a router, so a 4 MiB request
/// quietly became a twentieth of what was meant. The FORCE variants lift the cap for
/// CAP_NET_ADMIN, which the daemon holds anyway (transparent sockets need it);
/// without it the capped request is still made.
public enum SocketBuffer {
    case receive, send

    private var forced: Int32 { self == .receive ? SO_RCVBUFFORCE : SO_SNDBUFFORCE }
    private var plain: Int32 { self == .receive ? SO_RCVBUF : SO_SNDBUF }

    /// Asks for `bytes`; returns what the kernel granted (it reports double the
    /// request, the other half being its bookkeeping), or nil when it says nothing.
    @discardableResult
    func request(_ bytes: Int32, on socket: borrowing OwnedFileDescriptor) -> Int? {
        if (try? socket.setOption(level: SOL_SOCKET, name: forced, value: bytes, call: "setsockopt(SO_*BUFFORCE)")) == nil {
            try? socket.setOption(level: SOL_SOCKET, name: plain, value: bytes, call: "setsockopt(SO_*BUF)")
        }
        var granted: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(socket.rawValue, SOL_SOCKET, plain, &granted, &length) == 0 else { return nil }
        return Int(granted)
    }
}
