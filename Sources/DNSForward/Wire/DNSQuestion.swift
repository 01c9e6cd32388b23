/// The question of a query: the name, type and class the client asked for.
public struct DNSQuestion: Hashable, Sendable, CustomStringConvertible {
    public let name: DNSName
    public let type: RecordType
    public let `class`: RecordClass

    public init(name: DNSName, type: RecordType, class: RecordClass) {
        self.name = name
        self.type = type
        self.class = `class`
    }

    /// Same question, with names compared case-insensitively: an upstream may
    /// echo a different case only if it is broken or spoofed, but DNS says the
    /// names are equal (RFC 4343).
    public func matches(_ other: DNSQuestion) -> Bool {
        type == other.type && `class` == other.class && name.matches(other.name)
    }

    /// The question section's wire form: the name as held (its letter case), QTYPE, QCLASS.
    public var wire: [UInt8] {
        var bytes = name.wire
        bytes.reserveCapacity(bytes.count + 4)
        bytes += [UInt8(type.rawValue >> 8), UInt8(truncatingIfNeeded: type.rawValue),
                  UInt8(`class`.rawValue >> 8), UInt8(truncatingIfNeeded: `class`.rawValue)]
        return bytes
    }

    public var description: String { "\(name) \(type.mnemonic) class \(`class`.rawValue)" }
}
