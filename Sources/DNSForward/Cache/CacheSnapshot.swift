/// The cache file's format (`serve --cache-file`): what a warm restart needs
/// of every entry, versioned and self-checking. Socket-free and clock-free:
/// the wall clock comes in as a parameter (`unixNanoseconds`).
///
/// Layout, every integer little-endian:
/// ```
/// header   magic "TPDNSCF\0" (8) | version u16 | reserved u16 | records u32
///          | saved at, Unix ns i64 | body length u64                     = 32 bytes
/// body     records, each: length u32 (of what follows) | stored at, Unix ns i64
///          | lifetime u32 | hits u32 | type u16 | class u16 | kind u8
///          | key flags u8 (1 DO, 2 CD) | name length u8 | reserved u8
///          | OPT start u16 | OPT end u16 (0, 0: none) | records after OPT u16
///          | TTL offsets u16 | wire length u16 | name | offsets (u16 each) | wire
/// trailer  FNV-1a 64 of header and body u64
/// ```
/// Records run from the least to the most recently used, so a load into a
/// smaller budget, inserting in file order, keeps the most recent ones (the
/// shards' CLOCK hand, with no entry referenced yet, evicts in insertion order).
/// The upstream that answered is not kept: loaded entries show "daemon".
public enum CacheSnapshot {
    static let magic: [UInt8] = Array("TPDNSCF\0".utf8)
    public static let version: UInt16 = 1
    static let headerBytes = 32
    static let checksumBytes = 8
    /// A record's fixed part, after its length field.
    static let recordFixedBytes = 34

    /// One entry as the file holds it.
    struct Record {
        var key: CacheKey
        var answer: CachedAnswer
        var storedAtUnixNanoseconds: Int64
    }

    static func kindCode(_ kind: CachedAnswer.Kind) -> UInt8 {
        switch kind {
        case .positive: 0
        case .nameError: 1
        case .noData: 2
        case .serverFailure: 3
        }
    }

    static func kind(code: UInt8) -> CachedAnswer.Kind? {
        switch code {
        case 0: .positive
        case 1: .nameError
        case 2: .noData
        case 3: .serverFailure
        default: nil
        }
    }

    /// FNV-1a, 64-bit: a few lines, no table, and any flipped bit changes it;
    /// enough to tell a torn or damaged file, which is all the check is for
    /// (the file is the daemon's own, mode 0600).
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }
}

/// Little-endian appends for the encoder.
struct SnapshotWriter {
    var bytes: [UInt8] = []

    mutating func append<Value: FixedWidthInteger>(_ value: Value) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func append(_ raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }

    mutating func patch<Value: FixedWidthInteger>(_ value: Value, at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { raw in
            for (index, byte) in raw.enumerated() { bytes[offset + index] = byte }
        }
    }
}

/// Little-endian reads for the decoder; nil past the end.
struct SnapshotReader {
    let bytes: UnsafeRawBufferPointer
    var position: Int

    var remaining: Int { bytes.count - position }

    mutating func read<Value: FixedWidthInteger>(_: Value.Type) -> Value? {
        let size = MemoryLayout<Value>.size
        guard remaining >= size else { return nil }
        defer { position += size }
        return Value(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: Value.self))
    }

    mutating func read(count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0, remaining >= count else { return nil }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<position + count])
    }
}
