import Foundation
import Testing
@testable import EscalationDomain

/// A small deterministic generator (xorshift64*), so failures reproduce.
private struct XorShift: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}

@Suite("Mutated lines")
struct MutationTests {
    @Test("a damaged line is refused or decodes to an event that round-trips; never a crash")
    func mutations() throws {
        var rng = XorShift(state: 0x9E37_79B9_7F4A_7C15)
        let lines = (Fixtures.full + Fixtures.minimal).map(EventEncoder.encode) + [Array(Fixtures.callOpenedLine.utf8)]
        let alphabet = Array(#"{}[]":,\ u0123456789abcdefABCDEF-+.eE tnrfl"#.utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xA9, 0xF0, 0xFF]
        var accepted = 0
        var refused = 0
        for round in 0..<20_000 {
            var bytes = lines[round % lines.count]
            for _ in 0...Int.random(in: 0..<3, using: &rng) {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes[at] = alphabet.randomElement(using: &rng)!
                case 1: bytes.remove(at: at)
                default: bytes.insert(alphabet.randomElement(using: &rng)!, at: at)
                }
                if bytes.isEmpty { break }
            }
            do {
                let event = try EventDecoder(mode: .stored).decode(bytes)
                accepted += 1
                let canonical = EventEncoder.encode(event)
                #expect(try EventDecoder(mode: .stored).decode(canonical) == event)
                // Whatever we accept, Foundation's JSON parser accepts too.
                #expect((try? JSONSerialization.jsonObject(with: Data(bytes))) != nil,
                        "\(String(decoding: bytes, as: UTF8.self))")
            } catch {
                refused += 1
                #expect(error.rule == .schema)
            }
        }
        #expect(accepted > 100 && refused > 1000)
    }
}
