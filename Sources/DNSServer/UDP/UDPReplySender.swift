import DNSForward
import Logging
import RawUDP

#if canImport(Glibc)
import Glibc
#endif

/// UDP replies with the address the client targeted as their source: queued
/// on the raw socket's batch and sent per round (or, for comparison, through
/// a transparent socket bound to that address). A reply too large for the
/// route goes again as header and question with TC, so the client retries
/// over TCP: the kernel does not fragment headers we wrote ourselves.
final class UDPReplySender {
    /// Where a queued reply goes, kept until the batch is sent in case the
    /// kernel refuses it as too large (the bytes come back from the batch).
    private struct QueuedReply {
        let source: IPEndpoint
        let client: IPEndpoint
    }

    private let path: DaemonConfiguration.ReplyPath
    /// The raw socket (CAP_NET_RAW): opened for the raw path only.
    private let raw: RawReplySender?
    /// Socket-per-source only: the bound sockets, read like the main receiver.
    let sourceSockets: SourceSocketTable?
    private var queued: [QueuedReply] = []
    private(set) var sendFailures = 0
    /// Failures can repeat per packet: rate-limited.
    private let warnings: RateLimitedLogger

    init(path: DaemonConfiguration.ReplyPath, mark: UInt32?, sourceSockets: SourceSocketTable?,
         warnings: RateLimitedLogger) throws(SystemCallError) {
        self.path = path
        raw = path == .raw ? try RawReplySender(mark: mark) : nil
        self.sourceSockets = sourceSockets
        self.warnings = warnings
    }

    func send(_ bytes: [UInt8], from source: IPEndpoint, to client: IPEndpoint) {
        bytes.withUnsafeBytes { send($0, from: source, to: client) }
    }

    func send(_ bytes: UnsafeRawBufferPointer, from source: IPEndpoint, to client: IPEndpoint) {
        do {
            switch path {
            case .raw:
                // The batch keeps its own copy; a reply the kernel refuses comes back from it.
                try raw?.enqueue(bytes, from: source, to: client, ordinal: queued.count)
                queued.append(QueuedReply(source: source, client: client))
            case .socketPerSource:
                try sourceSockets?.socket(for: source).send(bytes, to: client)
            }
        } catch {
            if Self.isTooLarge(error), sendTruncated(bytes, from: source, to: client) { return }
            failed(client: client, error: error)
        }
    }

    /// Sends the queued raw replies.
    func flush() {
        guard !queued.isEmpty, let raw else { return }
        var failures: [(ordinal: Int, error: RawSendError, payload: [UInt8])] = []
        raw.flush { failures.append(($0, $1, Array($2))) }
        for failure in failures {
            let reply = queued[failure.ordinal]
            if failure.error.isTooLarge, failure.payload.withUnsafeBytes({ sendTruncated($0, from: reply.source, to: reply.client) }) {
                continue
            }
            failed(client: reply.client, error: failure.error)
        }
        queued.removeAll(keepingCapacity: true)
    }

    /// The one truncation fallback: header and question with TC, sent at once.
    private func sendTruncated(_ bytes: UnsafeRawBufferPointer, from source: IPEndpoint, to client: IPEndpoint) -> Bool {
        guard let truncated = ResponseBuilder.truncated(reply: Array(bytes)), truncated.count < bytes.count else { return false }
        do {
            switch path {
            case .raw: try truncated.withUnsafeBytes { try raw?.send($0, from: source, to: client) }
            case .socketPerSource: try truncated.withUnsafeBytes { try sourceSockets?.socket(for: source).send($0, to: client) }
            }
            return true
        } catch {
            return false
        }
    }

    private static func isTooLarge(_ error: any Error) -> Bool {
        if let error = error as? RawSendError { return error.isTooLarge }
        if let error = error as? SystemCallError { return error.errno == EMSGSIZE }
        return false
    }

    private func failed(client: IPEndpoint, error: any Error) {
        sendFailures += 1
        warnings.warning("sending reply failed", metadata: ["client": "\(client)", "error": "\(error)"])
    }
}
