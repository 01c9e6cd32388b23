#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The names `--block-list` files block (each with its subdomains), and the
/// lines they skipped. Loaded whole; a reload builds a new one and swaps it in,
/// so a failed reload leaves the old list serving.
public struct BlockList: Sendable {
    public let names: SuffixNameTable
    public let files: [String]
    public let problems: [BlockListProblem]

    public static let empty = BlockList(names: SuffixNameTable(), files: [], problems: [])

    public init(names: SuffixNameTable, files: [String], problems: [BlockListProblem]) {
        self.names = names
        self.files = files
        self.problems = problems
    }

    /// Reads every file in `paths`; a file that cannot be read is an error
    /// (a typo must not silently block nothing), a bad line only a problem.
    public static func load(paths: [String]) throws(BlockListLoadError) -> BlockList {
        guard !paths.isEmpty else { return .empty }
        var contents: [[UInt8]] = []
        for path in paths { contents.append(try Self.contents(of: path)) }
        // Roughly one name per 25 bytes of hosts file: sized once, not grown ten times.
        var table = SuffixNameTable(expectedCount: contents.reduce(0) { $0 + $1.count } / 25)
        var problems: [BlockListProblem] = []
        for (index, bytes) in contents.enumerated() {
            problems += bytes.withUnsafeBytes { BlockListParser.parse($0, file: paths[index], list: UInt32(index), into: &table) }
        }
        table.compact()
        return BlockList(names: table, files: paths, problems: problems)
    }

    static func contents(of path: String) throws(BlockListLoadError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw BlockListLoadError(file: path, call: "open", errno: errno) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw BlockListLoadError(file: path, call: "read", errno: errno) }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[..<count])
        }
    }
}

/// A block-list file that could not be read: which, the call and its errno.
public struct BlockListLoadError: Error, Sendable, CustomStringConvertible {
    public let file: String
    public let call: String
    public let errno: Int32

    public var description: String { "\(file): \(call): \(String(cString: strerror(errno))) (errno \(errno))" }
}
