#if canImport(Glibc)
import Glibc
#endif

/// One cached answer and its key in a single heap object: a 48-byte header,
/// then the TTL offsets, the key's lowercased name and the wire answer, all
/// tail-allocated.
///
/// Why one object: as a struct of arrays an entry cost five allocations and
/// ~480 bytes beyond its wire bytes (issue #7's target is 200). Here the index
/// borrows the name from the entry instead of holding a copy: a 58-byte
/// answer costs 148 bytes beyond its wire, index and slot included (164 with
/// 16-byte `ContinuousClock.Instant`s in the header)
/// (`tproxy-dns bench-dns-work`).
///
/// Header fields are read and written through the header's address
/// (`fields`), one field at a time, never as `self.header`: that is one
/// stored property, so a shard writing `hits` under its lock while a renderer
/// on another thread reads `storedAt` would be two overlapping accesses to one
/// variable, a data race in Swift's model though the bytes differ. Through the
/// pointer they touch separate bytes. Which fields need the shard's lock
/// (`DNSCache` shares entries between threads) is marked below.
final class CacheEntry: ManagedBuffer<CacheEntry.Header, UInt8> {
    /// Sized to 48 bytes: fields are ordered so no padding falls between them.
    struct Header {
        let storedAt: MonotonicInstant
        /// Meaningful only with `Flags.serveStaleSet`; an optional would cost 8 more bytes.
        var serveStaleUntil: MonotonicInstant
        var hits: UInt32
        let lifetime: UInt32
        /// The key's hash, so the index can find this entry's bucket without rehashing.
        let hash: UInt32
        let wireCount: UInt16
        let ttlCount: UInt16
        /// `optEnd == 0`: no OPT.
        let optStart: UInt16
        let optEnd: UInt16
        let recordsAfterOPT: UInt16
        let type: RecordType
        let `class`: RecordClass
        /// `UInt16.max`: made by the daemon, no upstream.
        let upstream: UInt16
        let nameCount: UInt8
        var flags: Flags
        let kind: CachedAnswer.Kind
        var referenced: Bool
    }

    struct Flags: OptionSet {
        let rawValue: UInt8
        static let dnssecOK = Flags(rawValue: 1)
        static let checkingDisabled = Flags(rawValue: 2)
        static let serveStaleSet = Flags(rawValue: 4)
        /// A hit claimed this entry's one refresh ahead of expiry (`claimPrefetch`).
        static let prefetchClaimed = Flags(rawValue: 8)
        /// The key has a routing scope other than the default (`CacheScope`):
        /// its `CacheScope.byteCount` bytes end the tail, after the wire.
        static let scoped = Flags(rawValue: 16)
        /// The bits that are part of the key.
        static let keyBits: Flags = [.dnssecOK, .checkingDisabled, .scoped]

        init(rawValue: UInt8) { self.rawValue = rawValue }

        init(_ key: CacheKey) {
            self = []
            if key.dnssecOK { insert(.dnssecOK) }
            if key.checkingDisabled { insert(.checkingDisabled) }
            if !key.scope.isDefault { insert(.scoped) }
        }
    }

    /// Nil when the answer cannot be held in the compact form: a name over 255
    /// octets or a message over 65,535 (neither passes validation upstream of here).
    static func make(key: CacheKey, hash: UInt32, answer: CachedAnswer) -> CacheEntry? {
        guard key.name.count <= Int(UInt8.max), answer.wire.count <= Int(UInt16.max),
              answer.ttlOffsets.count <= Int(UInt16.max) else { return nil }
        let offsetBytes = answer.ttlOffsets.count * 2
        let scopeBytes = key.scope.isDefault ? 0 : CacheScope.byteCount
        let tail = offsetBytes + key.name.count + answer.wire.count + scopeBytes
        let header = Header(
            storedAt: answer.storedAt, serveStaleUntil: answer.serveStaleUntil ?? answer.storedAt,
            hits: UInt32(clamping: answer.hits), lifetime: answer.lifetime, hash: hash,
            wireCount: UInt16(answer.wire.count), ttlCount: UInt16(answer.ttlOffsets.count),
            optStart: UInt16(answer.optRange?.lowerBound ?? 0), optEnd: UInt16(answer.optRange?.upperBound ?? 0),
            recordsAfterOPT: UInt16(clamping: answer.recordsAfterOPT), type: key.type, class: key.class,
            upstream: answer.upstream.map { UInt16(clamping: $0) } ?? .max, nameCount: UInt8(key.name.count),
            flags: Flags(key).union(answer.serveStaleUntil == nil ? [] : .serveStaleSet), kind: answer.kind,
            referenced: false)
        let entry = unsafeDowncast(create(minimumCapacity: tail) { _ in header }, to: CacheEntry.self)
        entry.withUnsafeMutablePointerToElements { base in
            let raw = UnsafeMutableRawPointer(base)
            answer.ttlOffsets.withUnsafeBytes { raw.copyMemory(from: $0.baseAddress!, byteCount: offsetBytes) }
            key.name.withUnsafeBytes { (raw + offsetBytes).copyMemory(from: $0.baseAddress!, byteCount: key.name.count) }
            answer.wire.withUnsafeBytes {
                (raw + offsetBytes + key.name.count).copyMemory(from: $0.baseAddress!, byteCount: answer.wire.count)
            }
            if scopeBytes > 0 { key.scope.write(to: raw + offsetBytes + key.name.count + answer.wire.count) }
        }
        return entry
    }

