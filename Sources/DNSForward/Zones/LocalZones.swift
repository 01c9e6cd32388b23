#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The zones this daemon answers for itself, authoritatively (AA), without
/// going upstream. Loaded once from a directory, immutable afterwards.
///
/// Sendable without `@unchecked`: a final class whose stored properties are
/// all `let`s of Sendable value types.
public final class LocalZones: Sendable {
    private let zones: [LocalZone]
    /// Lowercased apex → index in `zones`.
    private let zoneIndexByApex: [DNSName: Int]

    /// CNAMEs followed inside a zone before giving up on a chain, loops
    /// included (BIND and Knot stop at a similar depth).
    static let maximumCNAMEHops = 8

    public static let empty = LocalZones(zones: [])

    private init(zones: [LocalZone]) {
        self.zones = zones
        zoneIndexByApex = Dictionary(uniqueKeysWithValues: zones.enumerated().map { ($1.apex, $0) })
    }

    /// Loads every `*.zone` file in `directory`, in byte order of file name.
    /// Each file holds one zone whose apex is its SOA owner (see
    /// `ZoneFileReader` for how relative names are made absolute). A
    /// directory without zone files gives an empty set; an unreadable
    /// directory, a broken file or a zone in two files is an error.
    public static func load(directory: String) throws(ZoneLoadError) -> LocalZones {
        var zones: [LocalZone] = []
        var fileByApex: [DNSName: String] = [:]
        for name in try zoneFileNames(in: directory) {
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            var info = stat()
            guard stat(path, &info) == 0 else {
                throw ZoneLoadError(file: path, line: nil, message: "cannot stat: \(ZoneFileReader.errorText(errno))")
            }
            guard info.st_mode & S_IFMT == S_IFREG else {
                throw ZoneLoadError(file: path, line: nil, message: "not a regular file")
            }
            let zone = try LocalZone(records: ZoneFileReader.records(inFile: path), file: path)
            if let other = fileByApex[zone.apex] {
                throw ZoneLoadError(file: path, line: nil, message: "zone \(zone.origin) is already loaded from \(other)")
            }
            fileByApex[zone.apex] = path
            zones.append(zone)
        }
        return LocalZones(zones: zones)
    }

    private static func zoneFileNames(in directory: String) throws(ZoneLoadError) -> [String] {
        guard let stream = opendir(directory) else {
            throw ZoneLoadError(file: directory, line: nil, message: "cannot read directory: \(ZoneFileReader.errorText(errno))")
        }
        defer { closedir(stream) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(stream) else {
                if errno != 0 {
                    throw ZoneLoadError(file: directory, line: nil, message: "cannot read directory: \(ZoneFileReader.errorText(errno))")
                }
                break
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasSuffix(".zone"), name.utf8.count > ".zone".utf8.count { names.append(name) }
        }
        // Byte order, not locale order: the same on every machine.
        return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Apexes in presentation form, for logs.
    public var zoneNames: [String] { zones.map(\.origin.description) }

    public var recordCount: Int { zones.reduce(0) { $0 + $1.recordCount } }

    /// Each zone with the file it came from and its record count, for `zones check`.
    public var summaries: [(zone: String, file: String, records: Int)] {
        zones.map { ($0.origin.description, $0.file, $0.recordCount) }
    }

    /// nil: the name is in no local zone (go upstream). Otherwise the complete reply wire bytes
    /// (client's ID, RD copied, AA set, RA set, question echoed, OPT if the query had EDNS),
    /// already cut with TC per query.maximumReply via ResponseBuilder.truncated.
    public func answer(_ query: ClientQuery) -> LocalAnswer? {
        let question = query.question
        guard !zones.isEmpty, Self.serves(question.class) else { return nil }
        let name = question.name.lowercased
        guard let zoneIndex = zoneIndex(containing: name) else { return nil }
        let zone = zones[zoneIndex]

        var answers: [(LocalReplyWriter.Owner, LocalRRset)] = []
        var negative = false
        var code = DNSResponseCode.noError
        var owner = LocalReplyWriter.Owner.question
        var current = name
        var visited: Set<DNSName> = [name]
        chase: for _ in 0...Self.maximumCNAMEHops {
            switch zone.match(current, type: question.type) {
            case .records(let sets):
                answers += sets.map { (owner, $0) }
                break chase
            case .alias(let cname, let target):
                answers.append((owner, cname))
                // Followed only inside this zone (not into a more specific
                // local zone either); elsewhere the client's resolver goes on
                // from the CNAME. A loop ends at the first repeated name.
                let next = target.lowercased
                guard !visited.contains(next), self.zoneIndex(containing: next) == zoneIndex else { break chase }
                visited.insert(next)
                current = next
                owner = .name(target)
            case .noData:
                negative = true
                break chase
            case .nameError:
                // RFC 6604 2.1: the RCODE is that of the last name in the chain.
                negative = true
                code = .nameError
                break chase
            }
        }

        var writer = LocalReplyWriter(query: query, code: code)
        for (owner, set) in answers { writer.appendAnswer(set, owner: owner) }
        if negative { writer.appendAuthority(zone.soa, owner: .name(zone.origin), ttl: zone.negativeTTL) }
        let header = writer.header
        let bytes = writer.finish(withOPT: query.hasEDNS, dnssecOK: query.dnssecOK)
        guard bytes.count > query.maximumReply else { return LocalAnswer(bytes: bytes, code: code) }
        // Too big for the client's buffer: header + question + OPT with TC
        // (AA and RA kept), so it retries over TCP (RFC 2181 9).
        let cut = ResponseBuilder.truncated(replyHeader: header, for: query)
        return LocalAnswer(bytes: cut, code: code)
    }

    /// Whether `answer` could answer a question for `name` (lowercased wire) in
    /// `class`: the cache-hit fast path asks before serving from cache.
    public func mayAnswer(name: [UInt8], class qclass: RecordClass) -> Bool {
        guard !zones.isEmpty, Self.serves(qclass) else { return false }
        return zoneIndex(containing: DNSName(wire: name)) != nil
    }

    /// IN, or ANY (RFC 1035 3.2.5); CHAOS and the rest stay with the upstream.
    private static func serves(_ qclass: RecordClass) -> Bool { qclass == .in || qclass == .any }

    /// The zone with the longest apex at or above `name` (lowercased).
    func zoneIndex(containing name: DNSName) -> Int? {
        var candidate: DNSName? = name
        while let suffix = candidate, !suffix.isRoot {
            if let index = zoneIndexByApex[suffix] { return index }
            candidate = suffix.parent
        }
        return nil
    }
}
