#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fresh directory under /tmp holding zone files written by a test; removed
/// (files and all) when the last reference goes.
final class TemporaryZoneDirectory {
    let path: String
    private var files: [String] = []

    init() {
        var template = Array("/tmp/tproxy-dns-zones-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(created != nil, "mkdtemp: \(String(cString: strerror(errno)))")
        path = String(cString: created!)
    }

    /// Writes `text` to `path/name`; returns the full path, as load errors name it.
    @discardableResult
    func write(_ name: String, _ text: String) -> String {
        let file = path + "/" + name
        guard let stream = fopen(file, "w") else { preconditionFailure("fopen \(file)") }
        fputs(text, stream)
        fclose(stream)
        files.append(file)
        return file
    }

    func makeSubdirectory(_ name: String) -> String {
        let directory = path + "/" + name
        mkdir(directory, 0o755)
        files.append(directory)
        return directory
    }

    deinit {
        for file in files.reversed() { remove(file) }
        rmdir(path)
    }
}
