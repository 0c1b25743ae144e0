import Foundation
import Testing

@Suite("ledger serve: docs/openapi.yaml", .serialized)
struct ServiceOpenAPITests {
    static let yamlMissing: Bool = {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import yaml"]
        p.standardError = FileHandle.nullDevice
        try? p.run()
        p.waitUntilExit()
        return p.terminationStatus != 0
    }()

    @Test("tools/check_openapi.py drives the running server from docs/openapi.yaml: every operation answers as documented",
          .enabled(if: !yamlMissing, "needs Python's PyYAML (tools/test installs python3-yaml)"))
    func serverMatchesOpenAPI() throws {
        let fx = try ServiceFixture(lines: Fixture.good)
        let server = try fx.start()
        defer { server.stop() }
        let tokens = fx.dir.url.appendingPathComponent("tokens.json").path
        try JSONSerialization.data(withJSONObject: fx.tokens).write(to: URL(fileURLWithPath: tokens))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", CLI.packageRoot.appendingPathComponent("tools/check_openapi.py").path,
                       "--spec", CLI.packageRoot.appendingPathComponent("docs/openapi.yaml").path,
                       "--url", "http://127.0.0.1:\(server.port)", "--tokens", tokens]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(output)")
        #expect(output.contains("checks passed over 17 operations"), "\(output)")
    }
}
