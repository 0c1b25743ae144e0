import Compliance
import EscalationDomain
import Foundation
import Testing
@testable import Ledger

@Suite struct ExportTests {
    /// A ledger with the projection scenario plus an erased customer.
    static func ledgerWithHistory() throws -> (Ledger, Script) {
        let ledger = try Ledger.open(at: temporaryDirectory())
        var s = Script()
        var lines = ProjectionTests.scenario(&s)
        lines += [s.open("T8", 500, agent: "a1", customer: "c-erase"), s.line("personalDataErased", 501, actor: "m1", ["customer": "c-erase"])]
        #expect(try ledger.importStrings(lines).refused.isEmpty)
        return (ledger, s)
    }

    static func mutate(_ dir: String, _ change: (inout [[UInt8]]) -> Void) throws {
        let url = URL(fileURLWithPath: dir + "/" + Bundle.eventsFile)
        var lines = try Data(contentsOf: url).split(separator: 0x0A).map { Array($0) }
        change(&lines)
        try Data(lines.flatMap { $0 + [0x0A] }).write(to: url)
    }

    @Test func goodBundleVerifiesAndTheExportIsOnTheRecord() throws {
        let (ledger, _) = try ExportTests.ledgerWithHistory()
        let before = try ledger.log.head().seq
        let dir = temporaryDirectory()
        let summary = try ledger.export(to: dir, .init(operator: "m1", purpose: "test"))
        #expect(summary.count == Int(before))
        let result = BundleVerifier.verify(directory: dir, trustedPublicKey: try ledger.signingKey().publicKey)
        #expect(result.ok, "\(result)")
        #expect(result.checked == Int(before))
        // exportMade is appended and describes the export.
        // A clear export shows customers: personalDataRevealed first, then exportMade.
        let reveal = try #require(try ledger.log.event(seq: before + 1))
        #expect(try EventDecoder(mode: .stored).decode(reveal.payload).type == .personalDataRevealed)
        let last = try #require(try ledger.log.event(seq: before + 2))
        let made = try EventDecoder(mode: .stored).decode(last.payload)
        guard case .exportMade(let b) = made.body else { Issue.record("expected exportMade"); return }
        #expect(b.from == 1 && b.to == before && b.count == before && b.root == summary.merkleRoot)
        // The root equals the log's own Merkle root over the same events.
        #expect(try ledger.merkleRoot(size: before).hex == summary.merkleRoot)
        let csv = try String(contentsOfFile: dir + "/" + Bundle.csvFile, encoding: .utf8)
        #expect(csv.split(separator: "\r\n").count == Int(before) + 1)
        #expect(csv.contains("Jane Roe"))
    }

