import Foundation
import Logging

/// A Logger whose lines are kept for the test to read.
final class CapturedLog: @unchecked Sendable {
    // @unchecked: `lines` is touched only with `lock` held.
    private let lock = NSLock()
    private var stored: [(level: Logger.Level, message: String, metadata: Logger.Metadata)] = []

    var lines: [(level: Logger.Level, message: String, metadata: Logger.Metadata)] {
        lock.withLock { stored }
    }

    var messages: [String] { lines.map(\.message) }

    lazy var logger = Logger(label: "test") { _ in Handler(log: self) }

    fileprivate func append(_ level: Logger.Level, _ message: String, _ metadata: Logger.Metadata) {
        lock.withLock { stored.append((level, message, metadata)) }
    }

    private struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            log.append(event.level, "\(event.message)", event.metadata ?? [:])
        }
    }
}
