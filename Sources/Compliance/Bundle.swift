import Crypto
import EscalationDomain
import EventLog
import Foundation

/// The export bundle's layout (docs/EXPORT.md): `events.jsonl`, `events.csv`,
/// `personal.jsonl`, `proof.json`, the signed `manifest.json` and the `checkpoint` note.
public enum Bundle {
    /// The format written. Format 3 is format 2 with the spreadsheet formula guard in
    /// `events.csv` (``CSVRow/line(_:guardFormulas:)``); verifiers check both, each by its own rule.
    public static let format = "escalation-ledger-bundle/3"
    /// The format before the formula guard; still verified.
    public static let unguardedFormat = "escalation-ledger-bundle/2"
    /// Every format a verifier accepts.
    public static let verifiedFormats = [unguardedFormat, format]
    public static let eventsFile = "events.jsonl"
    public static let csvFile = "events.csv"
    public static let personalFile = "personal.jsonl"
    public static let proofFile = "proof.json"
    public static let manifestFile = "manifest.json"
    public static let checkpointFile = "checkpoint"
    /// The files the manifest lists, in code-point order (every one of them, and nothing else).
    public static let listedFiles = [csvFile, eventsFile, personalFile, proofFile]

    /// One `events.jsonl` line (without the newline): canonical JSON with keys sorted, the
    /// stored payload embedded as it is under `event`.
    public static func line(payload: [UInt8], hash: [UInt8], id: String, prevHash: [UInt8], recordedAtMicros: Int64,
                            seq: UInt64, stream: String, version: UInt64) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(payload.count + 320)
        func text(_ s: StaticString) { out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)) }
        func hex(_ bytes: [UInt8]) { bytes.withUnsafeBytes { Hex.append($0, to: &out) } }
        text(#"{"event":"#); out += payload
        text(#","hash":""#); hex(hash)
        text(#"","id":""#); out += id.utf8
        text(#"","prevHash":""#); hex(prevHash)
        text(#"","recordedAt":""#); appendRecordedAt(recordedAtMicros, to: &out)
        text(#"","recordedAtMicros":"#); DecimalText.append(recordedAtMicros, to: &out)
        text(#","seq":"#); DecimalText.append(seq, to: &out)
        text(#","stream":"#); appendJSONString(stream, to: &out)
        text(#","version":"#); DecimalText.append(version, to: &out); text("}")
        return out
    }

    /// RFC 3339 UTC with exactly six fraction digits.
    public static func recordedAtText(_ micros: Int64) -> String {
        var out: [UInt8] = []
        appendRecordedAt(micros, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends ``recordedAtText(_:)``'s form of `micros` to `out`.
    static func appendRecordedAt(_ micros: Int64, to out: inout [UInt8]) {
        let fraction = ((micros % 1_000_000) + 1_000_000) % 1_000_000
        Timestamp(microsecondsSinceEpoch: micros - fraction).write(into: &out)  // "...:SSZ"
        out[out.count - 1] = UInt8(ascii: ".")
        var divisor: Int64 = 100_000
        while divisor > 0 {
            out.append(UInt8(truncatingIfNeeded: 48 + fraction / divisor % 10))
            divisor /= 10
        }
        out.append(UInt8(ascii: "Z"))
    }

    /// A JSON string as Python's `json.dumps(..., ensure_ascii=False)` writes it.
    static func appendJSONString(_ s: String, to out: inout [UInt8]) { JSONString.append(s, to: &out) }

    /// The manifest's signed bytes: its canonical JSON without `signature`.
    public static func signedBytes(_ manifest: [String: CanonicalJSON]) -> [UInt8] {
        var m = manifest
        m["signature"] = nil
        return CanonicalJSON.object(m).encoded
    }
}

extension Array where Element == UInt8 {
    func trimmingTrailingNewline() -> [UInt8] {
        var a = self
        while let l = a.last, l == 0x0A || l == 0x0D || l == 0x20 { a.removeLast() }
        return a
    }

    func lastRange(of needle: [UInt8]) -> Range<Int>? {
        guard let first = needle.first, needle.count <= count else { return nil }
        return withUnsafeBufferPointer { hay in
            needle.withUnsafeBufferPointer { n in
                // Backwards from the last place the needle fits, eight bytes at a time until a
                // word holds its first byte (the words are checked whole; the bytes of a word
                // that holds one are then tried one by one).
                let base = hay.baseAddress!
                let ones: UInt64 = 0x0101_0101_0101_0101, high: UInt64 = 0x8080_8080_8080_8080
                let pattern = UInt64(first) &* ones
                var i = count - n.count
                while i >= 0 {
                    while i >= 7 {
                        let x = UnsafeRawPointer(base + i - 7).loadUnaligned(as: UInt64.self) ^ pattern
                        if (x &- ones) & ~x & high != 0 { break }
                        i -= 8
                    }
                    let stop = Swift.max(i - 7, 0)
                    while i >= stop {
                        if base[i] == first, memcmp(base + i, n.baseAddress!, n.count) == 0 { return i..<i + n.count }
                        i -= 1
                    }
                }
                return nil
            }
        }
    }

    /// True when `other` holds the same bytes (`memcmp`: the verifier compares every line it
    /// renders again, and `==` on arrays compares element by element).
    func sameBytes<C: Collection<UInt8>>(_ other: C) -> Bool {
        guard count == other.count else { return false }
        return withUnsafeBufferPointer { a in
            other.withContiguousStorageIfAvailable { b in a.isEmpty || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 }
                ?? a.elementsEqual(other)
        }
    }
}
