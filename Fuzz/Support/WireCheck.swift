// Shared by the DNS fuzz targets (compiled into each of them, not a module).
// An independent, strict reader of DNS messages: no ldns, no WireReader, so
// the code under test is judged by something it did not write.

#if canImport(Glibc)
import Glibc
#endif

/// Reports a broken invariant: libFuzzer sees the abort as a crash and keeps
/// the input that caused it.
func fuzzFailure(_ message: String, input: [UInt8]? = nil, output: [UInt8]? = nil) -> Never {
    var text = "FUZZ INVARIANT BROKEN: \(message)\n"
    if let input { text += "  input  (\(input.count) bytes): \(hex(input))\n" }
    if let output { text += "  output (\(output.count) bytes): \(hex(output))\n" }
    // write(2), not fputs(stderr): Swift 6 rejects the global C stream.
    _ = text.withCString { write(STDERR_FILENO, $0, strlen($0)) }
    abort()
}

/// FUZZ_TRACE=1 prints how far each input got: to check that seeds reach the
/// code they are meant for (`scripts/fuzz.sh repro TARGET Fuzz/corpus/TARGET/*`).
private let tracing = getenv("FUZZ_TRACE") != nil

func fuzzTrace(_ stage: @autoclosure () -> String) {
    guard tracing else { return }
    let line = "trace: \(stage())\n"
    _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
}

func hex(_ bytes: [UInt8], limit: Int = 600) -> String {
    let digits = Array("0123456789abcdef")
    var text = ""
    for byte in bytes.prefix(limit) { text.append(digits[Int(byte >> 4)]); text.append(digits[Int(byte & 15)]) }
    return bytes.count > limit ? text + "..." : text
}

/// A message parsed strictly: names end or point strictly backwards (RFC 1035
/// 4.1.4, and the only form a decoder can trust), at most 255 octets, every
/// record inside the message and nothing after the last one.
struct StrictMessage {
    struct Record {
        let owner: [UInt8]  // uncompressed, as spelled
        let type: UInt16
        let `class`: UInt16
        let ttl: UInt32
        let rdata: Range<Int>
    }

    let id: UInt16
    let flags: UInt16
    let questionCount: Int
    /// The question section's bytes as they sit in the message (12..<end).
    let questionBytes: Range<Int>
    let questionName: [UInt8]
    let answers: [Record]
    let authority: [Record]
    let additional: [Record]

    var isResponse: Bool { flags & 0x8000 != 0 }
    var isTruncated: Bool { flags & 0x0200 != 0 }
    var rcode: UInt16 { flags & 0xF }
    var optCount: Int { additional.filter { $0.type == 41 }.count }

    /// Nil with a reason when the message is not well formed.
    static func parse(_ bytes: [UInt8]) -> Result<StrictMessage, ParseFailure> {
        do { return .success(try StrictMessage(bytes)) } catch { return .failure(error) }
    }

    struct ParseFailure: Error, CustomStringConvertible {
        let offset: Int
        let reason: String
        var description: String { "\(reason) at offset \(offset)" }
    }

    private init(_ bytes: [UInt8]) throws(ParseFailure) {
        var offset = 0
        func u16() throws(ParseFailure) -> UInt16 {
            guard offset + 2 <= bytes.count else { throw ParseFailure(offset: offset, reason: "short") }
            defer { offset += 2 }
            return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
        }
        func u32() throws(ParseFailure) -> UInt32 { UInt32(try u16()) << 16 | UInt32(try u16()) }
        func records(_ count: UInt16) throws(ParseFailure) -> [Record] {
            var out: [Record] = []
            for _ in 0..<count {
                let (owner, end) = try Self.name(in: bytes, at: offset)
                offset = end
                let type = try u16(), rclass = try u16(), ttl = try u32(), length = Int(try u16())
                guard offset + length <= bytes.count else { throw ParseFailure(offset: offset, reason: "RDATA past the end") }
                out.append(Record(owner: owner, type: type, class: rclass, ttl: ttl, rdata: offset..<(offset + length)))
                offset += length
            }
            return out
        }
        id = try u16()
        flags = try u16()
        let qd = try u16(), an = try u16(), ns = try u16(), ar = try u16()
        guard qd <= 1 else { throw ParseFailure(offset: 4, reason: "\(qd) questions") }
        questionCount = Int(qd)
        if qd == 1 {
            let (name, end) = try Self.name(in: bytes, at: 12)
            questionName = name
            offset = end
            _ = try u16()
            _ = try u16()
        } else {
            questionName = []
        }
        questionBytes = 12..<offset
        answers = try records(an)
        authority = try records(ns)
        additional = try records(ar)
        guard offset == bytes.count else { throw ParseFailure(offset: offset, reason: "\(bytes.count - offset) bytes after the last record") }
    }

