import RawUDP
import Testing

extension ScapyVector: CustomTestStringConvertible {
    var testDescription: String { name }
}

extension ScapyPayload {
    var bytes: [UInt8] {
        switch self {
        case .hex(let text): return decodeHex(text)
        case .pattern(let count): return (0..<count).map { UInt8($0 % scapyPatternModulus) }
        }
    }
}

private func decodeHex(_ text: String) -> [UInt8] {
    let digits = Array(text.utf8)
    precondition(digits.count.isMultiple(of: 2), "odd hex length")
    return stride(from: 0, to: digits.count, by: 2).map { index in
        UInt8(String(decoding: digits[index..<(index + 2)], as: UTF8.self), radix: 16)!
    }
}

/// Bytes the builder must not leave in a datagram: any of them in the output means
/// a field it never wrote.
private let untouched: UInt8 = 0xEE

/// Builds into a buffer of `capacity` bytes prefilled with `untouched`; returns the
/// datagram and the whole buffer. A nil hop limit or identification uses the default.
private func build(
    from source: IPEndpoint, to destination: IPEndpoint, payload: [UInt8],
    hopLimit: UInt8? = nil, ipv4Identification: UInt16? = nil, capacity: Int? = nil
) throws -> (datagram: [UInt8], buffer: [UInt8]) {
    let headers = UDPDatagramBuilder.headerLength(ipv4: source.address.isIPv4)
    var buffer = [UInt8](repeating: untouched, count: capacity ?? headers + payload.count)
    let length = try payload.withUnsafeBytes { payload in
        try buffer.withUnsafeMutableBytes { buffer in
            switch (hopLimit, ipv4Identification) {
            case (nil, nil):
                try UDPDatagramBuilder.write(from: source, to: destination, payload: payload, into: buffer)
            case (let hopLimit?, nil):
                try UDPDatagramBuilder.write(
                    from: source, to: destination, payload: payload, into: buffer, hopLimit: hopLimit)
            case (nil, let identification?):
                try UDPDatagramBuilder.write(
                    from: source, to: destination, payload: payload, into: buffer,
                    ipv4Identification: identification)
            case (let hopLimit?, let identification?):
                try UDPDatagramBuilder.write(
                    from: source, to: destination, payload: payload, into: buffer,
                    hopLimit: hopLimit, ipv4Identification: identification)
            }
        }
    }
    return (Array(buffer[..<length]), buffer)
}

