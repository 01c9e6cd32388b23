/// One line of `tproxy-dns doctor`: a verdict, what was found, and how to fix it.
public struct DoctorFinding: Equatable, Sendable, CustomStringConvertible {
    public enum Level: Sendable { case ok, warn, fail }

    public var level: Level
    public var message: String
    public var fix: String?

    public static func ok(_ message: String) -> DoctorFinding { DoctorFinding(level: .ok, message: message) }
    public static func warn(_ message: String, fix: String? = nil) -> DoctorFinding { DoctorFinding(level: .warn, message: message, fix: fix) }
    public static func fail(_ message: String, fix: String? = nil) -> DoctorFinding { DoctorFinding(level: .fail, message: message, fix: fix) }

    public var description: String {
        let prefix = switch level {
        case .ok: "ok   "
        case .warn: "WARN "
        case .fail: "FAIL "
        }
        return prefix + message + (fix.map { ". Fix: " + $0 } ?? "")
    }
}
