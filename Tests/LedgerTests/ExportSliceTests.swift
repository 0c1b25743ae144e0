import Compliance
import EscalationDomain
import EventLog
import Foundation
import Simulation
import Testing
@testable import Ledger

/// An export decodes and renders its records in slices on several threads. Its three line
/// files must be byte for byte what rendering each event in turn gives, through the
/// transaction-reading `present`, across many slices and with an erased customer among them.
@Suite struct ExportSliceTests {
    @Test(arguments: [false, true])
    func slicedExportEqualsEventByEventRendering(pseudonymize: Bool) throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        let lines = Array(Simulator(seed: 61, calls: 1_800)).map { String(decoding: $0, as: UTF8.self) }
        _ = try ledger.importStrings(lines)
        // Erase one customer seen early, so that the slices hold erased and live customers.
        let first = try #require(lines.first { $0.contains("\"callOpened\"") })
        let customer = try #require(first.firstMatch(of: /"customer":\{"id":"([^"]+)"/)?.1)
        let officer = try #require(lines.joined().firstMatch(of: /"staff":"(co-[0-9]+)"/)?.1)
        let erase = #"{"id":"\#(UUID().uuidString.lowercased())","type":"personalDataErased","at":"2026-06-01T00:00:00Z","actor":"\#(officer)","channel":"ask:compliance","customer":"\#(customer)"}"#
        #expect(try ledger.importStrings([erase]).refused.isEmpty)
        let head = try ledger.log.head().seq
        #expect(head > 3 * UInt64(ExportSlice.size), "the test needs several slices; it has \(head) events")

        let dir = temporaryDirectory()
        _ = try ledger.export(to: dir, .init(pseudonymize: pseudonymize, operator: String(officer), purpose: "slices"))
        let result = BundleVerifier.verify(directory: dir, trustedPublicKey: try ledger.signingKey().publicKey)
        #expect(result.ok, "\(result)")
        #expect(result.checked == Int(head))

        // The same files, one event at a time, as the export wrote them before it was sliced.
        let view: PersonalDataView = pseudonymize ? .masked : .revealed
        var events: [UInt8] = [], personal: [UInt8] = [], csv = CSVRow.header
        try ledger.log.environment.read { txn in
            var previous = [UInt8](repeating: 0, count: 32)
            try ledger.log.scan(from: 1, through: head, in: txn) { r in
                let chain = try ledger.log.chainHash(r.seq, txn)
                events += Bundle.line(payload: Array(r.payload), hash: chain, id: r.id.uuidString, prevHash: previous,
                                      recordedAtMicros: r.recordedAt, seq: r.seq, stream: r.stream, version: r.version) + [0x0A]
                previous = chain
                let event = try ledger.present(try EventDecoder(mode: .stored).decode(r.payload), view, in: txn)
                if let line = Ledger.personalLine(event, seq: r.seq) { personal += line + [0x0A] }
                csv += CSVRow.render(event, seq: r.seq, version: r.version, recordedAt: r.recordedAt, stream: r.stream, hash: chain)
                return true
            }
        }
        func file(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))) }
        #expect(try file(Bundle.eventsFile) == events)
        #expect(try file(Bundle.personalFile) == personal)
        #expect(try file(Bundle.csvFile) == csv)
        let text = String(decoding: personal, as: UTF8.self)
        #expect(text.contains(Ledger.erased), "the erased customer shows as erased")
        #expect(text.contains(pseudonymize ? Ledger.masked : "\"customer\":\"C-"), "live customers masked or shown")
    }
}
