import Compliance
import Testing

@Suite("Canonical JSON")
struct CanonicalJSONTests {
    /// Expected bytes produced by CPython 3 with
    /// json.dumps(obj, sort_keys=True, separators=(",", ":")).
    @Test("matches Python's json.dumps(sort_keys=True, separators=(',', ':'))")
    func matchesPython() {
        let value = CanonicalJSON.object([
            "b": .integer(1),
            "a": .array([.bool(true), .bool(false), .null, .integer(-5),
                         .string("x\"\\/\n\r\t\u{08}\u{0C}\u{01}\u{1F}\u{7F} \u{E9}\u{20AC}\u{1F600}")]),
            "A": .object([:]),
            "\u{E9}": .string(""),
            "z": .integer(Int64.max),
            "\u{E9}a": .array([]),
            "m": .integer(Int64.min),
            "\u{1F600}": .string("\u{FFFF}"),
            "\u{FFFF}": .integer(0),  // sorts before U+1F600 by code point (not by UTF-16 unit)
        ])
        let python = #"{"A":{},"a":[true,false,null,-5,"x\"\\/\n\r\t\b\f\u0001\u001f\u007f \u00e9\u20ac\ud83d\ude00"],"b":1,"m":-9223372036854775808,"z":9223372036854775807,"\u00e9":"","\u00e9a":[],"\uffff":0,"\ud83d\ude00":"\uffff"}"#
        #expect(value.encodedString == python)
        #expect(value.encoded == Array(python.utf8))
    }

    @Test("parses back what it writes, and whitespace-laden input")
    func roundTrip() throws {
        let value = CanonicalJSON.object([
            "k": .array([.string("\u{1F600}\u{E9}\n"), .integer(-12), .object(["x": .null])]),
            "t": .bool(true),
        ])
        #expect(try CanonicalJSON.parse(value.encoded) == value)
        let spaced = Array(#" { "t" : true ,"k":[ "\ud83d\ude00\u00E9\n" , -12, {"x" : null} ] } "#.utf8)
        #expect(try CanonicalJSON.parse(spaced) == value)
    }

    @Test("rejects what it cannot represent exactly", arguments: [
        #"{"a":1,"a":2}"#,  // duplicate key
        "1.5", "1e3", "01", "-", "",  // not integers / malformed numbers
        "99999999999999999999",  // out of Int64 range
        #""\ud800""#,  // unpaired surrogate
        "\"a\u{01}\"",  // raw control character
        "[1,]", "{\"a\"}", "[1] x", "tru",
    ])
    func rejects(text: String) {
        #expect(throws: CanonicalJSONParseError.self) { try CanonicalJSON.parse(Array(text.utf8)) }
    }
}
