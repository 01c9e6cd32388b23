/// The one place TTL fields are rewritten: clamped to policy when an answer
/// is stored, aged or fixed when a copy of it is served or shown. A TTL field
/// is 32 bits, big-endian, at an offset `MessageLayout` found.
enum TTLRewrite {
    case keep
    /// Each stored TTL less the seconds the answer spent in cache, floored at 0.
    case aged(UInt32)
    /// Every TTL set to this (stale answers, RFC 8767).
    case fixed(UInt32)
    /// Each TTL as RFC 2181 8 reads it, then kept within `floor...ceiling`:
    /// what a stored answer holds, so clients never see a TTL longer than we
    /// keep it.
    case clamped(floor: UInt32, ceiling: UInt32)

    /// RFC 2181 8: a TTL with the top bit set is treated as zero.
    @inline(__always)
    static func effective(_ ttl: UInt32) -> UInt32 {
        ttl & 0x8000_0000 != 0 ? 0 : ttl
    }

    @inline(__always)
    func apply(_ ttl: UInt32) -> UInt32 {
        switch self {
        case .keep: return ttl
        case .aged(let age): return ttl > age ? ttl - age : 0
        case .fixed(let fixed): return fixed
        case .clamped(let floor, let ceiling): return min(ceiling, max(floor, Self.effective(ttl)))
        }
    }

    /// Rewrites the TTL fields at `offsets` that lie in the first `end` bytes
    /// of `bytes`, in place. No allocation: this runs on every cache hit.
    @inline(__always)
    func apply(to bytes: UnsafeMutableRawBufferPointer, at offsets: UnsafeBufferPointer<UInt16>, below end: Int) {
        if case .keep = self { return }
        for offset in offsets where Int(offset) < end {
            let ttl = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: Int(offset), as: UInt32.self))
            bytes.storeBytes(of: apply(ttl).bigEndian, toByteOffset: Int(offset), as: UInt32.self)
        }
    }

    /// A copy of `wire` with its TTL fields at `offsets` rewritten.
    func applied(to wire: [UInt8], at offsets: [UInt16]) -> [UInt8] {
        var rewritten = wire
        rewritten.withUnsafeMutableBytes { bytes in
            offsets.withUnsafeBufferPointer { apply(to: bytes, at: $0, below: bytes.count) }
        }
        return rewritten
    }
}
