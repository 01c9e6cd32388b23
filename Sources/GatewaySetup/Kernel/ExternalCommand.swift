import DNSForward
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RawUDP

/// A program (`nft`, `ip`, `ss`) run to completion with its output captured.
public struct ExternalCommand: Sendable, CustomStringConvertible {
    public let program: String
    public let arguments: [String]
    /// Written to the program's standard input (for `nft -f -`).
    public var input: String?

    public init(_ program: String, _ arguments: [String], input: String? = nil) {
        self.program = program
        self.arguments = arguments
        self.input = input
    }

    /// The command as a user would type it, for error messages.
    public var description: String { ([program] + arguments).joined(separator: " ") }

    public struct Result: Sendable {
        public var status: Int32
        public var output: String
        public var errorOutput: String
    }

    /// Runs the program; a non-zero exit is a result, not an error.
    public func run() throws(ExternalCommandError) -> Result {
        guard let path = Self.locate(program) else {
            throw ExternalCommandError(command: description, reason: .notFound)
        }
        var environment = ProcessInfo.processInfo.environment
        environment["LC_ALL"] = "C" // messages we quote and parse stay in English
        let child = ChildProcess(path: path, arguments: arguments, environment: environment.map { "\($0.key)=\($0.value)" })
        do {
            let outcome = try child.run(input: input.map { Array($0.utf8) })
            return Result(status: outcome.status, output: String(decoding: outcome.output, as: UTF8.self),
                          errorOutput: String(decoding: outcome.errorOutput, as: UTF8.self))
        } catch {
            throw ExternalCommandError(command: description, reason: .couldNotStart("\(error)"))
        }
    }

    /// Runs the program and returns its output; a non-zero exit throws with its stderr.
    @discardableResult
    public func runChecked() throws(ExternalCommandError) -> String {
        let result = try run()
        guard result.status == 0 else {
            throw ExternalCommandError(command: description, reason: .failed(status: result.status, message: result.errorOutput))
        }
        return result.output
    }

    /// `$PATH`, then the sbin directories a non-root user's PATH often lacks.
    public static func locate(_ program: String) -> String? {
        if program.contains("/") { return FileManager.default.isExecutableFile(atPath: program) ? program : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        return directories.lazy.map { $0 + "/" + program }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// A program that could not run or failed, with the command line and what it said.
public struct ExternalCommandError: Error, CustomStringConvertible {
    public enum Reason: Sendable {
        case notFound
        case couldNotStart(String)
        case failed(status: Int32, message: String)
    }

    public let command: String
    public let reason: Reason

    public var description: String {
        let program = command.split(separator: " ").first.map(String.init) ?? command
        switch reason {
        case .notFound:
            let package: String
            switch program {
            case "nft": package = "nftables"
            case "ip", "ss": package = "iproute2"
            default: package = program
            }
            return "`\(command)`: \(program) not found in PATH or /usr/sbin (install \(package))"
        case .couldNotStart(let why):
            return "`\(command)` could not start: \(why)"
        case .failed(let status, let message):
            let text = message.split(separator: "\n").map { $0.trimmingWhitespace() }
                .filter { !$0.isEmpty }.joined(separator: " | ")
            return "`\(command)` failed (exit \(status))" + (text.isEmpty ? "" : ": " + text)
        }
    }
}
