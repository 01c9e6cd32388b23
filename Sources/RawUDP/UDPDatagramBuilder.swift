/// Why a datagram could not be built. The caller decides what to send instead
/// (a truncated DNS reply, say); nothing here traps on input sizes.
public enum DatagramBuildError: Error, Equatable, Sendable {
    /// The payload does not fit in one UDP datagram of this family.
    case payloadTooLarge(length: Int, limit: Int)
    /// Source and destination are of different families.
    case mixedFamilies(source: IPAddress, destination: IPAddress)
    /// The output buffer cannot hold headers plus payload.
    case bufferTooSmall(needed: Int, available: Int)
}

/// Writes complete IPv4 or IPv6 + UDP datagrams for an IPPROTO_RAW socket,
/// with the addresses chosen by us (the spoofed source is the address the
/// client targeted).
public enum UDPDatagramBuilder {
    public static let ipv4HeaderLength = 20
    public static let ipv6HeaderLength = 40
    public static let udpHeaderLength = 8

    /// Largest payload one datagram of the family can carry: the IPv4 total length
    /// and the UDP length fields are both 16 bits (no jumbograms).
    public static func maximumPayload(ipv4: Bool) -> Int {
        ipv4 ? 65_535 - ipv4HeaderLength - udpHeaderLength : 65_535 - udpHeaderLength
    }

    public static func headerLength(ipv4: Bool) -> Int {
        (ipv4 ? ipv4HeaderLength : ipv6HeaderLength) + udpHeaderLength
    }

    /// Writes the datagram at the start of `buffer`; returns its length.
    public static func write(
        from source: IPEndpoint,
        to destination: IPEndpoint,
        payload: UnsafeRawBufferPointer,
        into buffer: UnsafeMutableRawBufferPointer,
        hopLimit: UInt8 = 64,
        ipv4Identification: UInt16 = 0
    ) throws(DatagramBuildError) -> Int {
        switch (source.address, destination.address) {
        case (.v4(let from), .v4(let to)):
            let limit = maximumPayload(ipv4: true)
            guard payload.count <= limit else { throw .payloadTooLarge(length: payload.count, limit: limit) }
            let total = ipv4HeaderLength + udpHeaderLength + payload.count
            guard buffer.count >= total else { throw .bufferTooSmall(needed: total, available: buffer.count) }
            writeIPv4Header(from: from, to: to, totalLength: total, ttl: hopLimit,
                            identification: ipv4Identification, into: buffer)
            var pseudo = InternetChecksum()
            pseudo.add(from.value)
            pseudo.add(to.value)
            pseudo.add(UInt16(17))
            pseudo.add(UInt16(udpHeaderLength + payload.count))
            writeUDP(sourcePort: source.port, destinationPort: destination.port, payload: payload,
                     pseudoHeader: pseudo, into: buffer, at: ipv4HeaderLength)
            return total
        case (.v6(let from), .v6(let to)):
            let limit = maximumPayload(ipv4: false)
            guard payload.count <= limit else { throw .payloadTooLarge(length: payload.count, limit: limit) }
            let total = ipv6HeaderLength + udpHeaderLength + payload.count
            guard buffer.count >= total else { throw .bufferTooSmall(needed: total, available: buffer.count) }
            let udpLength = UInt16(udpHeaderLength + payload.count)
            // Version 6, traffic class 0, flow label 0.
            buffer.storeBytes(of: UInt32(6 << 28).bigEndian, toByteOffset: 0, as: UInt32.self)
            buffer.storeBytes(of: udpLength.bigEndian, toByteOffset: 4, as: UInt16.self)
            buffer[6] = 17
            buffer[7] = hopLimit
            store(from, into: buffer, at: 8)
            store(to, into: buffer, at: 24)
            // RFC 8200 section 8.1 pseudo-header: addresses, upper-layer length, next header.
            var pseudo = InternetChecksum()
            pseudo.add(UnsafeRawBufferPointer(rebasing: buffer[8..<40]))
            pseudo.add(UInt32(udpLength))
            pseudo.add(UInt32(17))
            writeUDP(sourcePort: source.port, destinationPort: destination.port, payload: payload,
                     pseudoHeader: pseudo, into: buffer, at: ipv6HeaderLength)
            return total
        default:
            throw .mixedFamilies(source: source.address, destination: destination.address)
        }
    }

    private static func writeIPv4Header(
        from: IPv4Address, to: IPv4Address, totalLength: Int, ttl: UInt8, identification: UInt16,
        into buffer: UnsafeMutableRawBufferPointer
    ) {
        buffer[0] = 0x45  // version 4, IHL 5 words
        buffer[1] = 0
        buffer.storeBytes(of: UInt16(totalLength).bigEndian, toByteOffset: 2, as: UInt16.self)
        buffer.storeBytes(of: identification.bigEndian, toByteOffset: 4, as: UInt16.self)
        // DF: a DNS reply is never fragmented by us (RFC 8900); too large means TC.
        buffer.storeBytes(of: UInt16(0x4000).bigEndian, toByteOffset: 6, as: UInt16.self)
        buffer[8] = ttl
        buffer[9] = 17
        buffer.storeBytes(of: UInt16(0), toByteOffset: 10, as: UInt16.self)
        buffer.storeBytes(of: from.value.bigEndian, toByteOffset: 12, as: UInt32.self)
        buffer.storeBytes(of: to.value.bigEndian, toByteOffset: 16, as: UInt32.self)
        var checksum = InternetChecksum()
        checksum.add(UnsafeRawBufferPointer(rebasing: buffer[0..<ipv4HeaderLength]))
        buffer.storeBytes(of: checksum.value.bigEndian, toByteOffset: 10, as: UInt16.self)
    }

    private static func writeUDP(
        sourcePort: UInt16, destinationPort: UInt16, payload: UnsafeRawBufferPointer,
        pseudoHeader: InternetChecksum, into buffer: UnsafeMutableRawBufferPointer, at offset: Int
    ) {
        let udpLength = UInt16(udpHeaderLength + payload.count)
        buffer.storeBytes(of: sourcePort.bigEndian, toByteOffset: offset, as: UInt16.self)
        buffer.storeBytes(of: destinationPort.bigEndian, toByteOffset: offset + 2, as: UInt16.self)
        buffer.storeBytes(of: udpLength.bigEndian, toByteOffset: offset + 4, as: UInt16.self)
        buffer.storeBytes(of: UInt16(0), toByteOffset: offset + 6, as: UInt16.self)
        if payload.count > 0 {
            UnsafeMutableRawBufferPointer(rebasing: buffer[(offset + udpHeaderLength)...])
                .copyMemory(from: payload)
        }
        var checksum = pseudoHeader
        checksum.add(UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + udpHeaderLength + payload.count)]))
        // RFC 768 / RFC 8200: a computed 0 is sent as all ones; 0 means "no checksum"
        // (forbidden outright over IPv6).
        let value = checksum.value == 0 ? 0xFFFF : checksum.value
        buffer.storeBytes(of: value.bigEndian, toByteOffset: offset + 6, as: UInt16.self)
    }

    private static func store(_ address: IPv6Address, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        buffer.storeBytes(of: address.high.bigEndian, toByteOffset: offset, as: UInt64.self)
        buffer.storeBytes(of: address.low.bigEndian, toByteOffset: offset + 8, as: UInt64.self)
    }
}
