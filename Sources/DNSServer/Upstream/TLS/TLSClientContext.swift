internal import COpenSSL

/// The OpenSSL client settings every DNS-over-TLS connection of a loop shares:
/// TLS 1.2 or later only (RFC 8310 5), the peer's chain verified against
/// `--upstream-ca` or the system trust store, and a client session cache
/// mode that hands sessions to us (`TLSSessionTicket`) for resumption.
final class TLSClientContext {
    let pointer: OpaquePointer

    init(caFile: String?) throws(TLSFailure) {
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw TLSFailure.fromErrorQueue("SSL_CTX_new") }
        do {
            try Self.configure(context, caFile: caFile)
        } catch {
            SSL_CTX_free(context)
            throw error
        }
        pointer = context
    }

    deinit { SSL_CTX_free(pointer) }

    private static func configure(_ context: OpaquePointer, caFile: String?) throws(TLSFailure) {
        guard copenssl_ctx_set_min_proto_version(context, TLS1_2_VERSION) == 1 else {
            throw TLSFailure.fromErrorQueue("SSL_CTX_set_min_proto_version(TLS 1.2)")
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        if let caFile {
            guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else {
                throw TLSFailure.fromErrorQueue("--upstream-ca \(caFile)")
            }
        } else if SSL_CTX_set_default_verify_paths(context) != 1 {
            throw TLSFailure.fromErrorQueue("SSL_CTX_set_default_verify_paths")
        }
        // We keep one session per upstream ourselves; OpenSSL's internal
        // client store would only grow. Each ticket the server sends (TLS 1.3
        // sends them after the handshake, and again after a resumption) comes
        // to the stream it arrived on, which hands the newest to the pool.
        _ = copenssl_ctx_set_session_cache_mode(context, Int(SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE))
        SSL_CTX_sess_set_new_cb(context) { ssl, session in
            guard let ssl, let session, let owner = SSL_get_ex_data(ssl, 0) else { return 0 }
            // Returning 1 keeps the reference OpenSSL passed: the ticket object now owns it.
            Unmanaged<TLSStream>.fromOpaque(owner).takeUnretainedValue().receivedSession = TLSSessionTicket(session)
            return 1
        }
    }
}

/// A session an upstream handed us (a TLS 1.3 ticket or a 1.2 session),
/// offered on the next connection to it to skip the certificate exchange.
final class TLSSessionTicket {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    deinit { SSL_SESSION_free(pointer) }
}
