/// Which routing a cached answer belongs to (`PolicyDecision.cacheScope`): the
/// default upstream set (zero, what every answer had before routing policy),
/// another upstream set, or one passthrough target. Part of `CacheKey`, so two
/// routes that answer a name differently never share an entry.
public struct CacheScope: Hashable, Sendable, CustomStringConvertible {
    /// 0: default set; 1...: upstream set; `passthroughV4`/`V6`: with `high`/`low` the target.
    let kind: UInt32
    let high: UInt64
    let low: UInt64

    static let passthroughV4: UInt32 = 0xFFFF_FFFE
    static let passthroughV6: UInt32 = 0xFFFF_FFFF

    public static let `default` = CacheScope(upstreamSet: 0)

    public init(upstreamSet: Int) {
        kind = UInt32(upstreamSet)
        high = 0
        low = 0
    }

    public init(passthroughTo target: PolicyAddress) {
        kind = target.isIPv6 ? Self.passthroughV6 : Self.passthroughV4
        high = target.high
        low = target.low
    }

    public var isDefault: Bool { kind == 0 }

    /// What `write(to:)` takes in a cache entry's tail.
    static let byteCount = 20

    func write(to pointer: UnsafeMutableRawPointer) {
        pointer.storeBytes(of: kind, as: UInt32.self)
        (pointer + 4).storeBytes(of: high, as: UInt64.self)
        (pointer + 12).storeBytes(of: low, as: UInt64.self)
    }

    init(reading pointer: UnsafeRawPointer) {
        kind = pointer.loadUnaligned(as: UInt32.self)
        high = pointer.loadUnaligned(fromByteOffset: 4, as: UInt64.self)
        low = pointer.loadUnaligned(fromByteOffset: 12, as: UInt64.self)
    }

    public var description: String {
        switch kind {
        case 0: return "default"
        case Self.passthroughV4: return "passthrough \(PolicyAddress(ipv4: UInt32(truncatingIfNeeded: low)))"
        case Self.passthroughV6: return "passthrough \(PolicyAddress(ipv6High: high, low: low))"
        default: return "set \(kind)"
        }
    }
}
