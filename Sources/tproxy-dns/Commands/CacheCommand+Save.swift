import ArgumentParser
import DNSServer
import DNSForward
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

extension CacheCommand {
    struct Save: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the cache to --cache-file now, and wait until it is on disk.",
            discussion: "The daemon saves in the background while it keeps answering; this waits for that save to finish (polling `cache stats`) and prints what it wrote.")

        @OptionGroup var options: ControlOptions

        @Option(help: ArgumentHelp("Give up waiting after this many seconds (the save goes on).", valueName: "seconds"))
        var wait = 60

        func run() throws {
            var ticket = 0
            try options.exchange(ControlRequest(command: .cacheSave)) { reply in
                if let done = reply.done { ticket = done.count }
            }
            let deadline = Date().addingTimeInterval(TimeInterval(wait))
            while true {
                var file: DaemonStats.CacheFile?
                try options.exchange(ControlRequest(command: .stats)) { reply in file = reply.stats?.cacheFile }
                guard let file else { throw ValidationError("the daemon reports no cache file") }
                if file.saves + file.saveFailures >= ticket {
                    try report(file)
                    return
                }
                guard Date() < deadline else {
                    printError("tproxy-dns: the save has not finished after \(wait) s; `tproxy-dns cache stats` shows when it does")
                    throw ExitCode(1)
                }
                usleep(100_000)
            }
        }

        private func report(_ file: DaemonStats.CacheFile) throws {
            if let error = file.saveError {
                printError("tproxy-dns: \(error)")
                throw ExitCode(1)
            }
            if options.json {
                print(ControlOptions.jsonLine(file))
            } else {
                print("saved \(file.savedEntries ?? 0) entries (\(file.savedBytes ?? 0) bytes) to \(file.path)"
                      + " in \(String(cFormat: "%.1f", file.saveMilliseconds ?? 0)) ms")
            }
        }
    }
}
