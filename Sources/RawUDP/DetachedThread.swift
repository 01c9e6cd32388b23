#if canImport(Glibc)
import Glibc
#endif

/// A named thread that runs one closure and ends (no join): the daemon's workers, the query
/// log's writer, the echo benchmark's workers.
///
/// Why not Foundation's `Thread`: it is in full Foundation only, and full Foundation costs
/// the static binary some 40 MB of internationalization data (issue 21).
public enum DetachedThread {
    /// Starts `body` on a new thread named `name` (15 bytes kept; best effort). A thread that
    /// cannot be created is a resource failure the caller could not serve around: it stops
    /// the process with the errno, as `Thread.start()` did.
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Job(name: name, body: body)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { argument in
            let job = Unmanaged<Job>.fromOpaque(argument!).takeRetainedValue()
            try? CurrentThread.setName(job.name)
            job.body()
            return nil
        }, box)
        guard status == 0 else {
            Unmanaged<Job>.fromOpaque(box).release()
            fatalError("\(SystemCallError(call: "pthread_create(\(name))", errno: status))")
        }
        pthread_detach(thread)
    }

    private final class Job {
        let name: String
        let body: @Sendable () -> Void

        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }
}
