#if canImport(Glibc)
import Glibc
#endif

/// Conversions between `IPEndpoint` and the kernel's sockaddr structures.
extension IPEndpoint {
    /// Reads a sockaddr_in or sockaddr_in6; v4-mapped IPv6 addresses become IPv4.
    /// Nil for other families or a length too short for the family.
    public init?(sockaddr pointer: UnsafeRawPointer, length: Int) {
        guard length >= MemoryLayout<sa_family_t>.size else { return nil }
        let family = Int32(pointer.loadUnaligned(as: sa_family_t.self))
        switch family {
        case AF_INET:
            guard length >= MemoryLayout<sockaddr_in>.size else { return nil }
            let address = pointer.loadUnaligned(as: sockaddr_in.self)
            self.init(address: .v4(IPv4Address(UInt32(bigEndian: address.sin_addr.s_addr))),
                      port: UInt16(bigEndian: address.sin_port))
        case AF_INET6:
            guard length >= MemoryLayout<sockaddr_in6>.size else { return nil }
            let address = pointer.loadUnaligned(as: sockaddr_in6.self)
            let v6 = withUnsafeBytes(of: address.sin6_addr) { IPv6Address(octets: $0) }
            self.init(address: IPAddress(normalizing: v6), port: UInt16(bigEndian: address.sin6_port))
        default:
            return nil
        }
    }

    /// Calls `body` with this endpoint as a sockaddr of its own family.
    public func withSockaddr<R, E: Error>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(E) -> R) throws(E) -> R {
        switch address {
        case .v4(let v4):
            var storage = sockaddr_in()
            storage.sin_family = sa_family_t(AF_INET)
            storage.sin_port = port.bigEndian
            storage.sin_addr.s_addr = v4.value.bigEndian
            return try withUnsafePointer(to: &storage) { (pointer) throws(E) -> R in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (address) throws(E) -> R in
                    try body(address, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        case .v6(let v6):
            var storage = sockaddr_in6()
            storage.sin6_family = sa_family_t(AF_INET6)
            storage.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &storage.sin6_addr) { bytes in
                bytes.storeBytes(of: v6.high.bigEndian, toByteOffset: 0, as: UInt64.self)
                bytes.storeBytes(of: v6.low.bigEndian, toByteOffset: 8, as: UInt64.self)
            }
            return try withUnsafePointer(to: &storage) { (pointer) throws(E) -> R in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (address) throws(E) -> R in
                    try body(address, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
    }
}
