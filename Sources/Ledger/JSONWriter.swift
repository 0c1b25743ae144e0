import EscalationDomain

/// Writes JSON text: objects with keys in the order given, strings escaped as
/// Python's `json.dumps(..., ensure_ascii=False)` does. For machine output and
/// small canonical objects.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    private var needsComma: [Bool] = [false]

    public init() {}

    /// Empties the writer for a new value, keeping its memory (a list writes one per item).
    public mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        needsComma.removeAll(keepingCapacity: true)
        needsComma.append(false)
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    private mutating func separate() {
        if needsComma[needsComma.count - 1] { bytes.append(UInt8(ascii: ",")) }
        needsComma[needsComma.count - 1] = true
    }

    public mutating func beginObject() { separate(); bytes.append(UInt8(ascii: "{")); needsComma.append(false) }
    public mutating func endObject() { bytes.append(UInt8(ascii: "}")); needsComma.removeLast() }
    public mutating func beginArray() { separate(); bytes.append(UInt8(ascii: "[")); needsComma.append(false) }
    public mutating func endArray() { bytes.append(UInt8(ascii: "]")); needsComma.removeLast() }

    /// Writes `"key":` — the next value belongs to it.
    public mutating func key(_ k: String) {
        separate()
        JSONWriter.appendString(k, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        needsComma[needsComma.count - 1] = false
    }

    public mutating func string(_ s: String) { separate(); JSONWriter.appendString(s, to: &bytes) }
    public mutating func int<I: BinaryInteger>(_ v: I) {
        separate()
        if let u = UInt64(exactly: v) { DecimalText.append(u, to: &bytes) } else { bytes += String(v).utf8 }
    }
    public mutating func bool(_ v: Bool) { separate(); literal(v ? "true" : "false") }
    public mutating func null() { separate(); literal("null") }

    private mutating func literal(_ s: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }
    /// A number with at most `decimals` fraction digits (trailing zeros trimmed).
    public mutating func double(_ v: Double, decimals: Int = 6) {
        separate()
        bytes += Array(JSONWriter.format(v, decimals: decimals).utf8)
    }
    /// Inserts already-encoded JSON.
    public mutating func raw(_ json: some Collection<UInt8>) { separate(); bytes += json }

    public mutating func field(_ k: String, _ v: String) { key(k); string(v) }
    /// A time in its canonical form, written straight into the output (it needs no escape).
    public mutating func field(_ k: String, _ v: Timestamp?) {
        key(k)
        guard let v else { return null() }
        separate()
        bytes.append(UInt8(ascii: "\""))
        v.write(into: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }
    public mutating func field(_ k: String, _ v: String?) { key(k); if let v { string(v) } else { null() } }
    public mutating func field<I: BinaryInteger>(_ k: String, _ v: I) { key(k); int(v) }
    public mutating func field(_ k: String, _ v: Bool) { key(k); bool(v) }
    public mutating func field(_ k: String, _ v: Double?, decimals: Int = 6) {
        key(k); if let v { double(v, decimals: decimals) } else { null() }
    }

    static func format(_ v: Double, decimals: Int) -> String {
        guard v.isFinite else { return "null" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let r = (v * scale).rounded() / scale
        if r == r.rounded() && abs(r) < 1e15 { return String(Int64(r)) }
        var s = String(r)
        if s.contains("e") { s = String(format: "%.\(decimals)f", r) }
        return s
    }

    /// Appends `s` as a JSON string literal.
    public static func appendString(_ s: String, to out: inout [UInt8]) { JSONString.append(s, to: &out) }
}

import Foundation
