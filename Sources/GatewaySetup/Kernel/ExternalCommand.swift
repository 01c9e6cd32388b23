import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#endif

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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["LC_ALL"] = "C" // messages we quote and parse stay in English
        process.environment = environment
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        if let input {
            // Written before the program starts, while this process still holds the read
            // end: no SIGPIPE if the program exits without reading, and no deadlock as long
            // as the pipe can hold it all (our rulesets are a few kilobytes).
            let stdin = Pipe()
            let bytes = Array(input.utf8)
            if bytes.count > 65_536 {
                // F_SETPIPE_SZ (a _GNU_SOURCE constant the Glibc module does not export).
                _ = fcntl(stdin.fileHandleForWriting.fileDescriptor, 1031, Int32(min(bytes.count, 1 << 20)))
            }
            guard Self.writeAll(bytes, to: stdin.fileHandleForWriting.fileDescriptor) else {
                throw ExternalCommandError(command: description, reason: .couldNotStart("input of \(bytes.count) bytes does not fit a pipe"))
            }
            try? stdin.fileHandleForWriting.close()
            process.standardInput = stdin.fileHandleForReading
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        do {
            try process.run()
        } catch {
            throw ExternalCommandError(command: description, reason: .couldNotStart("\(error)"))
        }
        // stderr drains on another thread so a program filling one pipe while we wait on
        // the other cannot stall both of us.
        let errorText = CapturedText()
        let group = DispatchGroup()
        let errorHandle = errors.fileHandleForReading
        DispatchQueue.global().async(group: group) {
            errorText.set(String(decoding: errorHandle.readDataToEndOfFile(), as: UTF8.self))
        }
        let outputText = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        group.wait()
        process.waitUntilExit()
        let status = process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
        return Result(status: status, output: outputText, errorOutput: errorText.value)
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

    private static func writeAll(_ bytes: [UInt8], to fd: Int32) -> Bool {
        // Non-blocking: a full pipe is a failure, never a hang.
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }
}

/// Text one thread sets and another reads after `DispatchGroup.wait()`.
// @unchecked Sendable: every access holds `lock`.
private final class CapturedText: @unchecked Sendable {
    private let lock = NSLock()
    private var text = ""

    func set(_ value: String) { lock.withLock { text = value } }
    var value: String { lock.withLock { text } }
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
            let text = message.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }.joined(separator: " | ")
            return "`\(command)` failed (exit \(status))" + (text.isEmpty ? "" : ": " + text)
        }
    }
}
