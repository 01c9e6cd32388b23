extension CacheSnapshot {
    /// One entry taken under its shard's lock: the entry itself (its fixed
    /// parts are read later, off the lock) and the mutable fields as they were.
    struct Item {
        let entry: CacheEntry
        let hits: UInt32
        let referenced: Bool
        let keyFlags: CacheEntry.Flags
    }

    /// The file's bytes for `items`, least recently used first (unreferenced
    /// before referenced, then by insertion: CLOCK keeps no finer order).
    /// `now` and `unixNanoseconds` are one moment on the two clocks: each
    /// entry's insertion is written as wall-clock time.
    static func encode(_ items: [Item], now: MonotonicInstant, unixNanoseconds: Int64) -> [UInt8] {
        let ordered = items.sorted { ($0.referenced ? 1 : 0, $0.entry.storedAt) < ($1.referenced ? 1 : 0, $1.entry.storedAt) }
        var writer = SnapshotWriter()
        writer.bytes.reserveCapacity(headerBytes + checksumBytes
                                     + items.reduce(0) { $0 + 4 + recordFixedBytes + $1.entry.tailBytes })
        writer.bytes.append(contentsOf: magic)
        writer.append(version)
        writer.append(UInt16(0))
        writer.append(UInt32(clamping: ordered.count))
        writer.append(unixNanoseconds)
        writer.append(UInt64(0))
        for item in ordered { append(item, to: &writer, now: now, unixNanoseconds: unixNanoseconds) }
        writer.patch(UInt64(writer.bytes.count - headerBytes), at: 24)
        writer.append(writer.bytes.withUnsafeBytes { checksum($0) })
        return writer.bytes
    }

    private static func append(_ item: Item, to writer: inout SnapshotWriter, now: MonotonicInstant,
                               unixNanoseconds: Int64) {
        let entry = item.entry
        let age = entry.storedAt.duration(to: now)
        let ageNanoseconds = age.components.seconds * 1_000_000_000 + age.components.attoseconds / 1_000_000_000
        let flags = UInt8((item.keyFlags.contains(.dnssecOK) ? 1 : 0) | (item.keyFlags.contains(.checkingDisabled) ? 2 : 0))
        entry.withParts { parts in
            entry.withName { name in
                writer.append(UInt32(recordFixedBytes + name.count + parts.ttlOffsets.count * 2 + parts.wire.count))
                writer.append(unixNanoseconds - max(0, ageNanoseconds))
                writer.append(entry.lifetime)
                writer.append(item.hits)
                writer.append(entry.type.rawValue)
                writer.append(entry.class.rawValue)
                writer.append(kindCode(entry.kind))
                writer.append(flags)
                writer.append(UInt8(name.count))
                writer.append(UInt8(0))
                writer.append(UInt16(parts.optRange?.lowerBound ?? 0))
                writer.append(UInt16(parts.optRange?.upperBound ?? 0))
                writer.append(UInt16(parts.recordsAfterOPT))
                writer.append(UInt16(parts.ttlOffsets.count))
                writer.append(UInt16(parts.wire.count))
                writer.append(name)
                for offset in parts.ttlOffsets { writer.append(offset) }
                writer.append(parts.wire)
            }
        }
    }
}
