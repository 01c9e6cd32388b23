import DNSServer
import ArgumentParser
import DNSForward

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `tproxy-dns zones …`: local authoritative zones, outside the daemon.
struct ZonesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zones",
        abstract: "Work with the local authoritative zones `serve --zones` loads.",
        subcommands: [Check.self, Reload.self]
    )

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Load every *.zone file in a directory exactly as serve would, and report.",
            discussion: """
            Each file holds one zone; its apex is the owner of its SOA record. Prints every \
            zone with its record count. On the first broken file prints FILE:LINE: message \
            (FILE: message when the problem has no single line) and exits 1. A directory \
            without zone files is valid: nothing is answered locally.
            """
        )

        @Argument(help: ArgumentHelp("Directory of *.zone files.", valueName: "dir"))
        var directory: String

        func run() throws {
            let zones: LocalZones
            do {
                zones = try LocalZones.load(directory: directory)
            } catch {
                printError("\(error)")
                throw ExitCode(1)
            }
            let summaries = zones.summaries
            if summaries.isEmpty {
                print("\(directory): no *.zone files; every name goes upstream")
                return
            }
            let width = summaries.map(\.zone.count).max() ?? 0
            for summary in summaries {
                let padding = String(repeating: " ", count: width - summary.zone.count)
                let recordWord = summary.records == 1 ? "record" : "records"
                print("\(summary.zone)\(padding)  \(summary.records) \(recordWord)  \(summary.file)")
            }
            let zoneWord = summaries.count == 1 ? "zone" : "zones"
            print("\(summaries.count) \(zoneWord), \(zones.recordCount) records: OK")
        }
    }

    struct Reload: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reload",
            abstract: "Make a running daemon load its --zones directory again (as SIGHUP does).",
            discussion: """
            On a broken file the daemon keeps serving the zones it had and this command \
            prints the daemon's error (FILE:LINE: message) and exits 1.
            """
        )

        @OptionGroup var options: ControlOptions

        func run() throws {
            try options.exchange(ControlRequest(command: .zonesReload), printing: \.done) { done in
                "reloaded \(done.count) \(done.count == 1 ? "zone" : "zones"): \(done.message ?? "")\n"
            }
        }
    }
}
