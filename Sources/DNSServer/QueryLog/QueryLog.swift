import DNSForward
import Dispatch
import RawUDP

#if canImport(Glibc)
import Glibc
#endif

/// `--query-log`: one line per query, written by a background thread from a
/// bounded buffer. The event loop never waits for the disk: when the buffer is
/// full the record is dropped and counted.
final class QueryLog: @unchecked Sendable {
    // @unchecked: `pending`, `dropped`, `written` and `stopping` are only touched
    // with `lock` held; `file` only by the writer thread after init.
    private let lock = PthreadMutex()
    /// Signalled when `pending` turns non-empty or at `close`; a spare signal costs the
    /// writer one empty turn.
    private let work = DispatchSemaphore(value: 0)
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
        DetachedThread.start(name: "query-log") { [self] in writeLoop() }
    }

    /// Queues a record; never blocks beyond a short lock.
    func record(_ record: QueryLogRecord) {
        let wakeWriter = lock.withLock {
            guard pending.count < capacity else {
                dropped += 1
                return false
            }
            pending.append(record)
            return pending.count == 1
        }
        if wakeWriter { work.signal() }
    }

    var counts: (written: Int, dropped: Int) {
        lock.withLock { (written, dropped) }
    }

    /// Writes what is queued, then stops the writer thread.
    func close() {
        lock.withLock { stopping = true }
        work.signal()
        finished.wait()
        fclose(file)
    }

    private func writeLoop() {
        var batch: [QueryLogRecord] = []
        while true {
            let stop = lock.withLock {
                swap(&batch, &pending)
                return stopping && batch.isEmpty
            }
            if stop { break }
            if batch.isEmpty {
                work.wait()
                continue
            }
            var text = ""
            for record in batch { text += record.line }
            fputs(text, file)
            fflush(file)
            lock.withLock { written += batch.count }
            batch.removeAll(keepingCapacity: true)
        }
        finished.signal()
    }
}
