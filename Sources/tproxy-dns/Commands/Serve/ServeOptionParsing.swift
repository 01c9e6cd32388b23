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
        guard let endpoint = IPEndpoint(text, defaultPort: 53) else {
            throw ValidationError("--upstream \(text): not an IP address with optional port (use [v6]:port)")
        }
        return endpoint
    }

    static func upstreamPolicy(_ text: String) throws(ValidationError) -> UpstreamPolicy {
        guard let policy = UpstreamPolicy(rawValue: text) else {
            throw ValidationError("--upstream-policy \(text): use ordered or fastest")
        }
        return policy
    }

    /// `--workers`: a count, or auto for one per online CPU (at most 16: past
    /// that the shared cache's locks and the load spread gain little).
    static func workers(_ text: String) throws(ValidationError) -> Int {
        if text == "auto" { return min(16, max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
        guard let count = Int(text), (1...64).contains(count) else {
            throw ValidationError("--workers \(text): use a count from 1 to 64, or auto")
        }
        return count
    }

    static func allowedPrefix(_ text: String) throws(ValidationError) -> IPPrefix {
        guard let prefix = IPPrefix(text) else {
            throw ValidationError("--allow \(text): not a CIDR prefix like 192.0.2.0/24 or 2001:db8::/32")
        }
        return prefix
    }

    static func refusedAction(_ text: String) throws(ValidationError) -> ClientAdmission.RefusedAction {
        guard let action = ClientAdmission.RefusedAction(rawValue: text) else {
            throw ValidationError("--refused-action \(text): use refuse or drop")
        }
        return action
    }

    static func metricsEndpoint(_ text: String) throws(ValidationError) -> IPEndpoint {
        guard let endpoint = IPEndpoint(text, defaultPort: 9153) else {
            throw ValidationError("--metrics \(text): not an address like 127.0.0.1:9153 or [::1]:9153")
        }
        return endpoint
    }

    static func replyPath(_ text: String) throws(ValidationError) -> DaemonConfiguration.ReplyPath {
        guard let path = DaemonConfiguration.ReplyPath(rawValue: text) else {
            throw ValidationError("--reply-via \(text): use raw or socket-per-source")
        }
        return path
    }

    static func logLevel(_ text: String) throws(ValidationError) -> Logger.Level {
        guard let level = Logger.Level(rawValue: text) else { throw ValidationError("--log-level \(text): unknown level") }
        return level
    }
}
