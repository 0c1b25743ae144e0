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
        func string(_ s: String) { out.append(contentsOf: s.utf8) }
        func hex(_ bytes: [UInt8]) {
            let digits: StaticString = "0123456789abcdef"
            for b in bytes { out.append(digits.utf8Start[Int(b >> 4)]); out.append(digits.utf8Start[Int(b & 15)]) }
        }
        text(#"{"event":"#); out += payload
        text(#","hash":""#); hex(hash)
        text(#"","id":""#); string(id)
        text(#"","prevHash":""#); hex(prevHash)
        text(#"","recordedAt":""#); string(recordedAtText(recordedAtMicros))
        text(#"","recordedAtMicros":"#); string(String(recordedAtMicros))
        text(#","seq":"#); string(String(seq))
        text(#","stream":"#); appendJSONString(stream, to: &out)
        text(#","version":"#); string(String(version)); text("}")
        return out
    }

    /// RFC 3339 UTC with exactly six fraction digits.
    public static func recordedAtText(_ micros: Int64) -> String {
        let whole = micros - ((micros % 1_000_000) + 1_000_000) % 1_000_000
        let t = Timestamp(microsecondsSinceEpoch: whole).description  // "...:SSZ"
        let digits = String(micros - whole)
        return String(t.dropLast()) + "." + String(repeating: "0", count: 6 - digits.count) + digits + "Z"
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
        guard needle.count <= count else { return nil }
        var i = count - needle.count
        while i >= 0 {
            if self[i..<i + needle.count].elementsEqual(needle) { return i..<i + needle.count }
            i -= 1
        }
        return nil
    }
}
