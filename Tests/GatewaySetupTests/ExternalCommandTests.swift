import DNSForward
import Testing
@testable import GatewaySetup

/// ExternalCommand runs programs with posix_spawn (no Foundation `Process`): output, error
/// output, input, exit codes and signals as a shell reports them.
@Suite("ExternalCommand")
struct ExternalCommandTests {
    @Test func capturesOutputAndErrorOutputSeparately() throws {
        let result = try ExternalCommand("sh", ["-c", "echo out; echo err >&2; exit 3"]).run()
        #expect(result.status == 3)
        #expect(result.output == "out\n")
        #expect(result.errorOutput == "err\n")
    }

    @Test func feedsInputAndRunsInTheCLocale() throws {
        let output = try ExternalCommand("sh", ["-c", "cat; echo \"$LC_ALL\""], input: "table inet t {}\n").runChecked()
        #expect(output == "table inet t {}\nC\n")
    }

    @Test func inputLargerThanADefaultPipeStillArrives() throws {
        let text = String(repeating: "x", count: 200_000)
        let output = try ExternalCommand("wc", ["-c"], input: text).runChecked()
        #expect(output.trimmingWhitespace() == "200000")
    }

    @Test func aSignalIsReportedAs128PlusItsNumber() throws {
        #expect(try ExternalCommand("sh", ["-c", "kill -TERM $$"]).run().status == 143)
    }

    @Test func bothPipesFilledAtOnceDoNotDeadlock() throws {
        // 1 MiB on each of stdout and stderr, far past a pipe's 64 KiB.
        let result = try ExternalCommand("sh", ["-c", "head -c 1048576 /dev/zero; head -c 1048576 /dev/zero >&2"]).run()
        #expect(result.output.utf8.count == 1_048_576)
        #expect(result.errorOutput.utf8.count == 1_048_576)
    }

    @Test func aFailureQuotesTheCommandAndItsStandardError() {
        #expect(throws: ExternalCommandError.self) { try ExternalCommand("sh", ["-c", "echo '  bad thing  ' >&2; exit 1"]).runChecked() }
        do {
            try ExternalCommand("sh", ["-c", "echo '  bad thing  ' >&2; exit 1"]).runChecked()
        } catch {
            #expect(error.description == "`sh -c echo '  bad thing  ' >&2; exit 1` failed (exit 1): bad thing")
        }
    }

    @Test func aMissingProgramIsNotFound() {
        #expect(ExternalCommand.locate("no-such-program-k4") == nil)
    }
}
