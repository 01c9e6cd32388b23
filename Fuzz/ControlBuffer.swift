// Fuzz target `cmsg`: RawUDP's control-message walk over any recvmsg control
// area. Compiled with Sources/RawUDP and the CRawUDP shim by scripts/fuzz.sh.
//
// The input is copied into a buffer of exactly its size with cmsghdr
// alignment, as the kernel's would be, so ASan sees any read past the end.
// Invariants: every message's data lies inside the buffer and matches its
// cmsg_len; the walk ends; OriginalDestination.find returns only an address
// some IP_ORIGDSTADDR / IPV6_ORIGDSTADDR message holds.

import CRawUDP
#if canImport(Glibc)
import Glibc
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzControlBuffer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: MemoryLayout<cmsghdr>.alignment)
    defer { buffer.deallocate() }
    if size > 0 { buffer.copyMemory(from: UnsafeRawBufferPointer(start: data, count: size)) }
    let control = UnsafeRawBufferPointer(buffer)
    let messages = ControlMessages(buffer: control)

    let headerLength = CRawUDP_CMSG_LEN(0)
    var count = 0
    var checksum: UInt8 = 0
    var origins = 0
    for message in messages {
        count += 1
        // A message needs at least a header, so there can't be more than this many.
        guard count <= size / headerLength else { fuzzFailure("\(count) messages in a \(size)-byte buffer") }
        if message.data.count > 0 {
            guard let base = message.data.baseAddress, let start = control.baseAddress,
                  base >= start, base + message.data.count <= start + size else {
                fuzzFailure("message data outside the control buffer (\(message.data.count) bytes)")
            }
        }
        // Touch every byte: ASan reports any that is not ours.
        for byte in message.data { checksum &+= byte }
        let isV4 = message.level == IPPROTO_IP && message.type == CRawUDP_IP_ORIGDSTADDR
        let isV6 = message.level == IPPROTO_IPV6 && message.type == CRawUDP_IPV6_ORIGDSTADDR
        if (isV4 || isV6), let base = message.data.baseAddress,
           IPEndpoint(sockaddr: base, length: message.data.count) != nil {
            origins += 1
        }
    }
    let found = OriginalDestination.find(in: messages)
    if (found != nil) != (origins > 0) {
        fuzzFailure("find returned \(found.map(\.description) ?? "nil") with \(origins) usable origin messages")
    }
    fuzzTrace("cmsg: \(count) messages, \(origins) origins, found \(found.map(\.description) ?? "nil"), sum \(checksum)")
    return 0
}
