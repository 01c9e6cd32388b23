import DNSServer
import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct CacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Inspect, flush and save a running daemon's cache over its control socket.",
        subcommands: [Stats.self, Dump.self, Lookup.self, Flush.self, Save.self]
    )

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Counters: cache, answers, upstreams, and which servers clients thought they asked.")

        @OptionGroup var options: ControlOptions

        func run() throws {
            try options.exchange(ControlRequest(command: .stats), printing: \.stats, text: StatsTable.render)
        }
    }

    struct Dump: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every cached answer in zone-file form, with remaining TTL, hits, age and the upstream that answered.",
            discussion: "Streams: the daemon sends the cache in chunks between packets, so dumping a large cache never stalls serving.")

        @OptionGroup var options: ControlOptions

        func run() throws {
            try options.exchange(ControlRequest(command: .dump)) { reply in
                EntryPrinter.print(reply, json: options.json, verb: "entries")
            }
        }
    }

    struct Lookup: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The cached answers for one name.")

        @OptionGroup var options: ControlOptions

        @Argument(help: "Domain name, e.g. www.example.test")
        var name: String

        @Argument(help: "Record type (A, AAAA, TXT, ...); all types when left out.")
        var type: String?

        func run() throws {
            try options.exchange(ControlRequest(command: .lookup, name: name, type: type)) { reply in
                EntryPrinter.print(reply, json: options.json, verb: "entries")
            }
        }
    }

    struct Flush: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove everything, one name, or a name and everything below it.")

        @OptionGroup var options: ControlOptions

        @Argument(help: "Domain name; everything when left out.")
        var name: String?

        @Flag(help: "Also remove every name below NAME.")
        var subtree = false

        func validate() throws {
            if subtree, name == nil { throw ValidationError("--subtree needs a NAME") }
        }

        func run() throws {
            try options.exchange(ControlRequest(command: .flush, name: name, subtree: subtree), printing: \.done) { done in
                "flushed \(done.count) \(done.count == 1 ? "entry" : "entries")\n"
            }
        }
    }
}

/// Prints dump/lookup replies: JSON lines, or presentation records under a
/// comment line per entry, as in a zone file.
enum EntryPrinter {
    static func print(_ reply: ControlReply, json: Bool, verb: String) {
        if let entry = reply.entry {
            if json {
                Swift.print(ControlOptions.jsonLine(entry))
                return
            }
            var flags: [String] = [entry.kind]
            if entry.stale { flags.append("stale") }
            if entry.dnssecOK { flags.append("do") }
            if entry.checkingDisabled { flags.append("cd") }
            Swift.print("; \(entry.name) \(entry.type) \(entry.rcode)  ttl=\(entry.remainingTTL)s age=\(entry.ageSeconds)s"
                + " hits=\(entry.hits) from=\(entry.answeredBy) flags=\(flags.joined(separator: ","))")
            for record in entry.records { Swift.print(record) }
        } else if let done = reply.done, !json {
            Swift.print(";; \(done.count) \(verb)")
        }
    }
}
