/// A resource record class (RFC 1035 3.2.4). Unknown values are kept, as
/// with `RecordType`; an integer literal is a class number.
public struct RecordClass: RawRepresentable, Hashable, Sendable, ExpressibleByIntegerLiteral {
    public let rawValue: UInt16

    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(integerLiteral value: UInt16) { rawValue = value }

    /// The Internet: the only class local zones serve.
    public static let `in`: RecordClass = 1
    /// CHAOS: where servers name themselves (`version.bind`, RFC 4892).
    public static let chaos: RecordClass = 3
    /// QCLASS `*` (RFC 1035 3.2.5).
    public static let any: RecordClass = 255
}
