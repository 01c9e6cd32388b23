import RawUDP

#if canImport(Glibc)
import Glibc
#endif

/// One program run with `posix_spawn`: standard input from bytes written up front (or
/// /dev/null), standard output and error read to the end, the exit status waited for.
///
/// Why not Foundation's `Process`/`Pipe`: they are in full Foundation only, which costs the
/// static binary some 40 MB (issue 21).
struct ChildProcess {
    struct Outcome {
        /// The exit code, or 128 + the signal that ended it (as a shell reports it).
        var status: Int32
        var output: [UInt8]
        var errorOutput: [UInt8]
    }

    let path: String
    let arguments: [String]
    let environment: [String]

    func run(input: [UInt8]?) throws(SystemCallError) -> Outcome {
        let stdin: Int32
        if let input { stdin = try Self.filledPipe(input) } else { stdin = try Self.nullDevice() }
        defer { close(stdin) }
        let output = try Self.pipe(), errors = try Self.pipe()
        let pid: pid_t
        do {
            pid = try spawn(stdin: stdin, stdout: output.write, stderr: errors.write)
        } catch {
            [output.read, output.write, errors.read, errors.write].forEach { _ = close($0) }
            throw error
        }
        close(output.write)
        close(errors.write)
        let (out, err) = Self.drain(output.read, errors.read)
        return Outcome(status: try Self.wait(pid), output: out, errorOutput: err)
    }

    private func spawn(stdin: Int32, stdout: Int32, stderr: Int32) throws(SystemCallError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        // The child starts with no signal blocked and every signal at its default: the daemon
        // blocks its signals for signalfd, and a test runner may ignore some; a program must not
        // inherit either (Foundation's Process resets them too).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid = pid_t()
        let status = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        // posix_spawn returns the error number instead of setting errno.
        guard status == 0 else { throw SystemCallError(call: "posix_spawn(\(path))", errno: status) }
        return pid
    }

    /// A pipe whose ends close in the child at exec (dup2 clears the flag on 0–2).
    private static func pipe() throws(SystemCallError) -> (read: Int32, write: Int32) {
        var ends: [Int32] = [-1, -1]
        guard Glibc.pipe(&ends) == 0 else { throw SystemCallError(call: "pipe", errno: errno) }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        return (ends[0], ends[1])
    }

    /// The read end of a pipe already holding `bytes`, written before the program starts:
    /// no SIGPIPE if it exits without reading, no deadlock (our rulesets are a few kilobytes;
    /// the pipe grows to 1 MiB for more, and more than fits is an error, never a hang).
    private static func filledPipe(_ bytes: [UInt8]) throws(SystemCallError) -> Int32 {
        let ends = try pipe()
        defer { close(ends.write) }
        if bytes.count > 65_536 {
            // F_SETPIPE_SZ (a _GNU_SOURCE constant the Glibc module does not export).
            _ = fcntl(ends.write, 1031, Int32(min(bytes.count, 1 << 20)))
        }
        _ = fcntl(ends.write, F_SETFL, fcntl(ends.write, F_GETFL) | O_NONBLOCK)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(ends.write, $0.baseAddress! + offset, bytes.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                let error = errno
                close(ends.read)
                throw SystemCallError(call: "write(input of \(bytes.count) bytes to a pipe)", errno: error)
            }
            offset += written
        }
        return ends.read
    }

    private static func nullDevice() throws(SystemCallError) -> Int32 {
        let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemCallError(call: "open(/dev/null)", errno: errno) }
        return fd
    }

    /// Reads both pipes to their ends with poll, so a program filling one while we wait on
    /// the other cannot stall both of us; closes them.
    private static func drain(_ first: Int32, _ second: Int32) -> ([UInt8], [UInt8]) {
        var collected: [[UInt8]] = [[], []]
        var fds = [pollfd(fd: first, events: Int16(POLLIN), revents: 0), pollfd(fd: second, events: Int16(POLLIN), revents: 0)]
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while fds.contains(where: { $0.fd >= 0 }) {
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            for slot in fds.indices where fds[slot].fd >= 0 && fds[slot].revents != 0 {
                let count = read(fds[slot].fd, &chunk, chunk.count)
                if count > 0 {
                    collected[slot] += chunk[..<count]
                } else if count == 0 || errno != EINTR {
                    close(fds[slot].fd)
                    fds[slot].fd = -1 // poll skips negative descriptors
                }
            }
        }
        return (collected[0], collected[1])
    }

    private static func wait(_ pid: pid_t) throws(SystemCallError) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { throw SystemCallError(call: "waitpid(\(pid))", errno: errno) }
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift cannot import (macros).
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}