    /// The name at `start`, uncompressed, and the offset just past it.
    static func name(in bytes: [UInt8], at start: Int) throws(ParseFailure) -> ([UInt8], Int) {
        var name: [UInt8] = []
        var offset = start
        var end: Int?
        var lowest = start  // every pointer must go below the last place we read
        while true {
            guard offset < bytes.count else { throw ParseFailure(offset: offset, reason: "name past the end") }
            let length = Int(bytes[offset])
            switch length & 0xC0 {
            case 0:
                name.append(UInt8(length))
                guard name.count <= 255 else { throw ParseFailure(offset: offset, reason: "name over 255 octets") }
                if length == 0 { return (name, end ?? offset + 1) }
                guard offset + 1 + length <= bytes.count else { throw ParseFailure(offset: offset, reason: "label past the end") }
                name += bytes[(offset + 1)...(offset + length)]
                guard name.count <= 255 else { throw ParseFailure(offset: offset, reason: "name over 255 octets") }
                offset += 1 + length
            case 0xC0:
                guard offset + 1 < bytes.count else { throw ParseFailure(offset: offset, reason: "pointer past the end") }
                let target = (length & 0x3F) << 8 | Int(bytes[offset + 1])
                guard target < lowest else { throw ParseFailure(offset: offset, reason: "pointer to \(target) does not point backwards") }
                guard target >= 12 else { throw ParseFailure(offset: offset, reason: "pointer into the header") }
                if end == nil { end = offset + 2 }
                lowest = target
                offset = target
            default:
                throw ParseFailure(offset: offset, reason: "label type \(length & 0xC0)")
            }
        }
    }
}

func foldCase(_ name: [UInt8]) -> [UInt8] { name.map { ($0 >= 0x41 && $0 <= 0x5A) ? $0 | 0x20 : $0 } }

/// What every reply to a client must be, whatever produced it: the client's
/// ID, QR set, within the client's size limit, well formed, and (when the
/// reply carries a question) exactly the client's question bytes.
func checkClientReply(_ reply: [UInt8], query: [UInt8], limit: Int, question: ArraySlice<UInt8>?,
                      context: String) {
    guard reply.count >= 12 else { fuzzFailure("\(context): reply shorter than a header", input: query, output: reply) }
    guard reply[0] == query[0], reply[1] == query[1] else {
        fuzzFailure("\(context): reply ID is not the query's", input: query, output: reply)
    }
    guard reply[2] & 0x80 != 0 else { fuzzFailure("\(context): QR not set", input: query, output: reply) }
    guard reply.count <= limit else {
        fuzzFailure("\(context): reply of \(reply.count) bytes over the client's limit \(limit)", input: query, output: reply)
    }
    let message: StrictMessage
    switch StrictMessage.parse(reply) {
    case .success(let parsed): message = parsed
    case .failure(let why): fuzzFailure("\(context): reply not well formed: \(why)", input: query, output: reply)
    }
    guard message.optCount <= 1 else { fuzzFailure("\(context): \(message.optCount) OPT records", input: query, output: reply) }
    if let question {
        guard message.questionCount == 1, reply[message.questionBytes].elementsEqual(question) else {
            fuzzFailure("\(context): reply's question is not the client's", input: query, output: reply)
        }
    }
}

// Written once per process before fuzzing starts, read by the atexit handler:
// no concurrent access (libFuzzer runs inputs on one thread).
nonisolated(unsafe) private var temporaryDirectories: [String] = []

/// A throwaway directory for zone files (flat), removed when libFuzzer exits
/// normally; a crash leaves it for the post-mortem.
func makeTemporaryDirectory() -> String {
    var template = Array("/tmp/tproxy-dns-fuzz-XXXXXX".utf8CString)
    guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        fatalError("mkdtemp failed")
    }
    if temporaryDirectories.isEmpty {
        atexit {
            for directory in temporaryDirectories {
                guard let stream = opendir(directory) else { continue }
                while let entry = readdir(stream) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                    if name != ".", name != ".." { unlink(directory + "/" + name) }
                }
                closedir(stream)
                rmdir(directory)
            }
        }
    }
    let path = String(cString: created)
    temporaryDirectories.append(path)
    return path
}

func writeFile(_ path: String, _ bytes: some Collection<UInt8>) {
    guard let stream = fopen(path, "w") else { fatalError("fopen \(path)") }
    let array = Array(bytes)
    _ = array.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, stream) }
    fclose(stream)
}

/// Wire name from dotted text (test fixtures only: no escapes).
func wireName(_ dotted: String) -> [UInt8] {
    var wire: [UInt8] = []
    for label in dotted.split(separator: ".") {
        wire.append(UInt8(label.utf8.count))
        wire += Array(label.utf8)
    }
    return wire + [0]
}

func word(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(truncatingIfNeeded: value)] }
func u32(_ value: UInt32) -> [UInt8] { word(UInt16(value >> 16)) + word(UInt16(truncatingIfNeeded: value)) }
func opt(udpSize: UInt16, dnssecOK: Bool = false) -> [UInt8] {
    [0] + word(41) + word(udpSize) + [0, 0] + word(dnssecOK ? 0x8000 : 0) + word(0)
}
