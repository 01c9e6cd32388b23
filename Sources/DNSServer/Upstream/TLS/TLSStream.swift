internal import COpenSSL
import RawUDP

/// One TLS client session over memory BIOs: OpenSSL does the protocol and
/// the verification, the connection moves the bytes. Keeping the socket out of
/// OpenSSL lets the daemon's poller and its own non-blocking stream code
/// (MSG_NOSIGNAL, errno with the call) carry the traffic, and makes
/// SSL_ERROR_WANT_READ simply "feed me what the socket brings".
final class TLSStream {
    private let ssl: OpaquePointer
    private let networkIn: OpaquePointer
    private let networkOut: OpaquePointer
    /// What the certificate must match, for the log line when it does not.
    let expectedName: String
    /// The newest session the server sent (`TLSClientContext`'s new-session callback).
    var receivedSession: TLSSessionTicket?

    init(context: TLSClientContext, serverName: String?, address: IPAddress, session: TLSSessionTicket?) throws(TLSFailure) {
        guard let ssl = SSL_new(context.pointer) else { throw TLSFailure.fromErrorQueue("SSL_new") }
        guard let networkIn = BIO_new(BIO_s_mem()), let networkOut = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw TLSFailure.fromErrorQueue("BIO_new(memory)")
        }
        // From here SSL_free frees both BIOs.
        SSL_set_bio(ssl, networkIn, networkOut)
        SSL_set_connect_state(ssl)
        self.ssl = ssl
        self.networkIn = networkIn
        self.networkOut = networkOut
        let parameters = SSL_get0_param(ssl)
        if let serverName {
            expectedName = serverName
            guard copenssl_set_tlsext_host_name(ssl, serverName) == 1,
                  X509_VERIFY_PARAM_set1_host(parameters, serverName, 0) == 1 else {
                throw TLSFailure.fromErrorQueue("expected name \(serverName)")
            }
        } else {
            // RFC 7858 without a name: the address must be among the certificate's IP SANs.
            expectedName = address.description
            guard X509_VERIFY_PARAM_set1_ip_asc(parameters, address.description) == 1 else {
                throw TLSFailure.fromErrorQueue("expected address \(address)")
            }
        }
        if let session { SSL_set_session(ssl, session.pointer) }
        // Unretained: the SSL dies in our deinit, so the callback never outlives us.
        SSL_set_ex_data(ssl, 0, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit { SSL_free(ssl) }

    /// Hands OpenSSL what the socket read.
    func receive(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        // A memory BIO grows as needed: the write takes everything.
        _ = BIO_write(networkIn, base, Int32(bytes.count))
    }

    /// What OpenSSL wants sent, appended to `out`.
    func takeOutgoing(into out: inout [UInt8]) {
        let pending = Int(BIO_ctrl_pending(networkOut))
        guard pending > 0 else { return }
        let start = out.count
        out += repeatElement(0, count: pending)
        let read = out.withUnsafeMutableBytes { BIO_read(networkOut, $0.baseAddress! + start, Int32(pending)) }
        out.removeLast(pending - Int(max(0, read)))
    }

    /// Advances the handshake; true once it is complete and the chain verified.
    func handshake() throws(TLSFailure) -> Bool {
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 { return true }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return false
        case SSL_ERROR_SSL:
            let verdict = SSL_get_verify_result(ssl)
            if verdict != X509_V_OK { throw TLSFailure.certificate(verdict, expected: expectedName) }
            throw TLSFailure.fromErrorQueue("TLS handshake")
        default:
            throw TLSFailure(operation: "TLS handshake", reason: "connection closed by the server")
        }
    }

    /// Encrypts `plaintext` for the socket (a memory BIO never blocks the write).
    func write(_ plaintext: [UInt8]) throws(TLSFailure) {
        ERR_clear_error()
        let written = plaintext.withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
        if written <= 0 { throw TLSFailure.fromErrorQueue("SSL_write") }
    }

    /// Decrypted bytes: a count, 0 when the server closed the session, nil
    /// when OpenSSL needs more from the socket.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(TLSFailure) -> Int? {
        ERR_clear_error()
        let count = SSL_read(ssl, buffer.baseAddress, Int32(min(buffer.count, Int(Int32.max))))
        if count > 0 { return Int(count) }
        switch SSL_get_error(ssl, count) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return nil
        case SSL_ERROR_ZERO_RETURN: return 0
        default: throw TLSFailure.fromErrorQueue("SSL_read")
        }
    }

    /// Sends close_notify. Without it SSL_free takes the connection for broken
    /// and marks its session (the one we keep) not resumable.
    func shutdown() {
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    var wasResumed: Bool { SSL_session_reused(ssl) == 1 }

    /// "TLSv1.3" and the like, for the log line when a connection is ready.
    var protocolVersion: String { SSL_get_version(ssl).map { String(cString: $0) } ?? "unknown" }

    /// The session to offer next time, once the server sent a resumable one; each is taken once.
    func takeReceivedSession() -> TLSSessionTicket? {
        defer { receivedSession = nil }
        guard let session = receivedSession, SSL_SESSION_is_resumable(session.pointer) == 1 else { return nil }
        return session
    }

    /// SHA-256 of each verified certificate's SubjectPublicKeyInfo, leaf first.
    func chainKeyDigests() -> [[UInt8]] {
        let chain = SSL_get0_verified_chain(ssl)
        return (0..<copenssl_chain_count(chain)).compactMap { index in
            guard let certificate = copenssl_chain_at(chain, index),
                  let key = X509_get_X509_PUBKEY(certificate) else { return nil }
            return Self.sha256OfDER(key)
        }
    }

    private static func sha256OfDER(_ key: OpaquePointer) -> [UInt8]? {
        let length = i2d_X509_PUBKEY(key, nil)
        guard length > 0 else { return nil }
        var der = [UInt8](repeating: 0, count: Int(length))
        der.withUnsafeMutableBufferPointer { buffer in
            var cursor = buffer.baseAddress
            _ = i2d_X509_PUBKEY(key, &cursor)
        }
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var digestLength: UInt32 = 0
        guard EVP_Digest(der, der.count, &digest, &digestLength, EVP_sha256(), nil) == 1 else { return nil }
        return Array(digest.prefix(Int(digestLength)))
    }
}
