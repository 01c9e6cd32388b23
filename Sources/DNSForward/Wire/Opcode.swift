/// The header's 4-bit OPCODE (RFC 1035 4.1.1, RFC 1996, RFC 2136). Only
/// QUERY is forwarded; the others are named for logs and tests.
public struct Opcode: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt8

    public init(rawValue: UInt8) { self.rawValue = rawValue & 0xF }

    public static let query = Opcode(rawValue: 0)
    public static let inverseQuery = Opcode(rawValue: 1)
    public static let status = Opcode(rawValue: 2)
    public static let notify = Opcode(rawValue: 4)
    public static let update = Opcode(rawValue: 5)
}
