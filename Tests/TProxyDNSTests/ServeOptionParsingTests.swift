import Testing
@testable import tproxy_dns

@Suite("serve option values")
struct ServeOptionParsingTests {
    @Test func workerCountOption() throws {
        #expect(try ServeOptionParsing.workers("1") == 1)
        #expect(try ServeOptionParsing.workers("64") == 64)
        #expect((try? ServeOptionParsing.workers("0")) == nil)
        #expect((try? ServeOptionParsing.workers("65")) == nil)
        #expect((try? ServeOptionParsing.workers("two")) == nil)
        #expect((1...16).contains(try ServeOptionParsing.workers("auto")))
    }
}