    /// The key's hash as the index files it, stored in the header so the
    /// index never hashes an entry again.
    static func hash(_ key: CacheKey) -> UInt32 {
        var hasher = Hasher()
        key.hash(into: &hasher)
        return UInt32(truncatingIfNeeded: hasher.finalize())
    }

    /// The parts a reply is rendered from, valid only inside `body`.
    struct Parts {
        let wire: UnsafeRawBufferPointer
        let ttlOffsets: UnsafeBufferPointer<UInt16>
        let optRange: Range<Int>?
        let recordsAfterOPT: Int
    }

    /// The header's address. Fixed for the object's life (the header sits at
    /// a fixed offset in it), so it stays valid past the closure for as long
    /// as `self` does, which every method here guarantees. Fields are read and
    /// written through it in this module's own code rather than in a closure
    /// run by `withUnsafeMutablePointerToHeader`: in a debug build that is the
    /// standard library's uninstrumented code calling back, and TSan missed a
    /// planted race on `hits` there that it reports through this pointer.
    private var fields: UnsafeMutablePointer<Header> { withUnsafeMutablePointerToHeader { $0 } }

    /// The tail's address; fixed for the object's life like the header's.
    private var tail: UnsafeMutableRawPointer { UnsafeMutableRawPointer(withUnsafeMutablePointerToElements { $0 }) }

    func withParts<Result>(_ body: (Parts) throws -> Result) rethrows -> Result {
        let header = fields, base = tail
        let ttlCount = Int(header.pointee.ttlCount)
        let offsetBytes = ttlCount * 2
        let optStart = Int(header.pointee.optStart), optEnd = Int(header.pointee.optEnd)
        // The tail starts 8-byte aligned after the 48-byte header, so the UInt16 offsets are aligned.
        return try UnsafeRawPointer(base).withMemoryRebound(to: UInt16.self, capacity: ttlCount) { offsets in
            try body(Parts(
                wire: UnsafeRawBufferPointer(start: base + offsetBytes + Int(header.pointee.nameCount),
                                             count: Int(header.pointee.wireCount)),
                ttlOffsets: UnsafeBufferPointer(start: offsets, count: ttlCount),
                optRange: optEnd == 0 ? nil : optStart..<optEnd,
                recordsAfterOPT: Int(header.pointee.recordsAfterOPT)))
        }
    }

