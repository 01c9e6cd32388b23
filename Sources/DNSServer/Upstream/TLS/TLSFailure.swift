internal import COpenSSL

/// Why a TLS connection to an upstream failed, in words for the log line that
/// names the upstream: the OpenSSL operation and its reason, the certificate
/// verifier's verdict, or a pin that matched no certificate of the chain.
public struct TLSFailure: Error, CustomStringConvertible, Sendable {
    public let operation: String
    public let reason: String

    public var description: String { "\(operation): \(reason)" }

    init(operation: String, reason: String) {
        self.operation = operation
        self.reason = reason
    }

    /// The oldest error on this thread's OpenSSL queue (the cause, not the
    /// echo), then the queue emptied so it cannot be blamed on the next call.
    static func fromErrorQueue(_ operation: String) -> TLSFailure {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return TLSFailure(operation: operation, reason: "no OpenSSL reason given") }
        var text = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &text, text.count)
        return TLSFailure(operation: operation, reason: String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// The verifier's result for a failed handshake: "certificate name
    /// mismatch (expected NAME)", or OpenSSL's words such as "unable to get
    /// local issuer certificate" (an unknown CA).
    static func certificate(_ result: Int, expected name: String) -> TLSFailure {
        if result == X509_V_ERR_HOSTNAME_MISMATCH || result == X509_V_ERR_IP_ADDRESS_MISMATCH {
            return TLSFailure(operation: "certificate verification", reason: "certificate name mismatch (expected \(name))")
        }
        let text = X509_verify_cert_error_string(result).map { String(cString: $0) } ?? "verify error \(result)"
        return TLSFailure(operation: "certificate verification", reason: text)
    }
}
