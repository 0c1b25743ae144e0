import Foundation
import Testing

/// The hint tools/demo ends with (start the service, one curl with the token it made) works as printed.
@Suite("ledger serve: tools/demo's hint", .serialized)
struct ServiceDemoHintTests {
    /// The line of tools/demo that starts with `prefix` (after indentation).
    static func demoLine(_ prefix: String) throws -> String {
        let text = try String(contentsOf: CLI.packageRoot.appendingPathComponent("tools/demo"), encoding: .utf8)
        let line = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.first { $0.hasPrefix(prefix) }
        return try #require(line, "tools/demo has no line starting \(prefix)")
    }

    static func bash(_ script: String, _ environment: [String: String]) throws -> (status: Int32, stdout: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", script]
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("on a demo ledger: the token made as tools/demo makes it, the service started as it says, its curl line answers the ticket's JSON")
    func demoHint() throws {
        let dir = try TemporaryDirectory()
        let demo = try CLI.run(["--ledger", dir.ledger, "demo", "--calls", "60"])
        #expect(demo.status == 0, "\(demo.stderr)")
        // The ticket the hint names: the first transferBeforeTwoAsks finding's, as tools/demo picks it.
        let findings = try JSONCheck.array(try CLI.run(["--ledger", dir.ledger, "findings", "--kind", "transferBeforeTwoAsks", "--json"]).json())
        let ticket = try #require((findings.first as? [String: Any])?["ticket"] as? String, "a 60-call demo has a transfer before two asks")
        // The token, by tools/demo's own line (an auditor token).
        let tokenLine = try ServiceDemoHintTests.demoLine("service_token=")
        #expect(tokenLine.contains("--role auditor"))
        let made = try ServiceDemoHintTests.bash(tokenLine + "\nprintf %s \"$service_token\"",
                                                 ["ledger": try #require(CLI.binary).path, "ledger_dir": dir.ledger])
        #expect(made.status == 0 && made.stdout.hasPrefix("lt_"), "\(made.stdout)")
        // The service as the hint starts it (`ledger --ledger DIR serve`), here on a free port instead of 8080.
        #expect(try ServiceDemoHintTests.demoLine("$rel_ledger --ledger $dir_arg serve").hasSuffix("serve &"))
        let server = try ServerProcess(ledger: dir.ledger, logDirectory: dir.url)
        defer { server.stop() }
        let curlLine = try ServiceDemoHintTests.demoLine("curl ")
        #expect(curlLine.contains("http://127.0.0.1:8080/"))
        let curl = try ServiceDemoHintTests.bash(curlLine.replacingOccurrences(of: "127.0.0.1:8080", with: "127.0.0.1:\(server.port)"),
                                                 ["service_token": made.stdout, "ticket": ticket])
        #expect(curl.status == 0, "\(curl.stdout)")
        let answer = try JSONCheck.object(try JSONSerialization.jsonObject(with: Data(curl.stdout.utf8)))
        #expect(answer["ticket"] as? String == ticket, "\(curl.stdout.prefix(300))")
        #expect(try JSONCheck.array(answer["events"]).count >= 2, "the ticket's timeline")
        #expect(try JSONCheck.array(answer["findings"]).contains { ($0 as? [String: Any])?["kind"] as? String == "transferBeforeTwoAsks" })
    }
}
