import DNSForward
import Foundation
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
}

/// `--query-log`: one line per query, written by a background thread from a
/// bounded buffer. The event loop never waits for the disk: when the buffer is
/// full the record is dropped and counted.
final class QueryLog: @unchecked Sendable {
    // @unchecked: `pending`, `dropped`, `written` and `stopping` are only touched
    // with `condition` locked; `file` only by the writer thread after init.
    private let condition = NSCondition()
    private var pending: [QueryLogRecord] = []
    private var dropped = 0
    private var written = 0
    private var stopping = false
    private let capacity: Int
    private let file: UnsafeMutablePointer<FILE>
    private let finished = DispatchSemaphore(value: 0)

    /// `path` "-" is standard output. Throws if the file cannot be opened.
    init(path: String, capacity: Int = 65_536) throws {
        self.capacity = capacity
        // Standard output through its own FILE (a dup), so closing it is uniform.
        let opened = path == "-" ? fdopen(dup(STDOUT_FILENO), "a") : fopen(path, "a")
        guard let opened else { throw SystemCallError(call: "fopen(\(path))", errno: errno) }
        file = opened
        pending.reserveCapacity(1024)
        let thread = Thread { [self] in writeLoop() }
        thread.name = "query-log"
        thread.start()
    }

    /// Queues a record; never blocks beyond a short lock.
    func record(_ record: QueryLogRecord) {
        condition.lock()
        if pending.count >= capacity {
            dropped += 1
        } else {
            pending.append(record)
            if pending.count == 1 { condition.signal() }
        }
        condition.unlock()
    }

    var counts: (written: Int, dropped: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (written, dropped)
    }

    /// Writes what is queued, then stops the writer thread.
    func close() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
        finished.wait()
        fclose(file)
    }

    private func writeLoop() {
        var batch: [QueryLogRecord] = []
        while true {
            condition.lock()
            while pending.isEmpty, !stopping { condition.wait() }
            swap(&batch, &pending)
            let stop = stopping && batch.isEmpty
            condition.unlock()
            if stop { break }
            var text = ""
            for record in batch { text += Self.format(record) }
            fputs(text, file)
            fflush(file)
            condition.lock()
            written += batch.count
            condition.unlock()
            batch.removeAll(keepingCapacity: true)
        }
        finished.signal()
    }

    /// `2026-11-25T16:44:51.123Z client=… server=… proto=udp name=… type=A rcode=NOERROR from=cache latency_ms=0.08`
    static func format(_ record: QueryLogRecord) -> String {
        var seconds = record.wallClock.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let millis = Int32(record.wallClock.tv_nsec / 1_000_000)
        let time = "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(millis, 3))Z"
        let name = record.question.map { "\($0.name)" } ?? "-"
        let type = record.question.map { $0.type.mnemonic } ?? "-"
        let (whole, fraction) = record.latency.components
        let microseconds = whole * 1_000_000 + fraction / 1_000_000_000_000
        let latency = "\(microseconds / 1000).\(pad(Int32(microseconds % 1000), 3))"
        return "\(time) client=\(record.client) server=\(record.originalDestination) proto=\(record.transport.rawValue)"
            + " name=\(name) type=\(type) rcode=\(record.code) from=\(record.answeredFrom) latency_ms=\(latency)\n"
    }
}
