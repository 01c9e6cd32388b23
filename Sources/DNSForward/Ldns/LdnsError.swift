internal import CLdns

/// An ldns call that failed: the operation, ldns's status code and its text.
public struct LdnsError: Error, Equatable, Sendable, CustomStringConvertible {
    public let operation: String
    public let status: Int32
    public let message: String

    init(operation: String, status: ldns_status) {
        self.operation = operation
        self.status = Int32(status.rawValue)
        message = ldns_get_errorstr_by_id(status).map { String(cString: $0) } ?? "unknown ldns status"
    }

    init(operation: String, message: String) {
        self.operation = operation
        status = -1
        self.message = message
    }

    public var description: String { "\(operation): \(message) (ldns status \(status))" }
}
