import ArgumentParser
import DNSForward
import DNSServer
import Logging
import RawUDP

#if canImport(Glibc)
import Glibc
#endif

/// One parser per `serve` option value that is more than a number. Both
/// `validate()` and `daemonConfiguration()` go through these, and a config
/// file becomes flags before parsing, so every path reports the same error
/// for the same bad value and none falls back to a default silently.
enum ServeOptionParsing {
    static func upstream(_ text: String) throws(ValidationError) -> IPEndpoint {
        try parsed(IPEndpoint(text, defaultPort: 53), "--upstream \(text): not an IP address with optional port (use [v6]:port)")
    }

    static func upstreamPolicy(_ text: String) throws(ValidationError) -> UpstreamPolicy {
        try parsed(UpstreamPolicy(rawValue: text), "--upstream-policy \(text): use ordered or fastest")
    }

    /// `--workers`: a count, or auto for one per online CPU (at most 16: past
    /// that the shared cache's locks and the load spread gain little).
    static func workers(_ text: String) throws(ValidationError) -> Int {
        if text == "auto" { return min(16, max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
        return try parsed(Int(text).flatMap { (1...64).contains($0) ? $0 : nil },
                          "--workers \(text): use a count from 1 to 64, or auto")
    }

    /// `--cache-file`: a file path (a directory would make every save fail at exit).
    static func cacheFile(_ text: String) throws(ValidationError) -> String {
        try parsed(text.isEmpty || text.hasSuffix("/") ? nil : text, "--cache-file \(text): give a file path, e.g. /var/lib/tproxy-dns/cache")
    }

    /// `--cache-save-interval`: seconds, 0 for only at exit.
    static func cacheSaveInterval(_ seconds: Int) throws(ValidationError) -> Int {
        try parsed(seconds >= 0 ? seconds : nil, "--cache-save-interval \(seconds): use seconds, or 0 to save only at exit")
    }

    static func allowedPrefix(_ text: String) throws(ValidationError) -> IPPrefix {
        try parsed(IPPrefix(text), "--allow \(text): not a CIDR prefix like 192.0.2.0/24 or 2001:db8::/32")
    }

    static func refusedAction(_ text: String) throws(ValidationError) -> ClientAdmission.RefusedAction {
        try parsed(ClientAdmission.RefusedAction(rawValue: text), "--refused-action \(text): use refuse or drop")
    }

    static func metricsEndpoint(_ text: String) throws(ValidationError) -> IPEndpoint {
        try parsed(IPEndpoint(text, defaultPort: 9153), "--metrics \(text): not an address like 127.0.0.1:9153 or [::1]:9153")
    }

    static func replyPath(_ text: String) throws(ValidationError) -> DaemonConfiguration.ReplyPath {
        try parsed(DaemonConfiguration.ReplyPath(rawValue: text), "--reply-via \(text): use raw or socket-per-source")
    }

    /// A size in bytes: digits, optionally followed by K, M or G (powers of
    /// 1024, either case), e.g. 32M. `option` names the flag in the error.
    static func byteSize(_ text: String, option: String) throws(ValidationError) -> Int {
        let shifts: [Character: Int] = ["k": 10, "m": 20, "g": 30]
        var digits = Substring(text), shift = 0
        if let last = text.last, let suffixShift = shifts[Character(last.lowercased())] {
            digits = digits.dropLast()
            shift = suffixShift
        }
        // Digits only: Int() alone would take "+5".
        let value = digits.allSatisfy { $0.isASCII && $0.isNumber } ? Int(digits) : nil
        return try parsed(value.flatMap { $0 >= 0 && $0 <= Int.max >> shift ? $0 << shift : nil },
                          "\(option) \(text): not a size in bytes like 1048576, 512K, 32M or 1G")
    }

    /// `--max-in-flight-per-client`: 1 to `total` (`--max-in-flight`); nil (not
    /// given) stays nil, the forwarder's default of a quarter of the total.
    /// Out of range is an error rather than a clamp: a quota above the total
    /// would silently mean no quota at all.
    static func inFlightPerClient(_ value: Int?, total: Int) throws(ValidationError) -> Int? {
        guard let value else { return nil }
        return try parsed((1...max(1, total)).contains(value) ? value : nil,
                          "--max-in-flight-per-client \(value): use 1 to --max-in-flight (\(total))")
    }

    /// `--identity`, `--version-string`: one TXT character-string (RFC 1035
    /// 3.3.14), so 1-255 octets; leaving the option out is how to refuse.
    static func serverText(_ text: String, option: String) throws(ValidationError) -> String {
        try parsed((1...255).contains(text.utf8.count) ? text : nil, "--\(option): give 1-255 octets of text, or leave it out to answer REFUSED")
    }

    static func logLevel(_ text: String) throws(ValidationError) -> Logger.Level {
        try parsed(Logger.Level(rawValue: text), "--log-level \(text): unknown level")
    }

    static func parsed<Value>(_ value: Value?, _ error: @autoclosure () -> String) throws(ValidationError) -> Value {
        guard let value else { throw ValidationError(error()) }
        return value
    }
}
