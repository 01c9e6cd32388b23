import DNSForward
import RawUDP

#if canImport(Glibc)
import Glibc
#endif

/// One answered query, as the event loop hands it over: raw values only, so
/// the hot path pays for a struct copy and the writer thread does the formatting.
struct QueryLogRecord: Sendable {
    var wallClock: timespec
    var client: IPEndpoint
    var originalDestination: IPEndpoint
    var transport: Transport
    var question: DNSQuestion?
    var code: DNSResponseCode
    var answeredFrom: String
    var latency: Duration
    /// The routing-policy rule that decided (`rule=` at the line's end); nil: none applied.
    var rule: String? = nil

    /// `2026-11-25T16:44:51.123Z client=… server=… proto=udp name=… type=A rcode=NOERROR from=cache latency_ms=0.08`
    var line: String {
        var seconds = wallClock.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let millis = Int32(wallClock.tv_nsec / 1_000_000)
        let time = "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(millis, 3))Z"
        let name = question.map { "\($0.name)" } ?? "-"
        let type = question.map { $0.type.mnemonic } ?? "-"
        let (whole, fraction) = latency.components
        let microseconds = whole * 1_000_000 + fraction / 1_000_000_000_000
        let latency = "\(microseconds / 1000).\(pad(Int32(microseconds % 1000), 3))"
        return "\(time) client=\(client) server=\(originalDestination) proto=\(transport.rawValue)"
            + " name=\(name) type=\(type) rcode=\(code) from=\(answeredFrom) latency_ms=\(latency)"
            + (rule.map { " rule=\($0)\n" } ?? "\n")
    }
}
