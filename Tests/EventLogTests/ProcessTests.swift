import Foundation
import LMDB
import Testing
@testable import EventLog

/// Tests with real child processes (the `ledger-stress` executable).
@Suite(.serialized) struct ProcessTests {
    var stress: String { binDirectory() + "/ledger-stress" }
    /// The children move the id index to runs every 16 entries and merge runs often (docs/FORMAT.md,
    /// "The id index"), so that kills land in those transactions too.
    var childEnvironment: [String: String] {
        ProcessInfo.processInfo.environment.merging(["LEDGER_ID_INDEX_FLUSH_AT": "16"]) { $1 }
    }

    @Test func crashAtRandomMomentsLosesNothingAcknowledged() throws {
        #expect(FileManager.default.isExecutableFile(atPath: stress), "build ledger-stress first (tools/test does)")
        let dir = temporaryDirectory()
        var acknowledged: [String: UInt64] = [:]
        var generator = SystemRandomNumberGenerator()
        for round in 0..<24 {
            let child = Process()
            child.executableURL = URL(fileURLWithPath: stress)
            child.arguments = [dir, "\(round + 1)", "4"]
            child.environment = childEnvironment
            let pipe = Pipe()
            child.standardOutput = pipe
            try child.run()
            usleep(UInt32.random(in: 30_000...250_000, using: &generator))
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            for line in output.split(separator: "\n") {
                let parts = line.split(separator: " ")
                // A line cut by the kill is incomplete: only whole lines were acknowledged.
                guard parts.count == 3, parts[0] == "ack", let seq = UInt64(parts[2]) else { continue }
                acknowledged[String(parts[1])] = seq
            }
            // After each kill the ledger opens, verifies, and holds every acknowledged event.
            let log = try EventLog(path: dir)
            let result = try log.verify()
            #expect(result.ok, "round \(round): \(result)")
            let head = try log.head()
            let lost: [String] = try log.environment.read { txn in
                try acknowledged.filter { id, seq in
                    let hex = id.replacingOccurrences(of: "-", with: "")
                    let high = UInt64(hex.prefix(16), radix: 16)!, low = UInt64(hex.suffix(16), radix: 16)!
                    return try log.seq(of: RecordID(high: high, low: low), in: txn) != seq
                }.map(\.key)
            }
            #expect(lost.isEmpty, "round \(round) lost acknowledged events \(lost)")
            #expect(head.seq >= UInt64(acknowledged.count))
            #expect(try log.events().map(\.seq) == Array(1...max(head.seq, 1)).prefix(Int(head.seq)).map { $0 })
        }
        #expect(acknowledged.count > 24, "the children should have acknowledged appends")
        let log = try EventLog(path: dir)
        let runs = try log.environment.read { txn in try txn.count(log.dbs.idRuns) }
        #expect(runs > 0, "the children should have moved ids to runs")
    }

    @Test func twoProcessesAppendToOneLedgerAtOnce() throws {
        let dir = temporaryDirectory()
        let children = (1...2).map { tag -> Process in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: stress)
            p.arguments = [dir, "\(tag)", "4", "150"]
            p.environment = childEnvironment
            p.standardOutput = FileHandle.nullDevice
            return p
        }
        for c in children { try c.run() }
        for c in children { c.waitUntilExit(); #expect(c.terminationStatus == 0) }
        let log = try EventLog(path: dir)
        #expect(try log.head().seq == 2 * 4 * 150)
        #expect(try log.verify().ok)
        #expect(try log.head().streams == 8)
    }
}
