/// One line of `tproxy-dns doctor`: a verdict, what was found, and how to fix it.
struct DoctorFinding: Equatable, Sendable, CustomStringConvertible {
    enum Level: Sendable { case ok, warn, fail }

    var level: Level
    var message: String
    var fix: String?

    static func ok(_ message: String) -> DoctorFinding { DoctorFinding(level: .ok, message: message) }
    static func warn(_ message: String, fix: String? = nil) -> DoctorFinding { DoctorFinding(level: .warn, message: message, fix: fix) }
    static func fail(_ message: String, fix: String? = nil) -> DoctorFinding { DoctorFinding(level: .fail, message: message, fix: fix) }

    var description: String {
        let prefix = switch level {
        case .ok: "ok   "
        case .warn: "WARN "
        case .fail: "FAIL "
        }
        return prefix + message + (fix.map { ". Fix: " + $0 } ?? "")
    }
}
