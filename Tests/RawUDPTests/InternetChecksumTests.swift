import RawUDP
import Testing

/// RFC 1071 section 4.1's loop, one big-endian word at a time: slow and obviously
/// right, the yardstick for the 8-byte-chunk implementation.
private func referenceChecksum(_ bytes: [UInt8]) -> UInt16 {
    var sum: UInt64 = 0
    var index = 0
    while index + 1 < bytes.count {
        sum += UInt64(bytes[index]) << 8 | UInt64(bytes[index + 1])
        index += 2
    }
    if index < bytes.count { sum += UInt64(bytes[index]) << 8 }
    while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
    return ~UInt16(sum)
}

private func checksum(_ bytes: [UInt8]) -> UInt16 {
    var checksum = InternetChecksum()
    bytes.withUnsafeBytes { checksum.add($0) }
    return checksum.value
}

/// Feeds `bytes` in pieces whose sizes cycle through `chunkSizes`.
private func checksum(_ bytes: [UInt8], chunkSizes: [Int]) -> UInt16 {
    var checksum = InternetChecksum()
    var start = 0
    var turn = 0
    bytes.withUnsafeBytes { all in
        while start < all.count {
            let end = min(start + chunkSizes[turn % chunkSizes.count], all.count)
            checksum.add(UnsafeRawBufferPointer(rebasing: all[start..<end]))
            start = end
            turn += 1
        }
    }
    return checksum.value
}

@Suite struct InternetChecksumTests {
    @Test func rfc1071Example() {
        // RFC 1071 section 3: these bytes sum to 0xDDF2.
        #expect(checksum([0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7]) == ~UInt16(0xDDF2))
    }

    @Test func ipv4HeaderExample() {
        let header: [UInt8] = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
            0x00, 0x00, 0xC0, 0xA8, 0x00, 0x01, 0xC0, 0xA8, 0x00, 0xC7,
        ]
        #expect(checksum(header) == 0xB861)
    }

    @Test func emptyInputSumsToZero() {
        #expect(InternetChecksum().value == 0xFFFF)
        #expect(checksum([]) == 0xFFFF)
    }

    @Test(arguments: [
        ([0xAB], 0x54FF),
        ([0x01, 0x02, 0x03], 0xFBFD),
        (Array(1...9), 0xE6EB),
        (Array(1...17), 0xAEB7),
    ] as [([UInt8], UInt16)])
    func oddLengthPadsWithZero(bytes: [UInt8], expected: UInt16) {
        #expect(checksum(bytes) == expected)
        #expect(checksum(bytes + [0]) == expected)
    }

    @Test(arguments: [0, 1, 2, 7, 8, 9, 15, 16, 17, 1232, 65_535])
    func allZeroBytes(count: Int) {
        #expect(checksum([UInt8](repeating: 0, count: count)) == 0xFFFF)
    }

    /// Words of 0xFFFF are one's-complement negative zero: an even run sums to
    /// 0xFFFF, checksum 0; an odd run leaves 0xFF00. Long runs overflow the 64-bit
    /// chunk accumulator over and over.
    @Test(arguments: [1, 2, 3, 7, 8, 9, 16, 17, 1232, 65_535, 65_536, 1 << 20, (1 << 20) + 1])
    func allOnesBytes(count: Int) {
        let bytes = [UInt8](repeating: 0xFF, count: count)
        #expect(checksum(bytes) == (count.isMultiple(of: 2) ? 0x0000 : 0x00FF))
        #expect(checksum(bytes) == referenceChecksum(bytes))
    }

    /// Chunks that end on an odd byte leave the next chunk starting on the low half
    /// of a word, and its 8-byte loads unaligned.
    @Test(arguments: [[1], [2], [3], [7], [8], [9], [1, 8], [1, 16], [3, 5], [5, 3], [13, 1, 1], [17, 2, 1], [999]])
    func splitFeedingMatchesOneGo(chunkSizes: [Int]) {
        var random = SplitMix64(seed: 0x5EED_0001)
        for count in [0, 1, 2, 9, 31, 64, 255, 1000] {
            let bytes = random.bytes(count: count)
            #expect(checksum(bytes, chunkSizes: chunkSizes) == checksum(bytes), "\(count) bytes")
            #expect(checksum(bytes, chunkSizes: chunkSizes) == referenceChecksum(bytes), "\(count) bytes")
        }
    }

    @Test func randomInputsMatchReference() {
        var random = SplitMix64(seed: 0x5EED_0002)
        for round in 0..<2_000 {
            let count = round < 1_000 ? round % 300 : Int.random(in: 0...5_000, using: &random)
            let bytes = random.bytes(count: count)
            #expect(checksum(bytes) == referenceChecksum(bytes), "round \(round), \(count) bytes")
        }
    }

    @Test func unalignedStartMatchesReference() {
        var random = SplitMix64(seed: 0x5EED_0003)
        let bytes = random.bytes(count: 200)
        bytes.withUnsafeBytes { all in
            for offset in 0..<8 {
                for count in [0, 1, 8, 9, 16, 63, 100] {
                    var checksum = InternetChecksum()
                    checksum.add(UnsafeRawBufferPointer(rebasing: all[offset..<(offset + count)]))
                    let expected = referenceChecksum(Array(bytes[offset..<(offset + count)]))
                    #expect(checksum.value == expected, "offset \(offset), \(count) bytes")
                }
            }
        }
    }

    @Test func wordsEqualTheirBigEndianBytes() {
        var mixed = InternetChecksum()
        mixed.add(UInt16(0x1234))
        mixed.add(UInt32(0xDEAD_BEEF))
        [UInt8]([0x56, 0x78, 0x9A]).withUnsafeBytes { mixed.add($0) }
        #expect(mixed.value == referenceChecksum([0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0x56, 0x78, 0x9A]))
    }

    @Test func appendingTheChecksumVerifiesToZero() {
        var random = SplitMix64(seed: 0x5EED_0004)
        for count in stride(from: 0, through: 200, by: 2) {
            let bytes = random.bytes(count: count)
            let value = checksum(bytes)
            #expect(checksum(bytes + [UInt8(value >> 8), UInt8(value & 0xFF)]) == 0, "\(count) bytes")
        }
    }

    /// A 16-bit word after an odd number of bytes would be summed into the wrong
    /// byte lanes: the precondition stops it.
    @Test func wordAfterOddByteCountTraps() async {
        await #expect(processExitsWith: .failure) {
            var checksum = InternetChecksum()
            [UInt8(1)].withUnsafeBytes { checksum.add($0) }
            checksum.add(UInt16(1))
        }
    }
}
