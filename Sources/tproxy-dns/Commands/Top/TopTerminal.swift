#if canImport(Glibc)
import Glibc
#endif

/// The terminal while `top` runs: keys read one at a time without echo, the alternate
/// screen, the cursor hidden; all put back by `restore()` (also on Ctrl-C).
final class TopTerminal {
    private var saved = termios()
    private let isTerminal: Bool
    /// Standard input reached its end (not a terminal, e.g. `< /dev/null`): stop polling it.
    private var inputClosed = false

    init() {
        isTerminal = isatty(STDIN_FILENO) == 1 && tcgetattr(STDIN_FILENO, &saved) == 0
        guard isTerminal else { return }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        tcsetattr(STDIN_FILENO, TCSANOW, &raw)
        TopTerminal.savedForSignal = saved
        signal(SIGINT) { _ in
            var settings = TopTerminal.savedForSignal
            tcsetattr(STDIN_FILENO, TCSANOW, &settings)
            _ = write(STDOUT_FILENO, TopTerminal.leave, TopTerminal.leave.utf8.count)
            _exit(130)
        }
        Self.emit(Self.enter)
    }

    /// The alternate screen and a hidden cursor, and their undoing.
    private static let enter = "\u{1B}[?1049h\u{1B}[?25l"
    private static let leave = "\u{1B}[?25h\u{1B}[?1049l"
    // Read only by the SIGINT handler, written once before it is installed.
    nonisolated(unsafe) private static var savedForSignal = termios()

    func draw(_ lines: [String]) {
        // Home, then each line cleared to its end, then the rest of the screen cleared.
        Self.emit("\u{1B}[H" + lines.map { $0 + "\u{1B}[K" }.joined(separator: "\n") + "\u{1B}[J")
    }

    /// Waits up to `milliseconds` for a key; true when it was `q` (or Q).
    func waitForQuit(milliseconds: Int) -> Bool {
        var clock = timespec()
        clock_gettime(CLOCK_MONOTONIC, &clock)
        let deadline = Int(clock.tv_sec) * 1000 + Int(clock.tv_nsec) / 1_000_000 + milliseconds
        while true {
            clock_gettime(CLOCK_MONOTONIC, &clock)
            let left = deadline - (Int(clock.tv_sec) * 1000 + Int(clock.tv_nsec) / 1_000_000)
            if left <= 0 { return false }
            if inputClosed {
                usleep(useconds_t(left * 1000))
                return false
            }
            var input = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
            guard poll(&input, 1, Int32(left)) > 0 else { continue }
            var key: UInt8 = 0
            let count = read(STDIN_FILENO, &key, 1)
            if count <= 0 { inputClosed = true; continue }
            if key == UInt8(ascii: "q") || key == UInt8(ascii: "Q") { return true }
        }
    }

    func restore() {
        guard isTerminal else { return }
        tcsetattr(STDIN_FILENO, TCSANOW, &saved)
        Self.emit(Self.leave)
    }

    /// Straight to the descriptor: a frame is one write, and nothing sits in stdio's buffer.
    private static func emit(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { return }
            bytes = bytes.dropFirst(written)
        }
    }
}
