import DNSForward
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RawUDP

/// One HTTP/1.x request to the metrics endpoint: read the request head,
/// answer, close. Enough HTTP for a Prometheus scraper and curl.
final class MetricsConnection: ServedConnection {
    static let requestLimit = 16_384

    let stream: StreamSocket
    let openedAt: MonotonicInstant
    var request: [UInt8] = []
    private var output = OutgoingBytes()
    private(set) var answered = false

    var requestIsIn: Bool { answered }

    init(socket stream: StreamSocket, now: MonotonicInstant) {
        self.stream = stream
        openedAt = now
    }

    /// The request line once the head (up to the blank line) has arrived.
    var requestLine: String? {
        guard let end = request.firstRange(of: [13, 10, 13, 10]) ?? request.firstRange(of: [10, 10]) else { return nil }
        let head = String(decoding: request[..<end.lowerBound], as: UTF8.self)
        return head.split(separator: "\n", maxSplits: 1).first.map { String($0.trimmingWhitespace()) }
    }

    func answer(_ response: [UInt8]) {
        output.append(response)
        answered = true
    }

    func flush() throws(SystemCallError) {
        try output.flush(through: stream.write)
    }

    var finished: Bool { answered && output.pendingCount == 0 }

    static func response(status: String, contentType: String, body: String) -> [UInt8] {
        let bytes = Array(body.utf8)
        let head = "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(bytes.count)\r\nConnection: close\r\n\r\n"
        return Array(head.utf8) + bytes
    }
}
