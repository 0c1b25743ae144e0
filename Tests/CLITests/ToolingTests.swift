import Foundation
import Testing

/// The tests that use an independent checker (Python's lmdb and cryptography, Go's x/mod) are
/// skipped where the checker is missing; tools/test installs them, and in CI a missing checker
/// fails here instead of hiding as skips.
@Suite("independent checkers present in CI")
struct ToolingTests {
    static func succeeds(_ args: [String]) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["CI"] == "true", "only in CI (CI=true)"))
    func everyCheckerIsInstalled() {
        #expect(ToolingTests.succeeds(["python3", "-c", "import lmdb"]), "Python's lmdb")
        #expect(ToolingTests.succeeds(["python3", "-c", "import cryptography.hazmat.primitives.asymmetric.ed25519, cryptography.hazmat.primitives.ciphers.aead"]),
                "Python's cryptography")
        #expect(GoChecker.unavailable == nil, "\(GoChecker.unavailable ?? "")")
        #expect(!ServiceOpenAPITests.yamlMissing, "Python's PyYAML (the OpenAPI-driven service test)")
        #expect(FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"), "OpenSSL (the by-hand scripts of docs/VERIFY.md)")
    }
}