    func withName<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        let header = fields
        return try body(UnsafeRawBufferPointer(start: tail + Int(header.pointee.ttlCount) * 2,
                                               count: Int(header.pointee.nameCount)))
    }

    /// Reads `flags`, which `serveStaleUntil`'s setter writes: under the shard's lock only.
    func matches(_ key: CacheKey) -> Bool {
        let header = fields
        guard header.pointee.nameCount == key.name.count, header.pointee.type == key.type,
              header.pointee.class == key.class, header.pointee.flags.intersection(.keyBits) == Flags(key),
              key.scope.isDefault || storedScope == key.scope else {
            return false
        }
        return withName { stored in
            key.name.withUnsafeBytes { stored.isEmpty || memcmp(stored.baseAddress!, $0.baseAddress!, stored.count) == 0 }
        }
    }

    // MARK: Fixed at creation: readable without the shard's lock

    var hash: UInt32 { fields.pointee.hash }
    var kind: CachedAnswer.Kind { fields.pointee.kind }
    var wireCount: Int { Int(fields.pointee.wireCount) }
    var storedAt: MonotonicInstant { fields.pointee.storedAt }
    var lifetime: UInt32 { fields.pointee.lifetime }
    var type: RecordType { fields.pointee.type }
    var `class`: RecordClass { fields.pointee.class }
    var expiresAt: MonotonicInstant { fields.pointee.storedAt + .seconds(Int64(fields.pointee.lifetime)) }
    func isFresh(at now: MonotonicInstant) -> Bool { now < expiresAt }

    func age(at now: MonotonicInstant) -> UInt32 {
        UInt32(clamping: max(0, storedAt.duration(to: now).components.seconds))
    }

    var responseCode: DNSResponseCode {
        withParts { DNSHeader(wire: $0.wire)?.responseCode } ?? .serverFailure
    }

    // MARK: Changed by the cache: under the shard's lock only

    /// Set by a hit, cleared as the CLOCK hand passes.
    var referenced: Bool {
        get { fields.pointee.referenced }
        set { fields.pointee.referenced = newValue }
    }

    var hits: UInt32 { fields.pointee.hits }

    /// The DO and CD bits of the key; `flags` shares its byte with the serve-stale mark.
    var keyFlags: Flags { fields.pointee.flags.intersection(.keyBits) }

    func countHit() {
        fields.pointee.hits &+= 1
    }

    /// True once per entry: for the first hit that `PrefetchRule` finds due,
    /// `age` as `age(at:)` gave it, `hits` counting that hit. Every loop and
    /// worker shares the entry, so the claim, not an in-flight table, keeps its
    /// refresh to one.
    func claimPrefetch(age: UInt32, hits: UInt32) -> Bool {
        let header = fields
        guard !header.pointee.flags.contains(.prefetchClaimed),
              PrefetchRule.isDue(age: age, lifetime: header.pointee.lifetime, hits: hits, kind: header.pointee.kind)
        else { return false }
        header.pointee.flags.insert(.prefetchClaimed)
        return true
    }

    var serveStaleUntil: MonotonicInstant? {
        get {
            let header = fields
            return header.pointee.flags.contains(.serveStaleSet) ? header.pointee.serveStaleUntil : nil
        }
        set {
            let header = fields
            if let newValue {
                header.pointee.serveStaleUntil = newValue
                header.pointee.flags.insert(.serveStaleSet)
            } else {
                header.pointee.flags.remove(.serveStaleSet)
            }
        }
    }

    /// Reads `flags`: under the shard's lock only.
    var key: CacheKey {
        let header = fields
        return CacheKey(name: withName { Array($0) }, type: header.pointee.type, class: header.pointee.class,
                        dnssecOK: header.pointee.flags.contains(.dnssecOK),
                        checkingDisabled: header.pointee.flags.contains(.checkingDisabled),
                        scope: header.pointee.flags.contains(.scoped) ? storedScope : .default)
    }

    /// Whether the key has a scope of its own; reads `flags`: under the shard's lock only.
    var isScoped: Bool { fields.pointee.flags.contains(.scoped) }

    /// The scope bytes after the wire; meaningful only with `Flags.scoped`.
    private var storedScope: CacheScope {
        let header = fields
        let offset = Int(header.pointee.ttlCount) * 2 + Int(header.pointee.nameCount) + Int(header.pointee.wireCount)
        return CacheScope(reading: UnsafeRawPointer(tail + offset))
    }

    /// A value copy for callers off the hit path (dump, lookup), with the
    /// hit count and serve-stale mark: under the shard's lock only.
    var answer: CachedAnswer {
        let header = fields
        return withParts { parts in
            var answer = CachedAnswer(
                wire: Array(parts.wire), ttlOffsets: Array(parts.ttlOffsets), optRange: parts.optRange,
                recordsAfterOPT: parts.recordsAfterOPT, kind: header.pointee.kind, storedAt: header.pointee.storedAt,
                lifetime: header.pointee.lifetime,
                upstream: header.pointee.upstream == .max ? nil : Int(header.pointee.upstream))
            answer.hits = Int(header.pointee.hits)
            answer.serveStaleUntil = serveStaleUntil
            return answer
        }
    }
}
