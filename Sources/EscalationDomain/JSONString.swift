/// JSON string literals written exactly as Python's `json.dumps(..., ensure_ascii=False)`
/// writes them (the escaping the canonical form uses): the one escaper the ledger's
/// encoder, its machine output and its export lines share.
public enum JSONString {
    /// Appends `value` as a JSON string literal to `buffer`.
    public static func append(_ value: String, to buffer: inout [UInt8]) {
        ByteSink.write(appendingTo: &buffer) { $0.putJSONString(value) }
    }
}
