import Compliance
import Foundation
import Testing
@testable import Ledger

/// Issue 12's resource exhaustion: what a full disk (here a file-size limit, which makes the
/// log's writes fail as a full disk does) leaves queries able to do.
@Suite struct ResourceTests {
    @Test func queriesAnswerFromTheLogWhenTheProjectionsCannotBeWritten() throws {
        let dir = temporaryDirectory()
        var s = Script()
        // The events are appended in-process: the stored projections lag behind the log.
        do {
            let ledger = try Ledger.open(at: dir)
            var lines = s.organisation()
            for t in 0..<400 { lines += [s.open("B\(t)", Double(t)), s.line("noteLogged", Double(t) + 0.5, actor: "a1", ticket: "B\(t)", ["author": "a1", "text": "n"])] }
            lines += ProjectionTests.scenario(&s).filter { !$0.contains("staffEnrolled") }
            #expect(try ledger.importStrings(lines).refused.isEmpty)
            #expect(try ledger.projector.checkpoint() < (try ledger.log.head().seq))
        }
        let size = try #require(try FileManager.default.attributesOfItem(atPath: dir + "/log/data.mdb")[.size] as? Int)
        let limited = #"trap '' XFSZ; ulimit -f \#(size / 1024); exec "$LEDGER" --ledger "$1" "$2" --json --now 2026-06-01T00:00:00Z"#
        for query in ["findings", "scorecard"] {
            let starved = try LedgerBinary.run([dir, query], shell: limited)
            #expect(starved.status == 0, "\(query) under a file-size limit: \(starved.stderr)")
            // Once space is back the projections catch up and give the very same answer.
            let free = try LedgerBinary.run([dir, query], shell: #"exec "$LEDGER" --ledger "$1" "$2" --json --now 2026-06-01T00:00:00Z"#)
            #expect(free.status == 0 && free.stdout == starved.stdout && free.stdout.count > 10, "\(query)")
        }
        #expect(try LedgerBinary.run([dir], shell: #"exec "$LEDGER" --ledger "$1" verify"#).status == 0)
    }
}

@Suite struct StalePartialExportTests {
    @Test func aKilledExportsLeftoversAreRemovedByTheNextExportAndALiveOnesAreNot() throws {
        let (ledger, _) = try ExportTests.ledgerWithHistory()
        let parent = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        // A process that died mid-export, and one that is still writing (this test's own pid).
        let dead = Process()
        dead.executableURL = URL(fileURLWithPath: "/bin/true")
        try dead.run(); dead.waitUntilExit()
        for (name, pid) in [("old", dead.processIdentifier), ("busy", getpid())] {
            try FileManager.default.createDirectory(atPath: parent + "/\(name).partial", withIntermediateDirectories: true)
            try Data("personal".utf8).write(to: URL(fileURLWithPath: parent + "/\(name).partial/personal.jsonl"))
            try Data("\(pid)\n".utf8).write(to: URL(fileURLWithPath: parent + "/\(name).partial.writer"))
        }
        let summary = try ledger.export(to: parent + "/new", .init(to: .seq(10), operator: "m1", purpose: "test"))
        #expect(summary.staleRemoved == [parent + "/old.partial"])
        let left = try FileManager.default.contentsOfDirectory(atPath: parent).sorted()
        #expect(left == ["busy.partial", "busy.partial.writer", "new"], "\(left)")
        #expect(BundleVerifier.verify(directory: parent + "/new", trustedPublicKey: try ledger.signingKey().publicKey).ok)
    }

    @Test func aFailedExportLeavesNothingBehind() throws {
        let (ledger, _) = try ExportTests.ledgerWithHistory()
        let parent = temporaryDirectory()
        // An operator who may not export in clear: refused before any file; a purpose missing: the same.
        #expect(throws: (any Error).self) { try ledger.export(to: parent + "/a", .init(operator: "a1", purpose: "x")) }
        #expect(throws: (any Error).self) { try ledger.export(to: parent + "/b", .init(operator: "m1", purpose: " ")) }
        let left = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
        #expect(left.filter { $0.contains("partial") }.isEmpty, "\(left)")
    }
}
