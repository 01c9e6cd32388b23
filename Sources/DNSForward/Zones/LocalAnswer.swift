/// A reply from a local zone, ready to send to the client.
public struct LocalAnswer: Sendable {
    public let bytes: [UInt8]
    public let code: DNSResponseCode

    public init(bytes: [UInt8], code: DNSResponseCode) {
        self.bytes = bytes
        self.code = code
    }
}
