import RawUDP
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct CurrentThreadTests {
    @Test func nameReachesTheKernel() throws {
        try CurrentThread.setName("rawudp-test")
        var name = [UInt8](repeating: 0, count: 32)
        // Read back through /proc rather than prctl(PR_GET_NAME): Swift cannot call variadic C.
        let file = try #require(fopen("/proc/thread-self/comm", "r"))
        defer { fclose(file) }
        let count = fread(&name, 1, name.count, file)
        #expect(String(decoding: name.prefix(count), as: UTF8.self) == "rawudp-test\n")
    }

    @Test func overlongNameIsERANGE() {
        // The kernel keeps 15 bytes and a NUL; pthread_setname_np refuses more.
        #expect(throws: SystemCallError(call: "pthread_setname_np(0123456789abcdef)", errno: ERANGE)) {
            try CurrentThread.setName("0123456789abcdef")
        }
    }
}
