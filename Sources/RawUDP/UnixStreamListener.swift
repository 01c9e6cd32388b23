import CRawUDP
#if canImport(Glibc)
import Glibc
#endif

/// A Unix stream socket for the control protocol. Its file is created with
/// mode 0600, so the kernel refuses connections from any other user (connect
/// needs write permission on the socket file); no credential check in code.
public final class UnixStreamListener {
    public let socket: OwnedFileDescriptor
    public let path: String

    /// Binds `path`, replacing a stale socket file but never a live one.
    public init(path: String, backlog: Int32 = 16) throws(SystemCallError) {
        guard path.utf8.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else {
            throw SystemCallError(call: "bind(\(path)): path too long", errno: ENAMETOOLONG)
        }
        if (try? UnixStreamSocket(connectingTo: path)) != nil {
            throw SystemCallError(call: "bind(\(path)): another daemon answers there", errno: EADDRINUSE)
        }
        unlink(path)
        let fd = try makeSocket(family: AF_UNIX, type: Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue),
                                protocol: 0, call: "socket(AF_UNIX)")
        // umask makes the file 0600 from the moment it exists: no window in
        // which another user could connect before a chmod.
        let previous = umask(0o177)
        defer { umask(previous) }
        let raw = fd.rawValue
        _ = try withUnixAddress(path) { address, length throws(SystemCallError) in
            try systemCallOrThrow("bind(\(path))") { bind(raw, address, length) }
        }
        _ = try systemCallOrThrow("listen(\(path))") { listen(raw, backlog) }
        socket = fd
        self.path = path
    }

    deinit { unlink(path) }

    public func accept() throws(SystemCallError) -> UnixStreamSocket? {
        let listener = socket.rawValue
        guard let fd = try systemCall("accept4(control)", wouldBlockIsNil: true, {
            CRawUDPAccept.accept4(listener)
        }) else { return nil }
        return UnixStreamSocket(socket: OwnedFileDescriptor(taking: fd))
    }
}

/// One end of a control connection: the daemon's accepted socket (non-blocking)
/// or the CLI's connected one (blocking, with a timeout).
public final class UnixStreamSocket {
    public let socket: OwnedFileDescriptor

    init(socket: consuming OwnedFileDescriptor) { self.socket = socket }

    /// Connects (blocking) to a daemon's control socket.
    public convenience init(connectingTo path: String, timeoutSeconds: Int = 10) throws(SystemCallError) {
        let fd = try makeSocket(family: AF_UNIX, type: Int32(SOCK_STREAM.rawValue), protocol: 0, call: "socket(AF_UNIX)")
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        _ = setsockopt(fd.rawValue, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd.rawValue, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let raw = fd.rawValue
        _ = try withUnixAddress(path) { address, length throws(SystemCallError) in
            try systemCallOrThrow("connect(\(path))") { connect(raw, address, length) }
        }
        self.init(socket: fd)
    }

    /// Bytes read; 0 at end of stream; nil when nothing is pending (non-blocking only).
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemCallError) -> Int? {
        try socket.readStream(into: buffer, call: "read(control)")
    }

    /// Writes from `offset`; returns bytes written, nil when the buffer is full.
    public func write(_ bytes: [UInt8], from offset: Int) throws(SystemCallError) -> Int? {
        try socket.sendStream(bytes, from: offset, call: "send(control)")
    }

    /// Blocking write of everything (CLI side).
    public func writeAll(_ bytes: [UInt8]) throws(SystemCallError) {
        var offset = 0
        while offset < bytes.count {
            guard let written = try write(bytes, from: offset) else {
                throw SystemCallError(call: "send(control)", errno: EAGAIN)
            }
            offset += written
        }
    }
}

private func withUnixAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) throws(SystemCallError) -> R) throws(SystemCallError) -> R {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { bytes in
        let utf8 = Array(path.utf8)
        bytes.copyBytes(from: utf8.prefix(bytes.count - 1))
        bytes[min(utf8.count, bytes.count - 1)] = 0
    }
    return try withUnsafePointer(to: &address) { (pointer) throws(SystemCallError) -> R in
        try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (raw) throws(SystemCallError) -> R in
            try body(raw, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
}

private enum CRawUDPAccept {
    static func accept4(_ listener: Int32) -> Int32 {
        CRawUDP_accept4(listener, nil, nil, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
    }
}
