/// What the daemon says when asked who it is: CHAOS TXT `id.server` and
/// `hostname.bind` (RFC 4892 and BIND's convention), `version.server` and
/// `version.bind`. These ask about the server the client talks to, which is
/// us: relaying them told every client the upstream's software and version.
/// So they are never forwarded: answered with the configured string, or
/// REFUSED when none is configured (the default), as is `authors.bind`,
/// which has nothing worth saying.
public struct ServerIdentity: Sendable, Equatable {
    /// The TXT for `id.server` and `hostname.bind` (`--identity`).
    public var identity: String?
    /// The TXT for `version.bind` and `version.server` (`--version-string`).
    public var version: String?

    public init(identity: String? = nil, version: String? = nil) {
        self.identity = identity
        self.version = version
    }

    /// The reply to `query` when it is one of the identity questions; nil for
    /// everything else, which goes on to zones, cache and upstreams.
    func answer(_ query: ClientQuery) -> LocalAnswer? {
        let question = query.question
        guard question.class == .chaos, let text = Self.askedFor(question.name.lowercased).map(text(for:)) else {
            return nil
        }
        guard let text, question.type == .txt else {
            return LocalAnswer(bytes: ResponseBuilder.response(id: query.id, flags: query.requestFlags, question: question,
                                                               code: .refused, withOPT: query.hasEDNS,
                                                               dnssecOK: query.dnssecOK),
                               code: .refused)
        }
        return LocalAnswer(bytes: Self.txtReply(text, for: query), code: .noError)
    }

    enum Subject { case identity, version, authors }

    private func text(for subject: Subject) -> String? {
        switch subject {
        case .identity: return identity
        case .version: return version
        case .authors: return nil
        }
    }

    static func askedFor(_ name: DNSName) -> Subject? { subjects[name] }

    private static let subjects: [DNSName: Subject] = [
        wire("id.server"): .identity, wire("hostname.bind"): .identity,
        wire("version.server"): .version, wire("version.bind"): .version,
        wire("authors.bind"): .authors,
    ]

    /// A lowercase dotted name of plain ASCII labels in wire form.
    private static func wire(_ dotted: String) -> DNSName {
        DNSName(wire: dotted.split(separator: ".").flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0])
    }

    /// AA set (about itself the daemon is the authority), RD and CD copied,
    /// one TXT of class CHAOS with TTL 0 owned by the question name: one
    /// character-string, which holds 255 octets (RFC 1035 3.3.14; the serve
    /// options check the length, and a longer text is cut here).
    static func txtReply(_ text: String, for query: ClientQuery) -> [UInt8] {
        let octets = Array(text.utf8.prefix(255))
        let rdata = [UInt8(octets.count)] + octets
        var wire = ResponseBuilder.response(id: query.id, flags: query.requestFlags, question: query.question,
                                            code: .noError, withOPT: false, dnssecOK: false)
        wire.withUnsafeMutableBytes { DNSHeader.rewriteFlags(in: $0, removing: [], inserting: .aa) }
        wire[7] = 1  // ANCOUNT
        let rdataLength = UInt16(truncatingIfNeeded: rdata.count)
        wire += [0xC0, UInt8(DNSHeader.length), 0, UInt8(RecordType.txt.rawValue), 0, UInt8(RecordClass.chaos.rawValue),
                 0, 0, 0, 0, UInt8(rdataLength >> 8), UInt8(truncatingIfNeeded: rdataLength)] + rdata
        if query.hasEDNS {
            wire[11] = 1  // ARCOUNT
            wire += ResponseBuilder.opt(dnssecOK: query.dnssecOK)
        }
        return wire
    }
}
