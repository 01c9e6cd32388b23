import Foundation
import Testing

/// Full Foundation brings some 40 MB of internationalization data into the static binary
/// (issue 21: the stripped package binary must stay at or under 20 MB). Sources may import
/// `FoundationEssentials`, with `Foundation` only as the `#else` of
/// `#if canImport(FoundationEssentials)` (toolchains without it), or nothing.
@Suite("Sources import no full Foundation")
struct FoundationImportTests {
    /// Modules of full Foundation that FoundationEssentials does not stand in for.
    static let fullFoundationModules: Set<String> = ["Foundation", "FoundationInternationalization", "FoundationNetworking", "FoundationXML"]

    /// "file:line: import X" for every import of full Foundation outside the guarded fallback.
    static func violations(in text: String, file: String) -> [String] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var found: [String] = []
        for (index, line) in lines.enumerated() {
            let words = line.split(separator: " ").filter { !$0.hasPrefix("@") && !["public", "internal", "package", "private", "fileprivate"].contains($0) }
            guard words.count >= 2, words[0] == "import" else { continue }
            let module = String(words[words.count - 1].split(separator: ".").first ?? "")
            guard fullFoundationModules.contains(module) else { continue }
            // Allowed: `#if canImport(FoundationEssentials)` / `import FoundationEssentials` / `#else` / `import Foundation`.
            let guarded = module == "Foundation" && index >= 3 && lines[index - 1] == "#else"
                && lines[index - 2] == "import FoundationEssentials" && lines[index - 3] == "#if canImport(FoundationEssentials)"
            if !guarded { found.append("\(file):\(index + 1): \(line)") }
        }
        return found
    }

    @Test func noSourcesFileImportsFullFoundation() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        let files = try #require(FileManager.default.enumerator(atPath: sources.path)).compactMap { $0 as? String }
            .filter { $0.hasSuffix(".swift") }
        #expect(files.count > 50, "found the Sources tree at \(sources.path)")
        var found: [String] = []
        for file in files {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            found += Self.violations(in: text, file: "Sources/" + file)
        }
        #expect(found.isEmpty, "import FoundationEssentials (guarded by #if canImport(FoundationEssentials), with Foundation as the #else) or nothing:\n\(found.joined(separator: "\n"))")
    }

    @Test func theRuleTellsGuardedFallbacksFromPlainImports() {
        let guarded = "#if canImport(FoundationEssentials)\nimport FoundationEssentials\n#else\nimport Foundation\n#endif\n"
        #expect(Self.violations(in: guarded, file: "a.swift").isEmpty)
        #expect(Self.violations(in: "import Foundation\n", file: "a.swift") == ["a.swift:1: import Foundation"])
        #expect(Self.violations(in: "import Dispatch\n@preconcurrency public import Foundation\n", file: "b.swift").count == 1)
        #expect(Self.violations(in: "import FoundationNetworking\n", file: "c.swift").count == 1)
        #expect(Self.violations(in: "import class Foundation.Thread\n", file: "d.swift").count == 1)
        #expect(Self.violations(in: "#else\nimport Foundation\n", file: "e.swift").count == 1, "an #else of something else")
        #expect(Self.violations(in: "import FoundationEssentials\n// import Foundation\n", file: "f.swift").isEmpty)
    }
}
