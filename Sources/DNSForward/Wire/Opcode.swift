/// The header's 4-bit OPCODE (RFC 1035 4.1.1, RFC 1996, RFC 2136). Only
/// QUERY is forwarded; the others are named for logs and tests. An integer
/// literal is an opcode number, as with `RecordType`.
public struct Opcode: RawRepresentable, Hashable, Sendable, ExpressibleByIntegerLiteral {
    public let rawValue: UInt8

    public init(rawValue: UInt8) { self.rawValue = rawValue & 0xF }
    public init(integerLiteral value: UInt8) { self.init(rawValue: value) }

    public static let query: Opcode = 0
    public static let status: Opcode = 2
    public static let notify: Opcode = 4
    public static let update: Opcode = 5
}
