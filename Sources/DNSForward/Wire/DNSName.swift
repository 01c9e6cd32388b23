/// A domain name in uncompressed wire form (length-prefixed labels, ending in
/// the zero-length root label). Labels are octets, not text: comparisons fold
/// only ASCII A-Z, per RFC 4343.
public struct DNSName: Hashable, Sendable, CustomStringConvertible {
    public let wire: [UInt8]

    public init(wire: [UInt8]) { self.wire = wire }

    /// The root, `.`: its single zero-length label.
    public static let root = DNSName(wire: [0])

    /// Equal ignoring ASCII case, as DNS compares names.
    public func matches(_ other: DNSName) -> Bool {
        other.wire.withUnsafeBytes { matches(wire: $0) }
    }

    /// Equal ignoring ASCII case to these uncompressed wire bytes.
    func matches(wire other: UnsafeRawBufferPointer) -> Bool {
        guard wire.count == other.count else { return false }
        for index in wire.indices where Self.foldCase(wire[index]) != Self.foldCase(other[index]) {
            return false
        }
        return true
    }

    @inline(__always)
    static func foldCase(_ byte: UInt8) -> UInt8 {
        (byte >= 0x41 && byte <= 0x5A) ? byte | 0x20 : byte
    }

    /// Presentation form for logs, with RFC 1035 escapes for dots, backslashes
    /// and non-printable octets.
    public var description: String {
        var text = ""
        var index = 0
        while index < wire.count {
            let length = Int(wire[index])
            if length == 0 { break }
            index += 1
            for octet in wire[index..<min(index + length, wire.count)] {
                switch octet {
                case UInt8(ascii: "."), UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: ";"), UInt8(ascii: "("), UInt8(ascii: ")"):
                    text += "\\" + String(UnicodeScalar(octet))
                case 0x21...0x7E:
                    text += String(UnicodeScalar(octet))
                default:
                    let digits = String(octet)
                    text += "\\" + String(repeating: "0", count: 3 - digits.count) + digits
                }
            }
            text += "."
            index += length
        }
        return text.isEmpty ? "." : text
    }
}
