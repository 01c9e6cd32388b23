import DNSForward
import Foundation
import RawUDP

#if canImport(Glibc)
import Glibc
#endif

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

    /// `path` "-" is standard output; a file is opened by `QueryLogFile`'s
    /// rules for `owner` (the daemon's user after `--user`). Throws if it
    /// cannot be opened or is refused.
    init(path: String, owner: uid_t = geteuid(), capacity: Int = 65_536) throws {
        self.capacity = capacity
        // Standard output through its own FILE (a dup), so closing it is uniform.
        let fd = path == "-" ? dup(STDOUT_FILENO) : try QueryLogFile.open(path: path, owner: owner)
        guard let opened = fdopen(fd, "a") else {
            let error = errno
            if fd >= 0 { Glibc.close(fd) }
            throw SystemCallError(call: "fdopen(--query-log \(path))", errno: error)
        }
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
            for record in batch { text += record.line }
            fputs(text, file)
            fflush(file)
            condition.lock()
            written += batch.count
            condition.unlock()
            batch.removeAll(keepingCapacity: true)
        }
        finished.signal()
    }
}
