import DNSForward
import Logging
import RawUDP

#if canImport(Glibc)
import Glibc
#endif

/// Every answer sent, counted by response code and, when asked for, written
/// to the query log and the debug log.
final class AnswerRecorder {
    private(set) var responseCodes = ResponseCodeCounts()
    let queryLog: QueryLog?
    /// Whether each answer is logged (query log, debug lines): fixed at start.
    let logsEveryAnswer: Bool
    private let upstreamNames: [String]
    /// `RoutingPolicy.ruleNames`, for the query log's `rule=`; fixed at start (a
    /// reload that would change them needs a restart).
    private let ruleNames: [String]
    private let logger: Logger

    init(queryLog: QueryLog?, upstreamNames: [String], ruleNames: [String] = [], logger: Logger) {
        self.ruleNames = ruleNames
        self.queryLog = queryLog
        self.upstreamNames = upstreamNames
        self.logger = logger
        logsEveryAnswer = queryLog != nil || logger.logLevel <= .debug
    }

    func record(_ client: ClientContext, _ details: ReplyDetails, byteCount: Int) {
        responseCodes.record(details.code)
        guard logsEveryAnswer else { return }
        if let queryLog { queryLog.record(logRecord(client, details)) }
        if logger.logLevel <= .debug {
            logger.debug("answered", metadata: [
                "client": "\(client.client)", "original_destination": "\(client.originalDestination)",
                "rcode": "\(details.code)", "source": "\(details.source)", "bytes": "\(byteCount)",
                "rule": "\(details.rule.map(ruleName) ?? "-")",
            ])
        }
    }

    /// An answer counted but not logged: the cache fast path when nothing
    /// logs every answer.
    func count(_ code: DNSResponseCode) {
        responseCodes.record(code)
    }

    /// A refusal made before any parsing (admission): counted, not logged.
    func recordRefusal() {
        responseCodes.record(.refused)
    }

    private func ruleName(_ index: Int) -> String { index < ruleNames.count ? ruleNames[index] : "#\(index)" }

    private func logRecord(_ client: ClientContext, _ details: ReplyDetails) -> QueryLogRecord {
        var wallClock = timespec()
        clock_gettime(CLOCK_REALTIME, &wallClock)
        let answeredFrom: String
        switch details.source {
        case .upstream(let index): answeredFrom = index < upstreamNames.count ? "upstream:\(upstreamNames[index])" : "passthrough"
        default: answeredFrom = details.source.description
        }
        return QueryLogRecord(wallClock: wallClock, client: client.client, originalDestination: client.originalDestination,
                              transport: client.transport, question: details.question, code: details.code,
                              answeredFrom: answeredFrom, latency: details.receivedAt.duration(to: .now),
                              rule: details.rule.map(ruleName))
    }
}