private func endpoint(_ address: String, _ port: UInt16) throws -> IPEndpoint {
    IPEndpoint(address: try #require(IPAddress(address)), port: port)
}

/// What a receiver does (RFC 1071 section 1): the sum over the pseudo-header and the
/// whole UDP datagram, checksum field included, is all ones.
private func udpChecksumVerifies(_ datagram: [UInt8], ipv4: Bool) -> Bool {
    let ipHeader = ipv4 ? UDPDatagramBuilder.ipv4HeaderLength : UDPDatagramBuilder.ipv6HeaderLength
    let udp = Array(datagram[ipHeader...])
    let pseudo: [UInt8] = ipv4
        ? Array(datagram[12..<20]) + [0, 17, UInt8(udp.count >> 8), UInt8(udp.count & 0xFF)]
        : Array(datagram[8..<40]) + [0, 0, UInt8(udp.count >> 8), UInt8(udp.count & 0xFF), 0, 0, 0, 17]
    var sum = 0
    let all = pseudo + udp + (udp.count.isMultiple(of: 2) ? [] : [0])
    for index in stride(from: 0, to: all.count, by: 2) { sum += Int(all[index]) << 8 | Int(all[index + 1]) }
    while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
    return sum == 0xFFFF
}

private func udpChecksumField(_ datagram: [UInt8], ipv4: Bool) -> UInt16 {
    let offset = (ipv4 ? UDPDatagramBuilder.ipv4HeaderLength : UDPDatagramBuilder.ipv6HeaderLength) + 6
    return UInt16(datagram[offset]) << 8 | UInt16(datagram[offset + 1])
}

@Suite struct UDPDatagramBuilderTests {
    // MARK: Scapy vectors

    @Test(arguments: scapyVectors)
    func matchesScapy(_ vector: ScapyVector) throws {
        let source = try endpoint(vector.source, vector.sourcePort)
        let destination = try endpoint(vector.destination, vector.destinationPort)
        let payload = vector.payload.bytes
        let headers = decodeHex(vector.headers)
        // The defaults (hop limit 64, identification 0) are part of what is checked.
        let (datagram, _) = try build(
            from: source, to: destination, payload: payload,
            hopLimit: vector.hopLimit == 64 ? nil : vector.hopLimit,
            ipv4Identification: vector.ipv4Identification == 0 ? nil : vector.ipv4Identification)

        #expect(datagram.count == headers.count + payload.count)
        #expect(Array(datagram.prefix(headers.count)) == headers)
        // Compared without printing: a 64 KiB array in a failure message helps no one.
        let firstWrongPayloadByte = zip(datagram.dropFirst(headers.count), payload).enumerated()
            .first { $0.element.0 != $0.element.1 }?.offset
        #expect(firstWrongPayloadByte == nil)
    }

    @Test func vectorsCoverTheZeroChecksumInBothFamilies() throws {
        let zeros = scapyVectors.filter(\.checksumComputedZero)
        #expect(zeros.contains { !$0.source.contains(":") })
        #expect(zeros.contains { $0.source.contains(":") })
        for vector in zeros {
            #expect(vector.headers.hasSuffix("ffff"), "\(vector.name)")
        }
    }

    @Test func vectorsCoverTheLargestPayloads() {
        let counts = scapyVectors.map { ($0.source.contains(":"), $0.payload.bytes.count) }
        #expect(counts.contains { !$0.0 && $0.1 == UDPDatagramBuilder.maximumPayload(ipv4: true) })
        #expect(counts.contains { $0.0 && $0.1 == UDPDatagramBuilder.maximumPayload(ipv4: false) })
    }

    // MARK: Sizes and limits

    @Test func limits() {
        #expect(UDPDatagramBuilder.maximumPayload(ipv4: true) == 65_507)
        #expect(UDPDatagramBuilder.maximumPayload(ipv4: false) == 65_527)
        #expect(UDPDatagramBuilder.headerLength(ipv4: true) == 28)
        #expect(UDPDatagramBuilder.headerLength(ipv4: false) == 48)
    }

    @Test(arguments: [
        ("192.0.2.1", "198.51.100.2", 65_508, 65_507),
        ("2001:db8::1", "2001:db8::2", 65_528, 65_527),
        ("192.0.2.1", "198.51.100.2", 1 << 20, 65_507),
    ])
    func payloadTooLarge(source: String, destination: String, count: Int, limit: Int) throws {
        let from = try endpoint(source, 53)
        let to = try endpoint(destination, 5353)
        #expect(throws: DatagramBuildError.payloadTooLarge(length: count, limit: limit)) {
            try build(from: from, to: to, payload: [UInt8](repeating: 1, count: count))
        }
        // Reported ahead of a too-small buffer: that is what the caller acts on (send TC).
        #expect(throws: DatagramBuildError.payloadTooLarge(length: count, limit: limit)) {
            try build(from: from, to: to, payload: [UInt8](repeating: 1, count: count), capacity: 16)
        }
    }

    @Test(arguments: [
        ("192.0.2.1", "198.51.100.2", 0, 28),
        ("192.0.2.1", "198.51.100.2", 61, 89),
        ("2001:db8::1", "2001:db8::2", 0, 48),
        ("2001:db8::1", "2001:db8::2", 61, 109),
    ])
    func bufferTooSmall(source: String, destination: String, count: Int, needed: Int) throws {
        let from = try endpoint(source, 53)
        let to = try endpoint(destination, 5353)
        let payload = [UInt8](repeating: 0x42, count: count)
        for capacity in [0, 1, needed / 2, needed - 1] {
            #expect(throws: DatagramBuildError.bufferTooSmall(needed: needed, available: capacity)) {
                try build(from: from, to: to, payload: payload, capacity: capacity)
            }
        }
        #expect(try build(from: from, to: to, payload: payload, capacity: needed).datagram.count == needed)
    }

    @Test func refusedBufferIsLeftAlone() throws {
        let from = try endpoint("192.0.2.1", 53)
        let to = try endpoint("198.51.100.2", 5353)
        var buffer = [UInt8](repeating: untouched, count: 40)
        let payload = [UInt8](repeating: 0x42, count: 13)
        payload.withUnsafeBytes { payload in
            buffer.withUnsafeMutableBytes { buffer in
                _ = #expect(throws: DatagramBuildError.bufferTooSmall(needed: 41, available: 40)) {
                    try UDPDatagramBuilder.write(from: from, to: to, payload: payload, into: buffer)
                }
            }
        }
        #expect(buffer.allSatisfy { $0 == untouched })
    }

    @Test func largerBufferKeepsItsTail() throws {
        let from = try endpoint("2001:db8::1", 53)
        let to = try endpoint("2001:db8::2", 5353)
        let (datagram, buffer) = try build(from: from, to: to, payload: [1, 2, 3], capacity: 100)
        #expect(datagram.count == 51)
        #expect(buffer[51...].allSatisfy { $0 == untouched })
    }

    @Test(arguments: [("192.0.2.1", "2001:db8::2"), ("2001:db8::1", "198.51.100.2")])
    func mixedFamilies(source: String, destination: String) throws {
        let from = try endpoint(source, 53)
        let to = try endpoint(destination, 5353)
        #expect(throws: DatagramBuildError.mixedFamilies(source: from.address, destination: to.address)) {
            try build(from: from, to: to, payload: [1, 2, 3], capacity: 100)
        }
    }

    /// A v4-mapped IPv6 destination is still IPv6 to the builder: callers fold mapped
    /// addresses with `IPAddress(normalizing:)` first.
    @Test func mappedDestinationDoesNotPassForIPv4() throws {
        let from = try endpoint("192.0.2.1", 53)
        let to = try endpoint("::ffff:198.51.100.2", 5353)
        #expect(throws: DatagramBuildError.mixedFamilies(source: from.address, destination: to.address)) {
            try build(from: from, to: to, payload: [], capacity: 100)
        }
    }

    // MARK: Checksums

    /// RFC 8200 section 8.1: over IPv6 a UDP checksum of 0 means "none" and the
    /// receiver drops the datagram, so a computed 0 must go out as 0xFFFF.
    @Test func ipv6ChecksumIsNeverZero() throws {
        var random = SplitMix64(seed: 0x5EED_0005)
        var sawComputedZero = false
        // Two payload bytes steer the sum through every value: one of them computes 0.
        let from = try endpoint("2001:db8::53", 53)
        let to = try endpoint("2001:db8::1:2", 40000)
        let prefix = random.bytes(count: 31)
        for word in 0...0xFFFF {
            let payload = prefix + [UInt8(word >> 8), UInt8(word & 0xFF)]
            let (datagram, _) = try build(from: from, to: to, payload: payload)
            let field = udpChecksumField(datagram, ipv4: false)
            #expect(field != 0)
            if field == 0xFFFF { sawComputedZero = true }
            if word.isMultiple(of: 4099) { #expect(udpChecksumVerifies(datagram, ipv4: false)) }
        }
        #expect(sawComputedZero)
    }

    @Test(arguments: [true, false])
    func randomDatagramsVerifyAsAReceiverWould(ipv4: Bool) throws {
        var random = SplitMix64(seed: ipv4 ? 0x5EED_0006 : 0x5EED_0007)
        for round in 0..<300 {
            let source: IPAddress = ipv4
                ? .v4(IPv4Address(0xC000_0200 | UInt32.random(in: 0...255, using: &random)))
                : .v6(IPv6Address(high: 0x2001_0DB8_0000_0000 | UInt64.random(in: 0...UInt64(UInt32.max), using: &random),
                                  low: random.next()))
            let destination: IPAddress = ipv4
                ? .v4(IPv4Address(0xCB00_7100 | UInt32.random(in: 0...255, using: &random)))
                : .v6(IPv6Address(high: 0x2001_0DB8_FFFF_0000, low: random.next()))
            let payload = random.bytes(count: Int.random(in: 0...1_500, using: &random))
            let (datagram, _) = try build(
                from: IPEndpoint(address: source, port: UInt16.random(in: 0...UInt16.max, using: &random)),
                to: IPEndpoint(address: destination, port: UInt16.random(in: 0...UInt16.max, using: &random)),
                payload: payload,
                hopLimit: UInt8.random(in: 0...255, using: &random),
                ipv4Identification: UInt16.random(in: 0...UInt16.max, using: &random))
            #expect(udpChecksumVerifies(datagram, ipv4: ipv4), "round \(round)")
            #expect(udpChecksumField(datagram, ipv4: ipv4) != 0, "round \(round)")
            if ipv4 {
                var headerSum = 0
                for index in stride(from: 0, to: 20, by: 2) { headerSum += Int(datagram[index]) << 8 | Int(datagram[index + 1]) }
                while headerSum >> 16 != 0 { headerSum = (headerSum & 0xFFFF) + (headerSum >> 16) }
                #expect(headerSum == 0xFFFF, "round \(round): IPv4 header checksum")
            }
        }
    }
}
