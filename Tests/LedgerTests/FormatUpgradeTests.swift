import EventLog
import FormatFixtures
import Foundation
import LMDB
import Ledger
import Testing

/// A ledger of format 4 (docs/FORMAT.md, "Formats 4 and 3") on the command line: refused
/// read-only with what to do, upgraded by the first command that writes, then the same ledger.
@Suite struct FormatUpgradeTests {
    @Test func aFormatFourLedgerIsRefusedReadOnlyAndUpgradedByACommandThatWrites() throws {
        let dir = temporaryDirectory()
        var s = Script()
        var lines = s.organisation()
        for t in 1...12 {
            lines.append(s.open("T\(t)", Double(t), customer: "c\(t % 4)"))
            for n in 0..<(t % 5) {
                lines.append(s.line("noteLogged", Double(t) + 0.1 * Double(n + 1), actor: "a1", ticket: "T\(t)", ["author": "a1", "text": "note \(n)"]))
            }
        }
        do {
            let ledger = try Ledger.open(at: dir)
            #expect(try ledger.importStrings(lines).refused.isEmpty)
        }
        let verified = try LedgerBinary.run(["--ledger", dir, "verify"])
        #expect(verified.status == 0)
        let ticketBefore = try LedgerBinary.run(["--ledger", dir, "ticket", "T9", "--json", "--now", "2026-04-01T00:00:00Z"])
        #expect(ticketBefore.status == 0)
        try FormatFour.rewrite(try Environment(path: dir + "/log"))
        #expect(try EventLog.storedFormat(path: dir + "/log") == "escalation-ledger/4")

        // verify opens read-only: it changes nothing and says what to do.
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/log/data.mdb"))
        let refused = try LedgerBinary.run(["--ledger", dir, "verify"])
        #expect(refused.status == 1, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("this ledger is in format escalation-ledger/4; this version reads it once it has upgraded it"), "\(refused.stderr)")
        #expect(refused.stderr.contains("ledger --ledger DIR stats"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/log/data.mdb")) == data)

        // A command that writes upgrades it: the same chain, the same answers.
        #expect(try LedgerBinary.run(["--ledger", dir, "stats"]).status == 0)
        #expect(try EventLog.storedFormat(path: dir + "/log") == EventLog.formatName)
        for deep in [false, true] {
            let r = try LedgerBinary.run(["--ledger", dir, "verify"] + (deep ? ["--deep"] : []))
            #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
            #expect(r.stdout.hasSuffix(verified.stdout.split(separator: " ").last.map(String.init) ?? "-"))
        }
        #expect(try LedgerBinary.run(["--ledger", dir, "ticket", "T9", "--json", "--now", "2026-04-01T00:00:00Z"]).stdout == ticketBefore.stdout)
    }
}
