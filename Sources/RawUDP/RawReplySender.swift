#if canImport(Glibc)
import Glibc
#endif

/// Why a raw reply was not sent.
public enum RawSendError: Error, Equatable, Sendable, CustomStringConvertible {
    case build(DatagramBuildError)
    case system(SystemCallError)
    /// The host has no raw socket of that family (IPv6 disabled, say).
    case familyUnavailable(ipv4: Bool)

    /// The packet exceeds the route's MTU: raw sockets with our own header are
    /// never fragmented by the kernel. The caller should send something smaller.
    public var isTooLarge: Bool {
        switch self {
        case .build(.payloadTooLarge): return true
        case .system(let error): return error.errno == EMSGSIZE
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .build(let error): return "building the reply datagram failed: \(error)"
        case .system(let error): return error.description
        case .familyUnavailable(let ipv4): return "no raw \(ipv4 ? "IPv4" : "IPv6") socket"
        }
    }
}

/// Sends UDP replies with any source address through one IPPROTO_RAW socket per
/// family, building the IP and UDP headers itself: no socket or bind per spoofed
/// source, no NAT. Needs CAP_NET_RAW.
public final class RawReplySender {
    private let ipv4: OwnedFileDescriptor
    private let ipv6: OwnedFileDescriptor?
    /// ipv6's descriptor, readable without borrowing the non-copyable optional.
    private let ipv6Descriptor: Int32?
    private let buffer: UnsafeMutableRawBufferPointer
    private let batch4 = RawSendBatch()
    private let batch6 = RawSendBatch()
    /// Failures of a flush forced by a full batch, reported with the next
    /// `flush` (with a copy of their payload: the slots are reused by then).
    private var deferredFailures: [(Int, RawSendError, [UInt8])] = []

    /// `mark`: the SO_MARK (fwmark) every reply carries, so policy routing can
    /// steer replies (keep them off a VPN's table, say); nil leaves it unset.
    /// Setting it needs CAP_NET_ADMIN.
    public init(mark: UInt32? = nil) throws(SystemCallError) {
        // IPPROTO_RAW implies IP_HDRINCL (and its IPv6 equivalent): we write the IP header.
        let rawType = Int32(SOCK_RAW.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        ipv4 = try makeSocket(family: AF_INET, type: rawType, protocol: Int32(IPPROTO_RAW), call: "socket(AF_INET, SOCK_RAW, IPPROTO_RAW)")
        SocketBuffer.send.request(4 << 20, on: ipv4)
        if let mark { try ipv4.setOption(level: SOL_SOCKET, name: SO_MARK, value: Int32(bitPattern: mark), call: "setsockopt(SO_MARK)") }
        do {
            let socket6 = try makeSocket(family: AF_INET6, type: rawType, protocol: Int32(IPPROTO_RAW), call: "socket(AF_INET6, SOCK_RAW, IPPROTO_RAW)")
            SocketBuffer.send.request(4 << 20, on: socket6)
            if let mark {
                try socket6.setOption(level: SOL_SOCKET, name: SO_MARK, value: Int32(bitPattern: mark), call: "setsockopt(SO_MARK)")
            }
            ipv6Descriptor = socket6.rawValue
            ipv6 = .some(consume socket6)
        } catch where error.errno == EAFNOSUPPORT {
            ipv6Descriptor = nil
            ipv6 = nil
        }
        buffer = .allocate(byteCount: 65_535 + UDPDatagramBuilder.headerLength(ipv4: false), alignment: 8)
    }

    deinit { buffer.deallocate() }

    /// Sends `payload` as a UDP datagram from `source` to `destination`.
    public func send(_ payload: UnsafeRawBufferPointer, from source: IPEndpoint, to destination: IPEndpoint) throws(RawSendError) {
        let length: Int
        do {
            length = try UDPDatagramBuilder.write(from: source, to: destination, payload: payload, into: buffer)
        } catch {
            throw .build(error)
        }
        let isV4 = destination.address.isIPv4
        let fd: Int32
        if isV4 {
            fd = ipv4.rawValue
        } else if let ipv6Descriptor {
            fd = ipv6Descriptor
        } else {
            throw .familyUnavailable(ipv4: false)
        }
        // The kernel routes by the sockaddr; the port must be 0 for raw sockets.
        let target = IPEndpoint(address: destination.address, port: 0)
        let base = UnsafeRawPointer(buffer.baseAddress!)
        do {
            _ = try target.withSockaddr { address, addressLength throws(SystemCallError) in
                try systemCallOrThrow(isV4 ? "sendto(raw IPv4)" : "sendto(raw IPv6)") {
                    sendto(fd, base, length, Int32(MSG_DONTWAIT), address, addressLength)
                }
            }
        } catch {
            throw .system(error)
        }
    }

    /// Queues a reply for the next `flush()`; a reply too large for a batch
    /// slot, or arriving when the batch is full, is sent at once. Errors that
    /// surface only at send time are reported by `flush` with `ordinal`.
    public func enqueue(_ payload: UnsafeRawBufferPointer, from source: IPEndpoint, to destination: IPEndpoint,
                        ordinal: Int) throws(RawSendError) {
        let isV4 = destination.address.isIPv4
        if !isV4, ipv6Descriptor == nil { throw .familyUnavailable(ipv4: false) }
        let batch = isV4 ? batch4 : batch6
        guard payload.count + UDPDatagramBuilder.headerLength(ipv4: isV4) <= batch.slotSize else {
            try send(payload, from: source, to: destination)
            return
        }
        if batch.isFull { flush(batch, isV4: isV4) { deferredFailures.append(($0, $1, Array($2))) } }
        do {
            try batch.append(payload, from: source, to: destination, ordinal: ordinal)
        } catch {
            throw .build(error)
        }
    }

    /// Sends every queued reply (one sendmmsg per family) and reports the ones
    /// the kernel refused, by the ordinal they were queued with, and with
    /// their UDP payload (valid during the call), so the caller can send
    /// something else instead without keeping its own copy of every reply.
    public func flush(_ failure: (Int, RawSendError, UnsafeRawBufferPointer) -> Void) {
        for (ordinal, error, payload) in deferredFailures { payload.withUnsafeBytes { failure(ordinal, error, $0) } }
        deferredFailures.removeAll()
        flush(batch4, isV4: true, failure)
        flush(batch6, isV4: false, failure)
    }

    private func flush(_ batch: RawSendBatch, isV4: Bool, _ failure: (Int, RawSendError, UnsafeRawBufferPointer) -> Void) {
        guard batch.count > 0 else { return }
        guard let fd = isV4 ? ipv4.rawValue : ipv6Descriptor else { return }
        let headers = UDPDatagramBuilder.headerLength(ipv4: isV4)
        batch.flush(on: fd, call: isV4 ? "sendmmsg(raw IPv4)" : "sendmmsg(raw IPv6)") { ordinal, error, datagram in
            failure(ordinal, .system(error), UnsafeRawBufferPointer(rebasing: datagram[headers...]))
        }
    }
}
