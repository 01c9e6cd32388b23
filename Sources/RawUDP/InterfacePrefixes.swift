#if canImport(Glibc)
import Glibc
#endif

/// The prefixes configured on network interfaces (getifaddrs): where the
/// clients on a LAN interface come from.
public enum InterfacePrefixes {
    public static func of(interfaces names: [String]) throws(SystemCallError) -> [IPPrefix] {
        var list: UnsafeMutablePointer<ifaddrs>?
        _ = try systemCallOrThrow("getifaddrs") { getifaddrs(&list) }
        defer { freeifaddrs(list) }
        var prefixes: [IPPrefix] = []
        var cursor = list
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let name = entry.pointee.ifa_name, names.contains(String(cString: name)),
                  let address = entry.pointee.ifa_addr, let netmask = entry.pointee.ifa_netmask else { continue }
            let family = Int32(address.pointee.sa_family)
            let size = family == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size
            guard family == AF_INET || family == AF_INET6,
                  let host = IPEndpoint(sockaddr: UnsafeRawPointer(address), length: size),
                  let mask = IPEndpoint(sockaddr: UnsafeRawPointer(netmask), length: size) else { continue }
            let length: Int
            switch mask.address {
            case .v4(let bits): length = bits.value.nonzeroBitCount
            case .v6(let bits): length = bits.high.nonzeroBitCount + bits.low.nonzeroBitCount
            }
            if let prefix = IPPrefix(address: host.address, length: length), !prefixes.contains(prefix) {
                prefixes.append(prefix)
            }
        }
        return prefixes
    }
}
