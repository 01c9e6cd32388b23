/// The RFC 1071 one's-complement sum used by IPv4 headers and UDP.
///
/// Accumulates in 64 bits and folds once at the end, so a 1,232-byte reply
/// costs one pass of 8-byte loads rather than 616 additions with carries.
public struct InternetChecksum: Sendable {
    private var sum: UInt64 = 0
    /// Bytes fed so far have odd length: the next byte is the low half of a word.
    private var odd = false

    public init() {}

    public mutating func add(_ word: UInt16) {
        precondition(!odd, "16-bit words must be added on an even byte boundary")
        sum &+= UInt64(word)
    }

    public mutating func add(_ value: UInt32) {
        add(UInt16(truncatingIfNeeded: value >> 16))
        add(UInt16(truncatingIfNeeded: value))
    }

    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var index = 0
        let count = bytes.count
        if odd, count > 0 {
            sum &+= UInt64(bytes[0])
            odd = false
            index = 1
        }
        // Big-endian 16-bit words summed in 64-bit chunks: the one's-complement sum
        // is byte-order independent, so sum native loads and swap once at the end.
        var wide: UInt64 = 0
        while count - index >= 8 {
            let chunk = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            let (partial, overflow) = wide.addingReportingOverflow(chunk)
            wide = partial &+ (overflow ? 1 : 0)
            index += 8
        }
        var folded = wide
        folded = (folded & 0xFFFF_FFFF) &+ (folded >> 32)
        folded = (folded & 0xFFFF_FFFF) &+ (folded >> 32)
        var native32 = UInt32(truncatingIfNeeded: folded)
        native32 = (native32 & 0xFFFF) &+ (native32 >> 16)
        native32 = (native32 & 0xFFFF) &+ (native32 >> 16)
        sum &+= UInt64(UInt16(truncatingIfNeeded: native32).bigEndian)
        while count - index >= 2 {
            sum &+= UInt64(bytes[index]) << 8 | UInt64(bytes[index + 1])
            index += 2
        }
        if index < count {
            sum &+= UInt64(bytes[index]) << 8
            odd = true
        }
    }

    /// The checksum field value: the complement of the folded sum.
    public var value: UInt16 {
        var folded = sum
        while folded >> 16 != 0 { folded = (folded & 0xFFFF) &+ (folded >> 16) }
        return ~UInt16(truncatingIfNeeded: folded)
    }
}
