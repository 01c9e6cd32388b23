extension CacheSnapshot {
    /// The records of a cache file, checked whole before any is returned:
    /// magic, version, lengths, checksum, then every record's fields. A file
    /// saved after `unixNanoseconds` (now) is refused: the clock went back.
    /// Each answer's `storedAt` is `now` less its wall-clock age, so it ages
    /// by the time that passed while the daemon was down.
    static func decode(_ bytes: UnsafeRawBufferPointer, now: MonotonicInstant,
                       unixNanoseconds: Int64) throws(CacheSnapshotError) -> [Record] {
        let (count, savedAt, bodyLength) = try checkFrame(bytes)
        guard savedAt <= unixNanoseconds else {
            throw .fromTheFuture(seconds: (savedAt - unixNanoseconds) / 1_000_000_000)
        }
        var reader = SnapshotReader(bytes: UnsafeRawBufferPointer(rebasing: bytes[..<(headerBytes + bodyLength)]),
                                    position: headerBytes)
        var records: [Record] = []
        records.reserveCapacity(count)
        for index in 0..<count {
            let record = try readRecord(&reader, index: index, now: now, unixNanoseconds: unixNanoseconds)
            guard record.storedAtUnixNanoseconds <= savedAt else {
                throw .malformedRecord(index: index, reason: "stored after the file was saved")
            }
            records.append(record)
        }
        guard reader.remaining == 0 else { throw .malformedRecord(index: count, reason: "bytes after the last record") }
        return records
    }

    /// The header's record count, save time and body length, once the
    /// frame (magic, version, lengths, checksum) holds.
    private static func checkFrame(_ bytes: UnsafeRawBufferPointer) throws(CacheSnapshotError) -> (Int, Int64, Int) {
        guard bytes.prefix(magic.count).elementsEqual(magic.prefix(min(bytes.count, magic.count))) else { throw .foreign }
        var header = SnapshotReader(bytes: bytes, position: magic.count)
        guard let version = header.read(UInt16.self), let _ = header.read(UInt16.self),
              let count = header.read(UInt32.self), let savedAt = header.read(Int64.self),
              let bodyLength = header.read(UInt64.self) else { throw .truncated(section: "header") }
        guard version == Self.version else { throw .unsupportedVersion(version) }
        let available = UInt64(bytes.count - headerBytes)
        guard bodyLength <= available else { throw .truncated(section: "body") }
        guard bodyLength + UInt64(checksumBytes) <= available else { throw .truncated(section: "checksum") }
        let end = headerBytes + Int(bodyLength)
        guard bytes.count == end + checksumBytes else { throw .trailingBytes(bytes.count - end - checksumBytes) }
        let stored = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: end, as: UInt64.self))
        guard stored == checksum(UnsafeRawBufferPointer(rebasing: bytes[..<end])) else { throw .checksumMismatch }
        return (Int(count), savedAt, Int(bodyLength))
    }

    private static func readRecord(_ reader: inout SnapshotReader, index: Int, now: MonotonicInstant,
                                   unixNanoseconds: Int64) throws(CacheSnapshotError) -> Record {
        func malformed(_ reason: String) -> CacheSnapshotError { .malformedRecord(index: index, reason: reason) }
        guard let length = reader.read(UInt32.self), let body = reader.read(count: Int(length)) else {
            throw malformed("runs past the body")
        }
        var fields = SnapshotReader(bytes: body, position: 0)
        guard let storedAt = fields.read(Int64.self), let lifetime = fields.read(UInt32.self),
              let hits = fields.read(UInt32.self), let type = fields.read(UInt16.self),
              let recordClass = fields.read(UInt16.self), let kindCode = fields.read(UInt8.self),
              let keyFlags = fields.read(UInt8.self), let nameLength = fields.read(UInt8.self),
              let _ = fields.read(UInt8.self), let optStart = fields.read(UInt16.self),
              let optEnd = fields.read(UInt16.self), let recordsAfterOPT = fields.read(UInt16.self),
              let ttlCount = fields.read(UInt16.self), let wireLength = fields.read(UInt16.self) else {
            throw malformed("shorter than its fixed fields")
        }
        guard let kind = kind(code: kindCode) else { throw malformed("unknown kind \(kindCode)") }
        guard Int(length) == recordFixedBytes + Int(nameLength) + Int(ttlCount) * 2 + Int(wireLength),
              let name = fields.read(count: Int(nameLength)), let offsetBytes = fields.read(count: Int(ttlCount) * 2),
              let wire = fields.read(count: Int(wireLength)) else { throw malformed("lengths do not add up") }
        let offsets = (0..<Int(ttlCount)).map { UInt16(littleEndian: offsetBytes.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) }
        guard wire.count >= 12, offsets.allSatisfy({ Int($0) + 4 <= wire.count }),
              optEnd <= wireLength, optStart <= optEnd, (optEnd == 0) == (optStart == 0) else {
            throw malformed("offsets outside its answer")
        }
        let key = CacheKey(name: Array(name), type: RecordType(rawValue: type), class: RecordClass(rawValue: recordClass),
                           dnssecOK: keyFlags & 1 != 0, checkingDisabled: keyFlags & 2 != 0)
        var answer = CachedAnswer(wire: Array(wire), ttlOffsets: offsets,
                                  optRange: optEnd == 0 ? nil : Int(optStart)..<Int(optEnd),
                                  recordsAfterOPT: Int(recordsAfterOPT), kind: kind,
                                  storedAt: now - .nanoseconds(max(0, unixNanoseconds - storedAt)),
                                  lifetime: lifetime, upstream: nil)
        answer.hits = Int(hits)
        return Record(key: key, answer: answer, storedAtUnixNanoseconds: storedAt)
    }
}
