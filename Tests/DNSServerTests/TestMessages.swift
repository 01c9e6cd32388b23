@testable import tproxy_dns

/// Hand-built DNS messages, as dnsperf and an upstream send them: the ones
/// `bench-dns-work` times.
enum TestMessages {
    /// RD, one question (A, IN), no EDNS.
    static func query(id: UInt16, name: String) -> [UInt8] { DNSWorkBenchCommand.query(id: id, name: name) }

    /// An upstream's answer to `query`: its header and question, one A record (TTL 3600).
    static func reply(to query: [UInt8]) -> [UInt8] { DNSWorkBenchCommand.reply(to: query) }
}
