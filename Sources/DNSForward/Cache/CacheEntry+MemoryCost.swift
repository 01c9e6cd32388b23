extension CacheEntry {
    /// What the Swift runtime puts before the header: isa pointer and refcounts.
    static var objectHeaderBytes: Int { 16 }

    /// Bytes one entry takes in memory, as counted against `--cache-memory`.
    /// Measured (`CacheMemoryCostTests` checks the object part against
    /// `malloc_usable_size`):
    /// - the object: 16-byte Swift object header, the 48-byte `Header`, the
    ///   tail (2 bytes per TTL offset, the key's name, the wire answer); glibc
    ///   malloc adds an 8-byte chunk header and rounds the chunk up to 16;
    /// - its slot in the shard's `slots`: one 8-byte optional reference;
    /// - its index buckets: 8 bytes each, at most 3/4 full and doubling when
    ///   full, so 1.33 to 2.67 buckets per entry: 16 bytes counted.
    /// A 58-byte answer for an 18-octet name with 2 TTLs comes to 184 bytes (200 while
    /// `storedAt` was a 16-byte `ContinuousClock.Instant`).
    static func memoryCost(tailBytes: Int) -> Int {
        allocationBytes(tailBytes: tailBytes) + slotBytes + indexBytes
    }

    /// The malloc chunk the object lives in: its request plus the 8-byte
    /// chunk header, rounded up to 16 (glibc, 64-bit), 32 at least.
    static func allocationBytes(tailBytes: Int) -> Int {
        let request = objectHeaderBytes + MemoryLayout<Header>.stride + tailBytes
        return max(32, (request + 8 + 15) & ~15)
    }

    /// What `make` would cost for `answer` under `key`, before allocating it.
    static func memoryCost(of answer: CachedAnswer, key: CacheKey) -> Int {
        memoryCost(tailBytes: answer.ttlOffsets.count * 2 + key.name.count + answer.wire.count
            + (key.scope.isDefault ? 0 : CacheScope.byteCount))
    }

    static var slotBytes: Int { MemoryLayout<CacheEntry?>.stride }
    static var indexBytes: Int { 2 * MemoryLayout<UInt64>.stride }

    /// This entry's `memoryCost`; fixed at creation, read under the shard's
    /// lock (`isScoped` reads the flags byte others write).
    var memoryCost: Int { Self.memoryCost(tailBytes: tailBytes) }

    /// The tail's size: TTL offsets, name and wire, from the header's counts.
    var tailBytes: Int {
        withParts { $0.ttlOffsets.count * 2 + $0.wire.count } + withName { $0.count } + (isScoped ? CacheScope.byteCount : 0)
    }
}