    /// An export whose exportMade the rules would refuse (an operator who is not enrolled) is
    /// refused before anything is read or written: no bundle, no `.partial`, no event.
    @Test func anExportThatCouldNotBeRecordedIsRefusedBeforeAnythingIsWritten() throws {
        let (ledger, _) = try ExportTests.ledgerWithHistory()
        let before = try ledger.log.head().seq
        let dir = temporaryDirectory()
        do {
            _ = try ledger.export(to: dir, .init(pseudonymize: true, operator: "nobody-9", purpose: "test"))
            Issue.record("an export by a member who is not enrolled was written")
        } catch {
            let message = "\(error)"
            #expect(message.contains("unknownStaff") && message.contains("nobody-9") && message.contains("nothing was written"), "\(message)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir) && !FileManager.default.fileExists(atPath: dir + ".partial"))
        #expect(try ledger.log.head().seq == before)
    }

    @Test func changedRemovedOrSwappedLinesAreNamed() throws {
        let (ledger, _) = try ExportTests.ledgerWithHistory()
        let key = try ledger.signingKey().publicKey
        func fresh() throws -> String { let d = temporaryDirectory(); _ = try ledger.export(to: d, .init(to: .seq(20), operator: "m1", purpose: "test")); return d }
        // One byte changed inside line 12's event.
        let changed = try fresh()
        try ExportTests.mutate(changed) { lines in
            let i = lines[11].firstIndex(of: UInt8(ascii: "a"))!
            lines[11][i] = UInt8(ascii: "b")
        }
        let r1 = BundleVerifier.verify(directory: changed, trustedPublicKey: key)
        #expect(!r1.ok && r1.firstBadLine == 12, "\(r1)")
        // Line 7 removed: line 7 now holds seq 8, whose prevHash is seq 7's hash.
        let removed = try fresh()
        try ExportTests.mutate(removed) { $0.remove(at: 6) }
        let r2 = BundleVerifier.verify(directory: removed, trustedPublicKey: key)
        #expect(!r2.ok && r2.firstBadLine == 7, "\(r2)")
        // Lines 3 and 4 swapped.
        let swapped = try fresh()
        try ExportTests.mutate(swapped) { $0.swapAt(2, 3) }
        let r3 = BundleVerifier.verify(directory: swapped, trustedPublicKey: key)
        #expect(!r3.ok && r3.firstBadLine == 3, "\(r3)")
        // A tampered CSV is caught by its digest; an untrusted key by the signature check.
        let csv = try fresh()
        try "x".data(using: .utf8)!.write(to: URL(fileURLWithPath: csv + "/" + Bundle.csvFile))
        #expect(BundleVerifier.verify(directory: csv, trustedPublicKey: key).problem?.contains("events.csv") == true)
        // Without a trusted key nothing is ok, however sound the bundle.
        let untrusted = BundleVerifier.verify(directory: try fresh(), trustedPublicKey: nil)
        #expect(!untrusted.ok && untrusted.problem?.contains("no trusted key") == true)
        #expect(!BundleVerifier.verify(directory: try fresh(), trustedPublicKey: [UInt8](repeating: 1, count: 32)).ok)
    }

    @Test func pseudonymisedAndErasedExportsStillVerify() throws {
        let (ledger, _) = try ExportTests.ledgerWithHistory()
        let plain = temporaryDirectory(), pseudo = temporaryDirectory()
        let key = try ledger.signingKey().publicKey
        _ = try ledger.export(to: plain, .init(operator: "m1", purpose: "test"))
        _ = try ledger.export(to: pseudo, .init(pseudonymize: true, operator: "m1", purpose: "test"))
        #expect(BundleVerifier.verify(directory: plain, trustedPublicKey: key).ok)
        #expect(BundleVerifier.verify(directory: pseudo, trustedPublicKey: key).ok)
        let plainPersonal = try String(contentsOfFile: plain + "/" + Bundle.personalFile, encoding: .utf8)
        let pseudoPersonal = try String(contentsOfFile: pseudo + "/" + Bundle.personalFile, encoding: .utf8)
        let pseudoCSV = try String(contentsOfFile: pseudo + "/" + Bundle.csvFile, encoding: .utf8)
        #expect(plainPersonal.contains("\"c1\"") && plainPersonal.contains("Jane Roe"))
        #expect(!pseudoPersonal.contains("\"c1\"") && !pseudoPersonal.contains("Jane") && !pseudoCSV.contains("Jane"))
        #expect(pseudoPersonal.contains("cus_"))
        // The erased customer shows as erased in every export, pseudonymised or not.
        #expect(!plainPersonal.contains("c-erase"))
        #expect(plainPersonal.contains(Ledger.erased))
        #expect(pseudoPersonal.contains(Ledger.erased))
        // The same events give the same lines and root either way.
        let a = try Data(contentsOf: URL(fileURLWithPath: plain + "/" + Bundle.eventsFile))
        let b = try Data(contentsOf: URL(fileURLWithPath: pseudo + "/" + Bundle.eventsFile))
        #expect(a.count > 0 && a.prefix(a.count) == b.prefix(a.count))
    }

    @Test func ticketAndStaffFilteredBundlesVerify() throws {
        let (ledger, _) = try ExportTests.ledgerWithHistory()
        let t = temporaryDirectory(), s = temporaryDirectory()
        let key = try ledger.signingKey().publicKey
        let ts = try ledger.export(to: t, .init(ticket: "T3", operator: "m1", purpose: "test"))
        let ss = try ledger.export(to: s, .init(staff: "s1", operator: "m1", purpose: "test"))
        #expect(ts.count == 7 && ss.count > 0)
        #expect(BundleVerifier.verify(directory: t, trustedPublicKey: key).ok)
        #expect(BundleVerifier.verify(directory: s, trustedPublicKey: key).ok)
    }

    @Test func proofsVerifyAgainstTheSignedCheckpoint() throws {
        let (ledger, _) = try ExportTests.ledgerWithHistory()
        let key = try ledger.verifierKey()
        let old = try ledger.checkpoint()
        _ = try Checkpoint.open(old.text, key: key)
        _ = try ledger.export(to: temporaryDirectory(), .init(operator: "m1", purpose: "test"))  // appends personalDataRevealed and exportMade
        let now = try ledger.checkpoint()
        #expect(now.checkpoint.treeSize == old.checkpoint.treeSize + 2)
        let n = UInt64(now.checkpoint.treeSize)
        for subject: Ledger.ProofSubject in [.ticket("T2"), .seq(1), .seq(n), .range(from: 1, to: n), .range(from: 2, to: 3),
                                             .consistency(oldSize: UInt64(old.checkpoint.treeSize)), .consistency(oldSize: n)] {
            let doc = try ledger.proofDocument(subject)
            let r = ProofDocument.verify(doc, key: key, kept: subject == .consistency(oldSize: UInt64(old.checkpoint.treeSize)) ? old.text : nil)
            #expect(r.ok, "\(subject): \(r.problem ?? "")")
            #expect(r.checkpoint?.treeSize == now.checkpoint.treeSize)
        }
        let ticket = ProofDocument.verify(try ledger.proofDocument(.ticket("T2")), key: key)
        #expect(ticket.checked == 5)
        // A forged consistency proof fails; so does a kept checkpoint of another history.
        var forged = String(decoding: try ledger.proofDocument(.consistency(oldSize: 2)), as: UTF8.self)
        let first = forged.range(of: "\"proof\":[\"")!.upperBound
        forged.replaceSubrange(first..<forged.index(first, offsetBy: 1), with: forged[first] == "0" ? "1" : "0")
        #expect(!ProofDocument.verify(Array(forged.utf8), key: key).ok)
        #expect(throws: LedgerError.self) { try ledger.proofDocument(.seq(n + 1)) }
        #expect(throws: LedgerError.self) { try ledger.proofDocument(.ticket("nope")) }
    }
}

@Suite struct PathsTests {
    @Test func parentDirectories() {
        let cases = ["B": ".", "BB": ".", "a/B": "a", "B/": ".", "/B": "/", "/": "/", "a//b": "a", "/x/y/": "/x", "./B": ".", "../B": ".."]
        for (path, parent) in cases { #expect(Paths.parent(of: path) == parent, "\(path)") }
    }
}

/// `GET /checkpoint` and proofs extend the longest Merkle prefix rooted before; the roots must
/// be those of a computation from every leaf, at every size, before and after appends.
@Suite struct MerklePrefixTests {
    @Test func rootsFromTheKeptPrefixEqualRootsFromEveryLeaf() throws {
        let (ledger, s0) = try ExportTests.ledgerWithHistory()
        var s = s0
        let n1 = try ledger.log.head().seq
        let r1 = try ledger.merkleRoot(size: n1)
        _ = try ledger.importStrings([s.open("T70", 700, customer: "c-70"), s.open("T71", 701, customer: "c-71")])
        let n2 = try ledger.log.head().seq
        #expect(n2 > n1)
        let r2 = try ledger.merkleRoot(size: n2)  // extends the prefix of n1
        let sizes = [1, n1 - 1, n1, n2 - 1, n2]
        let (fromLeaves, fromPrefix) = try ledger.log.environment.read { txn in
            (try sizes.map { try ledger.merkleRoot(size: $0, in: txn, fresh: true) },
             try sizes.map { try ledger.merkleRoot(size: $0, in: txn) })  // below the kept prefix: from the leaves
        }
        #expect(fromLeaves[2] == r1 && fromLeaves[4] == r2)
        #expect(fromPrefix == fromLeaves)
        #expect(try ledger.checkpoint().text.contains("\(n2)\n"))
    }
}
