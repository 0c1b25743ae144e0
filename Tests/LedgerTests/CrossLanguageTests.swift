import Foundation
import LMDB
import Testing
@testable import Ledger

/// docs/FORMAT.md is precise enough for another language: tools/read_ledger.py (Python + lmdb)
/// reads every event and recomputes the chain.
func pythonHasLMDB() -> Bool {
    (try? CrossLanguageTests.run(["python3", "-c", "import lmdb"]).status) == 0
}

@Suite(.enabled(if: pythonHasLMDB(), "needs python3 with the lmdb package (tools/test installs it)"))
struct CrossLanguageTests {

    static var packageRoot: URL {
        var url = URL(fileURLWithPath: #filePath)
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { url.deleteLastPathComponent() }
        return url
    }

    static func run(_ args: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func pythonReadsEveryEventAndRecomputesTheChain() throws {
        let dir = temporaryDirectory()
        var s = Script()
        var lines = s.organisation()
        for i in 0..<20 { lines.append(s.open("T\(i)", Double(i))) }
        let script = CrossLanguageTests.packageRoot.appendingPathComponent("tools/read_ledger.py").path
        do {
            let ledger = try Ledger.open(at: dir)
            #expect(try ledger.importStrings(lines).appended == lines.count)
        }
        let good = try CrossLanguageTests.run(["python3", script, dir, "--events"])
        #expect(good.status == 0)
        let outputLines = good.output.split(separator: "\n")
        #expect(outputLines.count == lines.count + 1)
        let summary = try JSONSerialization.jsonObject(with: Data(try #require(outputLines.last).utf8)) as? [String: Any]
        #expect(summary?["ok"] as? Bool == true)
        #expect(summary?["checked"] as? Int == lines.count)
        let ledger = try Ledger.open(at: dir)
        #expect(summary?["headHash"] as? String == (try ledger.log.head().hash.hex))
        // Python's event for seq 10 is the stored canonical JSON.
        let tenth = try JSONSerialization.jsonObject(with: Data(outputLines[9].utf8)) as? [String: Any]
        #expect(tenth?["seq"] as? Int == 10)
        #expect((tenth?["event"] as? [String: Any])?["type"] as? String == "callOpened")
        // One changed byte: Python names the seq.
        try ledger.log.environment.write { txn in
            let events = try txn.database("events")
            var bytes = try txn.get(events, key: BigEndianKey.bytes(15))!
            bytes[bytes.count - 2] ^= 0x20
            try txn.put(events, key: BigEndianKey.bytes(15), value: bytes)
        }
        let bad = try CrossLanguageTests.run(["python3", script, dir])
        #expect(bad.status == 4)
        #expect(bad.output.contains("\"firstBadSeq\": 15"))
    }
}
