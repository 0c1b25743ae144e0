import Compliance
import EscalationDomain
import Foundation
import Simulation
import Testing
@testable import Ledger

/// `BundleVerifier` checks each line with its personal line and CSV row on several threads, a
/// chunk of lines at a time, and the lines' order on one. Whatever is damaged, and wherever the
/// chunks and the threads' parts fall, the first bad line of events.jsonl is the one named.
@Suite(.serialized) struct BundleVerifierChunkTests {
    /// A pseudonymised bundle of more than two chunks (4,096 lines each), made once.
    static let made: (dir: String, key: SigningKeyFile, events: Int) = {
        let ledger = try! Ledger.open(at: temporaryDirectory())
        let lines = Array(Simulator(seed: 61, calls: 1_800)).map { String(decoding: $0, as: UTF8.self) }
        _ = try! ledger.importStrings(lines)
        let officer = String(lines.joined().firstMatch(of: /"staff":"(co-[0-9]+)"/)!.1)
        let dir = temporaryDirectory()
        let head = Int(try! ledger.log.head().seq)
        _ = try! ledger.export(to: dir, .init(pseudonymize: true, operator: officer, purpose: "chunks"))
        return (dir, try! ledger.signingKey(), head)
    }()

    /// A copy of the bundle with `damage` done to it, verified.
    func verify(_ damage: (Files) throws -> Void) throws -> BundleVerification {
        let copy = temporaryDirectory()
        try FileManager.default.copyItem(atPath: Self.made.dir, toPath: copy)
        try damage(Files(work: TamperSuiteTests.Work(dir: copy, key: Self.made.key, trusted: Self.made.key.publicKey)))
        return BundleVerifier.verify(directory: copy, trustedPublicKey: Self.made.key.publicKey)
    }

    /// A bundle's line files, changed through the tamper suite's reader and writer.
    struct Files {
        let work: TamperSuiteTests.Work
        /// Changes events.jsonl's line `n` (1-based).
        func event(_ n: Int, _ change: (inout [UInt8]) -> Void) throws {
            var l = try work.lines(); change(&l[n - 1]); try work.setLines(l)
        }
        /// Changes events.csv's rows (row 0 is the header, row `n` line `n`'s).
        func rows(_ change: (inout [[UInt8]]) -> Void) throws {
            var rows = try work.csvRows(); change(&rows); try work.setCSVRows(rows)
        }
        /// Changes personal.jsonl's lines.
        func personal(_ change: (inout [[UInt8]]) -> Void) throws {
            var l = try work.lines(Bundle.personalFile); change(&l); try work.setLines(l, Bundle.personalFile)
        }
    }

    /// The seqs (= line numbers: the bundle is of the whole log) that have a personal.jsonl line, in order.
    static let personalSeqs: [Int] = {
        let work = TamperSuiteTests.Work(dir: made.dir, key: made.key, trusted: made.key.publicKey)
        return try! work.lines(Bundle.personalFile).map { line in
            Int(String(decoding: line, as: UTF8.self).firstMatch(of: /"seq":([0-9]+)/)!.1)!
        }
    }()

    /// The first line at or after `n` with a personal line, and that personal line's index.
    func personalLine(atOrAfter n: Int) -> (line: Int, index: Int) {
        let index = Self.personalSeqs.firstIndex { $0 >= n }!
        return (Self.personalSeqs[index], index)
    }

    func flipHash(_ line: inout [UInt8]) {
        let at = line.lastRange(of: Array(#","hash":""#.utf8))!.upperBound
        line[at] = line[at] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
    }

    @Test func theUndamagedBundleVerifies() throws {
        #expect(Self.made.events > 2 * 4096, "the test needs more than two chunks; it has \(Self.made.events) events")
        let result = try verify { _ in }
        #expect(result.ok, "\(result)")
        #expect(result.checked == Self.made.events)
    }

    @Test func aCSVRowBeforeADamagedPersonalLineIsNamed() throws {
        let later = personalLine(atOrAfter: 5_000), earlier = 4_500
        let result = try verify { f in
            try f.personal { $0[later.index].insert(0x20, at: 1) }
            try f.rows { $0[earlier][0] = UInt8(ascii: "9") }
        }
        #expect(result.firstBadLine == earlier, "\(result)")
        #expect(result.problem?.contains("events.csv's row") == true, "\(result)")
    }

    @Test func aPersonalLineBeforeADamagedCSVRowIsNamed() throws {
        let earlier = personalLine(atOrAfter: 300), later = 5_000
        let result = try verify { f in
            try f.rows { $0[later][0] = UInt8(ascii: "9") }
            try f.personal { $0[earlier.index].insert(0x20, at: 1) }
        }
        #expect(result.firstBadLine == earlier.line, "\(result)")
        #expect(result.problem?.contains("personal.jsonl") == true, "\(result)")
    }

    @Test func aDamagedEventLineBeforeBothIsNamed() throws {
        let line = 4_097  // the first line of the second chunk
        let personal = personalLine(atOrAfter: line + 1)
        let result = try verify { f in
            try f.event(line, flipHash)
            try f.personal { $0[personal.index].insert(0x20, at: 1) }
            try f.rows { $0[line + 2][0] = UInt8(ascii: "9") }
        }
        #expect(result.firstBadLine == line, "\(result)")
        #expect(result.problem?.contains("hash does not match") == true, "\(result)")
    }

    @Test func anEventLineAfterADamagedPersonalLineIsNotNamed() throws {
        let personal = personalLine(atOrAfter: 8_000)
        let result = try verify { f in
            try f.event(personal.line + 1, flipHash)
            try f.personal { $0[personal.index].insert(0x20, at: 1) }
        }
        #expect(result.firstBadLine == personal.line, "\(result)")
    }

    @Test func aMissingPersonalLineIsNamedAtItsEvent() throws {
        let missing = personalLine(atOrAfter: 4_096)
        let result = try verify { f in try f.personal { $0.remove(at: missing.index) } }
        #expect(result.firstBadLine == missing.line, "\(result)")
        #expect(result.problem?.contains("personal.jsonl has no line for seq \(missing.line)") == true, "\(result)")
    }

    @Test func aSurplusPersonalLineAndAMissingRowAreFound() throws {
        let surplus = try verify { f in try f.personal { $0.append($0[$0.count - 1]) } }
        #expect(surplus.problem == "personal.jsonl has lines for no event of the bundle", "\(surplus)")
        let short = try verify { f in try f.rows { $0.removeLast() } }
        #expect(short.firstBadLine == Self.made.events, "\(short)")
        #expect(short.problem?.contains("events.csv's row") == true, "\(short)")
    }
}
