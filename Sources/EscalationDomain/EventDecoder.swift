/// Reads one interchange line (one JSON object) into an `Event`, strictly.
///
/// Everything that is not exactly a catalogue event is refused with a
/// `schema` `RuleViolation` naming the field: a line that is not one JSON
/// object (trailing garbage, an array, invalid UTF-8 or JSON), an unknown
/// `type`, a missing, mistyped or unknown field (also inside `customer`), a
/// duplicate key, `null` for any field (an optional field is left out, never
/// `null`), a value outside an enumeration, a bad time, an identifier that is
/// not 1 to 200 bytes of NFC UTF-8 free of control characters (``Identifier``).
/// Bad values are quoted in messages only as a short escaped prefix
/// (``Display/quoted(_:limit:)``).
///
///     let decoder = EventDecoder(mode: .interchange)
///     let event = try decoder.decode(Array(line.utf8))
///     try event.validateStandalone()
public struct EventDecoder: Sendable {
    /// Which lines are accepted.
    public enum Mode: Sendable, Hashable {
        /// What users send: `sealed` is an unknown field.
        case interchange
        /// What the ledger stores: `sealed` (the sealed personal data) is allowed.
        case stored
        /// What the ledger stores, read for the projections, which never look at personal
        /// data: `sealed` is checked to be a string and left out of the event (no copy of it
        /// is made). Everything else is read as in `stored`.
        case projection
    }

    /// The longest id accepted, in UTF-8 bytes.
    public static let maxIDLength = Identifier.maxLength

    /// Which lines are accepted.
    public var mode: Mode

    /// A decoder for `mode`.
    public init(mode: Mode = .interchange) {
        self.mode = mode
    }

    /// Decodes one line.
    /// - throws: a `schema` `RuleViolation` naming the field at fault.
    public func decode(_ bytes: UnsafeRawBufferPointer) throws(RuleViolation) -> Event {
        guard bytes.count > 0, let base = bytes.baseAddress else {
            throw RuleViolation(.schema, message: "not one JSON object: empty line")
        }
        guard bytes.count < Int(Int32.max) else {
            throw RuleViolation(.schema, message: "not one JSON object: line too long")
        }
        let p = base.assumingMemoryBound(to: UInt8.self)
        // Typed throws straight through: an event passed out through a `Result` was copied
        // (its strings retained, then released), about 3% of decoding.
        return try withUnsafeTemporaryAllocation(of: Slot.self, capacity: slotCount) { slots throws(RuleViolation) -> Event in
            var parser = LineParser(p: p, n: bytes.count, slots: slots.baseAddress!, allowSealed: mode != .interchange,
                                    keepSealed: mode == .stored)
            try parser.parseLine()
            return try parser.event()
        }
    }

    /// Decodes one line.
    /// - throws: a `schema` `RuleViolation` naming the field at fault.
    public func decode(_ bytes: [UInt8]) throws(RuleViolation) -> Event {
        let result = bytes.withUnsafeBytes { b in Result { () throws(RuleViolation) in try decode(b) } }
        return try result.get()
    }

    /// Decodes one line.
    /// - throws: a `schema` `RuleViolation` naming the field at fault.
    public func decode(_ line: String) throws(RuleViolation) -> Event {
        var line = line
        let result = line.withUTF8 { b in Result { () throws(RuleViolation) in try decode(UnsafeRawBufferPointer(b)) } }
        return try result.get()
    }
}

// MARK: - Scanning

/// Slot indices: one per `Key` (by raw value), then `customer`'s four keys.
enum SlotIndex {
    /// `Key.allCases.count` (checked by a test), as a constant.
    static let keyCount = 55
    static let customerID = keyCount
    static let customerName = keyCount + 1
    static let customerPhone = keyCount + 2
    static let count = keyCount + 3
}

private let slotCount = SlotIndex.count
private let customerID = SlotIndex.customerID
private let customerName = SlotIndex.customerName
private let customerPhone = SlotIndex.customerPhone

private enum ValueKind: UInt8 {
    case string, number, trueValue, falseValue, null, object, array

    var name: String {
        switch self {
        case .string: "a string"
        case .number: "a number"
        case .trueValue, .falseValue: "a boolean"
        case .null: "null"
        case .object: "an object"
        case .array: "an array"
        }
    }
}

/// Where a value sits in the line: for strings, the bytes between the quotes.
private struct Slot {
    var start: Int32
    var end: Int32
    var kind: ValueKind
    var escaped: Bool

    var count: Int { Int(end - start) }
}

private struct LineParser {
    let p: UnsafePointer<UInt8>
    let n: Int
    let slots: UnsafeMutablePointer<Slot>
    let allowSealed: Bool
    /// False: a `sealed` value is checked, not copied into the event (``EventDecoder/Mode/projection``).
    let keepSealed: Bool
    var i = 0
    var seen: UInt64 = 0
    var customerSeen: UInt8 = 0
    /// The first duplicate key, then the first unknown key (reported after the type).
    var duplicate: String?
    var unknown: String?
    /// The key whose value is being read, for syntax errors.
    var keyStart = -1  // the key whose value is being read (-1: none), for syntax errors
    var keyEnd = 0
    var keyEscaped = false

    init(p: UnsafePointer<UInt8>, n: Int, slots: UnsafeMutablePointer<Slot>, allowSealed: Bool, keepSealed: Bool = true) {
        self.p = p
        self.n = n
        self.slots = slots
        self.allowSealed = allowSealed
        self.keepSealed = keepSealed
    }

    // MARK: Errors

    func syntax(_ what: String) -> RuleViolation {
        var field: String?
        if keyStart >= 0 { field = Self.shortName(decodeString(keyStart, keyEnd, keyEscaped)) }
        return RuleViolation(.schema, eventID: readEventID(), field: field,
                             message: "not one JSON object: \(what) at byte \(min(i, n))")
    }

    func fail(_ field: String, _ message: String) -> RuleViolation {
        RuleViolation(.schema, eventID: readEventID(), field: field, message: message)
    }

    /// The `id` as written, when it has been read as a string (lowercased when a UUID).
    func readEventID() -> String? {
        guard seen & Key.id.bit != 0 else { return nil }
        let s = slots[Int(Key.id.rawValue)]
        guard s.kind == .string else { return nil }
        if !s.escaped, let id = EventID.parse(UnsafeRawBufferPointer(start: p + Int(s.start), count: s.count)) {
            return id.description
        }
        let raw = decodeString(Int(s.start), Int(s.end), s.escaped)
        return EventID(raw)?.description ?? Self.shortName(raw)
    }

    /// A key or id as written when it is short and control-free, else its
    /// escaped prefix and `…` (a refusal never echoes a huge or hostile value).
    static func shortName(_ name: String) -> String {
        if name.utf8.count <= 64, !Display.hasControl(name) { return name }
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: name.unicodeScalars.prefix(40))
        return Display.escaped(String(scalars)) + (name.unicodeScalars.count > 40 ? "…" : "")
    }

    // MARK: Structure

    @inline(__always)
    mutating func skipWhitespace() {
        while i < n {
            let c = p[i]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            i += 1
        }
    }

    @inline(__always)
    mutating func expect(_ c: UInt8, _ what: String) throws(RuleViolation) {
        guard i < n, p[i] == c else { throw syntax(i < n ? "expected \(what)" : "unexpected end, expected \(what)") }
        i += 1
    }

    mutating func parseLine() throws(RuleViolation) {
        skipWhitespace()
        guard i < n, p[i] == UInt8(ascii: "{") else {
            throw syntax(i < n ? "expected '{'" : "empty line, expected a JSON object")
        }
        i += 1
        skipWhitespace()
        if i < n, p[i] == UInt8(ascii: "}") {
            i += 1
        } else {
            while true {
                try expect(UInt8(ascii: "\""), "a key")
                let (ks, ke, kesc) = try scanString()
                keyStart = ks
                keyEnd = ke
                keyEscaped = kesc
                skipWhitespace()
                try expect(UInt8(ascii: ":"), "':'")
                skipWhitespace()
                let key = Key.lookup(packedName(ks, ke, kesc))
                if let key {
                    let slot: Slot
                    if key == .customer, seen & key.bit == 0, i < n, p[i] == UInt8(ascii: "{") {
                        let start = i
                        try parseCustomer()
                        slot = Slot(start: Int32(start), end: Int32(i), kind: .object, escaped: false)
                    } else {
                        slot = try parseValue(depth: 1)
                    }
                    if seen & key.bit != 0 {
                        if duplicate == nil { duplicate = key.name }
                    } else {
                        seen |= key.bit
                        slots[Int(key.rawValue)] = slot
                    }
                } else {
                    _ = try parseValue(depth: 1)
                    if unknown == nil { unknown = Self.shortName(decodeString(ks, ke, kesc)) }
                }
                keyStart = -1
                skipWhitespace()
                guard i < n else { throw syntax("unexpected end, expected ',' or '}'") }
                if p[i] == UInt8(ascii: ",") {
                    i += 1
                    skipWhitespace()
                    continue
                }
                try expect(UInt8(ascii: "}"), "',' or '}'")
                break
            }
        }
        skipWhitespace()
        guard i == n else { throw syntax("unexpected characters after the object") }
    }

    /// Reads `customer`'s object into the four customer slots.
    mutating func parseCustomer() throws(RuleViolation) {
        i += 1  // '{'
        skipWhitespace()
        if i < n, p[i] == UInt8(ascii: "}") { i += 1; return }
        while true {
            try expect(UInt8(ascii: "\""), "a key")
            let (ks, ke, kesc) = try scanString()
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':'")
            skipWhitespace()
            let slot = try parseValue(depth: 2)
            let index = customerIndex(packedName(ks, ke, kesc))
            if let index {
                let bit = UInt8(1) << UInt8(index - customerID)
                if customerSeen & bit != 0 {
                    if duplicate == nil { duplicate = "customer." + Self.shortName(decodeString(ks, ke, kesc)) }
                } else {
                    customerSeen |= bit
                    slots[index] = slot
                }
            } else if unknown == nil {
                unknown = "customer." + Self.shortName(decodeString(ks, ke, kesc))
            }
            skipWhitespace()
            guard i < n else { throw syntax("unexpected end, expected ',' or '}'") }
            if p[i] == UInt8(ascii: ",") {
                i += 1
                skipWhitespace()
                continue
            }
            try expect(UInt8(ascii: "}"), "',' or '}'")
            return
        }
    }

    /// The slot of a `customer` key, nil when unknown.
    func customerIndex(_ name: PackedName) -> Int? {
        switch (name.count, name.w0) {
        case (2, 0x6469): return customerID  // id
        case (4, 0x656d_616e): return customerName  // name
        case (5, 0x65_6e6f_6870): return customerPhone  // phone
        default: return nil
        }
    }

    /// The packed name of a scanned string (unescaped first when needed).
    @inline(__always)
    func packedName(_ start: Int, _ end: Int, _ escaped: Bool) -> PackedName {
        if _slowPath(escaped) { return Self.packedEscapedName(p, n, start, end) }
        return PackedName(p + start, count: end - start, readable: n - start)
    }

    @inline(never)
    static func packedEscapedName(_ p: UnsafePointer<UInt8>, _ n: Int, _ start: Int, _ end: Int) -> PackedName {
        let bytes = [UInt8](unsafeUninitializedCapacity: end - start) { buf, count in
            count = unescape(p, n, start, end, into: buf.baseAddress!)
        }
        return bytes.withUnsafeBufferPointer { PackedName($0.baseAddress ?? p, count: $0.count, readable: $0.count) }
    }

    /// Reads any JSON value; nested objects and arrays are checked and skipped.
    mutating func parseValue(depth: Int) throws(RuleViolation) -> Slot {
        guard i < n else { throw syntax("unexpected end, expected a value") }
        let start = i
        switch p[i] {
        case UInt8(ascii: "\""):
            i += 1
            let (s, e, esc) = try scanString()
            return Slot(start: Int32(s), end: Int32(e), kind: .string, escaped: esc)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try scanNumber()
            return Slot(start: Int32(start), end: Int32(i), kind: .number, escaped: false)
        case UInt8(ascii: "t"):
            try literal("true")
            return Slot(start: Int32(start), end: Int32(i), kind: .trueValue, escaped: false)
        case UInt8(ascii: "f"):
            try literal("false")
            return Slot(start: Int32(start), end: Int32(i), kind: .falseValue, escaped: false)
        case UInt8(ascii: "n"):
            try literal("null")
            return Slot(start: Int32(start), end: Int32(i), kind: .null, escaped: false)
        case UInt8(ascii: "{"):
            try skipContainer(close: UInt8(ascii: "}"), depth: depth)
            return Slot(start: Int32(start), end: Int32(i), kind: .object, escaped: false)
        case UInt8(ascii: "["):
            try skipContainer(close: UInt8(ascii: "]"), depth: depth)
            return Slot(start: Int32(start), end: Int32(i), kind: .array, escaped: false)
        default:
            throw syntax("expected a value")
        }
    }

    mutating func skipContainer(close: UInt8, depth: Int) throws(RuleViolation) {
        guard depth < 64 else { throw syntax("nesting too deep") }
        i += 1
        skipWhitespace()
        if i < n, p[i] == close { i += 1; return }
        while true {
            if close == UInt8(ascii: "}") {
                try expect(UInt8(ascii: "\""), "a key")
                _ = try scanString()
                skipWhitespace()
                try expect(UInt8(ascii: ":"), "':'")
                skipWhitespace()
            }
            _ = try parseValue(depth: depth + 1)
            skipWhitespace()
            guard i < n else { throw syntax("unexpected end of a nested value") }
            if p[i] == UInt8(ascii: ",") {
                i += 1
                skipWhitespace()
                continue
            }
            try expect(close, close == UInt8(ascii: "}") ? "',' or '}'" : "',' or ']'")
            return
        }
    }

    mutating func literal(_ word: StaticString) throws(RuleViolation) {
        let count = word.utf8CodeUnitCount
        guard i + count <= n else { throw syntax("invalid literal") }
        for j in 0..<count where p[i + j] != word.utf8Start[j] { throw syntax("invalid literal") }
        i += count
    }

    mutating func scanNumber() throws(RuleViolation) {
        @inline(__always) func isDigit(_ j: Int) -> Bool { j < n && p[j] &- 48 < 10 }
        if p[i] == UInt8(ascii: "-") { i += 1 }
        guard isDigit(i) else { throw syntax("invalid number") }
        if p[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while isDigit(i) { i += 1 }
        }
        if i < n, p[i] == UInt8(ascii: ".") {
            i += 1
            guard isDigit(i) else { throw syntax("invalid number") }
            while isDigit(i) { i += 1 }
        }
        if i < n, p[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            if i < n, p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") { i += 1 }
            guard isDigit(i) else { throw syntax("invalid number") }
            while isDigit(i) { i += 1 }
        }
    }

    /// Scans a string whose opening quote has been consumed; checks escapes
    /// and UTF-8. Returns the content's range and whether it has escapes.
    mutating func scanString() throws(RuleViolation) -> (Int, Int, Bool) {
        let start = i
        var escaped = false
        var j = i  // a local index keeps the hot loop in registers
        while true {
            // Eight plain bytes at a time: no quote, backslash, control or non-ASCII byte.
            let ones: UInt64 = 0x0101_0101_0101_0101
            let high: UInt64 = 0x8080_8080_8080_8080
            while j &+ 8 <= n {
                let w = UnsafeRawPointer(p + j).loadUnaligned(as: UInt64.self)
                let q = w ^ (ones &* 0x22)
                let b = w ^ (ones &* 0x5C)
                let special = (((q &- ones) & ~q) | ((b &- ones) & ~b) | (w &- ones &* 0x20) | w) & high
                if special != 0 {
                    // The lowest flagged byte is always a real one (borrows only run upwards).
                    #if _endian(little)
                    j &+= special.trailingZeroBitCount &>> 3
                    #endif
                    break
                }
                j &+= 8
            }
            guard j < n else { i = j; throw syntax("unterminated string") }
            let c = p[j]
            if c == UInt8(ascii: "\"") {
                i = j &+ 1
                return (start, j, escaped)
            } else if c == UInt8(ascii: "\\") {
                escaped = true
                i = j
                try scanEscape()
                j = i
            } else if c < 0x20 {
                i = j
                throw syntax("control character in a string")
            } else if c >= 0x80 {
                i = j
                try scanUTF8(c)
                j = i
            } else {
                j &+= 1
            }
        }
    }

    @inline(__always)
    func hex4(_ j: Int) -> UInt32? { Self.hex4(p, n, j) }

    @inline(__always)
    static func hex4(_ p: UnsafePointer<UInt8>, _ n: Int, _ j: Int) -> UInt32? {
        guard j + 4 <= n else { return nil }
        var v: UInt32 = 0
        for k in j..<(j + 4) {
            guard let h = hexValue(p[k]) else { return nil }
            v = v << 4 | UInt32(h)
        }
        return v
    }

    mutating func scanEscape() throws(RuleViolation) {
        i += 1
        guard i < n else { throw syntax("unterminated string") }
        switch p[i] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
             UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            i += 1
        case UInt8(ascii: "u"):
            guard let u = hex4(i + 1) else { throw syntax("invalid \\u escape") }
            i += 5
            if u >= 0xD800, u < 0xDC00 {
                guard i + 1 < n, p[i] == UInt8(ascii: "\\"), p[i + 1] == UInt8(ascii: "u"),
                      let low = hex4(i + 2), low >= 0xDC00, low < 0xE000
                else { throw syntax("unpaired surrogate in \\u escape") }
                i += 6
            } else if u >= 0xDC00, u < 0xE000 {
                throw syntax("unpaired surrogate in \\u escape")
            }
        default:
            throw syntax("invalid escape")
        }
    }

    mutating func scanUTF8(_ c: UInt8) throws(RuleViolation) {
        @inline(__always) func cont(_ j: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> Bool {
            j < n && p[j] >= lo && p[j] <= hi
        }
        switch c {
        case 0xC2...0xDF:
            guard cont(i + 1) else { break }
            i += 2
            return
        case 0xE0...0xEF:
            let lo: UInt8 = c == 0xE0 ? 0xA0 : 0x80
            let hi: UInt8 = c == 0xED ? 0x9F : 0xBF
            guard cont(i + 1, lo, hi), cont(i + 2) else { break }
            i += 3
            return
        case 0xF0...0xF4:
            let lo: UInt8 = c == 0xF0 ? 0x90 : 0x80
            let hi: UInt8 = c == 0xF4 ? 0x8F : 0xBF
            guard cont(i + 1, lo, hi), cont(i + 2), cont(i + 3) else { break }
            i += 4
            return
        default:
            break
        }
        throw syntax("invalid UTF-8")
    }

    // MARK: Strings

    /// The unescaped bytes of a scanned string.
    func decodeBytes(_ start: Int, _ end: Int) -> [UInt8] {
        let (p, n) = (p, n)
        return [UInt8](unsafeUninitializedCapacity: end - start) { buf, count in
            count = Self.unescape(p, n, start, end, into: buf.baseAddress!)
        }
    }

    func decodeString(_ start: Int, _ end: Int, _ escaped: Bool) -> String {
        if !escaped {
            return String(decoding: UnsafeBufferPointer(start: p + start, count: end - start), as: UTF8.self)
        }
        let (p, n) = (p, n)
        return String(unsafeUninitializedCapacity: end - start) { buf in
            Self.unescape(p, n, start, end, into: buf.baseAddress!)
        }
    }

    @inline(__always)
    func string(_ s: Slot) -> String { decodeString(Int(s.start), Int(s.end), s.escaped) }

    /// Writes the unescaped content of a scanned (valid) string; returns the byte count.
    static func unescape(
        _ p: UnsafePointer<UInt8>, _ n: Int, _ start: Int, _ end: Int, into out: UnsafeMutablePointer<UInt8>
    ) -> Int {
        var o = 0
        var j = start
        @inline(__always) func put(_ b: UInt8) { out[o] = b; o += 1 }
        while j < end {
            let c = p[j]
            guard c == UInt8(ascii: "\\") else { put(c); j += 1; continue }
            let e = p[j + 1]
            j += 2
            switch e {
            case UInt8(ascii: "b"): put(0x08)
            case UInt8(ascii: "f"): put(0x0C)
            case UInt8(ascii: "n"): put(0x0A)
            case UInt8(ascii: "r"): put(0x0D)
            case UInt8(ascii: "t"): put(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(p, n, j)!
                j += 4
                if scalar >= 0xD800, scalar < 0xDC00 {
                    let low = hex4(p, n, j + 2)!
                    j += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                switch scalar {
                case ..<0x80:
                    put(UInt8(scalar))
                case ..<0x800:
                    put(UInt8(0xC0 | scalar >> 6)); put(UInt8(0x80 | scalar & 0x3F))
                case ..<0x10000:
                    put(UInt8(0xE0 | scalar >> 12)); put(UInt8(0x80 | scalar >> 6 & 0x3F))
                    put(UInt8(0x80 | scalar & 0x3F))
                default:
                    put(UInt8(0xF0 | scalar >> 18)); put(UInt8(0x80 | scalar >> 12 & 0x3F))
                    put(UInt8(0x80 | scalar >> 6 & 0x3F)); put(UInt8(0x80 | scalar & 0x3F))
                }
            default: put(e)  // '"', '\\', '/'
            }
        }
        return o
    }
}

// MARK: - Fields

extension LineParser {
    @inline(__always)
    func slot(_ k: Key) -> Slot? {
        seen & k.bit != 0 ? slots[Int(k.rawValue)] : nil
    }

    @inline(__always)
    func customerSlot(_ index: Int) -> Slot? {
        customerSeen & (UInt8(1) << UInt8(index - customerID)) != 0 ? slots[index] : nil
    }

    /// A present value, or nil when the field is absent; `null` is refused.
    @inline(__always)
    func optional(_ s: Slot?, _ field: @autoclosure () -> String) throws(RuleViolation) -> Slot? {
        guard let s else { return nil }
        if s.kind == .null { throw nullValue(field()) }
        return s
    }

    func required(_ s: Slot?, _ field: @autoclosure () -> String) throws(RuleViolation) -> Slot {
        guard let s else { throw fail(field(), "missing required field") }
        if s.kind == .null { throw nullValue(field()) }
        return s
    }

    func nullValue(_ field: String) -> RuleViolation {
        fail(field, "null is not a value: leave an optional field out, and give a required one its value")
    }

    func text(_ s: Slot, _ field: @autoclosure () -> String) throws(RuleViolation) -> String {
        guard s.kind == .string else { throw fail(field(), "expected a string, found \(s.kind.name)") }
        return string(s)
    }

    /// An identifier: 1 to 200 bytes of NFC UTF-8 with no control character.
    func ident(_ s: Slot, _ field: @autoclosure () -> String) throws(RuleViolation) -> String {
        guard s.kind == .string else { throw fail(field(), "expected a string, found \(s.kind.name)") }
        if s.escaped {
            var value = string(s)
            if let problem = value.withUTF8({ Identifier.problem(ofUTF8: $0) }) {
                throw notIdentifier(field(), problem, value)
            }
            return value
        }
        if let problem = Identifier.problem(ofUTF8: UnsafeBufferPointer(start: p + Int(s.start), count: s.count)) {
            throw notIdentifier(field(), problem, string(s))
        }
        return string(s)
    }

    func notIdentifier(_ field: String, _ problem: Identifier.Problem, _ value: String) -> RuleViolation {
        fail(field, problem == .empty ? problem.explanation : "\(problem.explanation): \(Display.quoted(value))")
    }

    func text(_ k: Key) throws(RuleViolation) -> String { try text(required(slot(k), k.name), k.name) }
    func ident(_ k: Key) throws(RuleViolation) -> String { try ident(required(slot(k), k.name), k.name) }

    func optionalText(_ k: Key) throws(RuleViolation) -> String? {
        guard let s = try optional(slot(k), k.name) else { return nil }
        return try text(s, k.name)
    }

    func optionalIdent(_ k: Key) throws(RuleViolation) -> String? {
        guard let s = try optional(slot(k), k.name) else { return nil }
        return try ident(s, k.name)
    }

    func bool(_ s: Slot, _ k: Key) throws(RuleViolation) -> Bool {
        switch s.kind {
        case .trueValue: return true
        case .falseValue: return false
        default: throw fail(k.name, "expected a boolean, found \(s.kind.name)")
        }
    }

    func bool(_ k: Key) throws(RuleViolation) -> Bool { try bool(required(slot(k), k.name), k) }

    func optionalBool(_ k: Key) throws(RuleViolation) -> Bool? {
        guard let s = try optional(slot(k), k.name) else { return nil }
        return try bool(s, k)
    }

    func enumeration<E: WireEnum>(_ s: Slot, _ k: Key, as: E.Type = E.self) throws(RuleViolation) -> E {
        guard s.kind == .string else { throw fail(k.name, "expected a string, found \(s.kind.name)") }
        guard let match = E.wire.match(packedName(Int(s.start), Int(s.end), s.escaped)) else {
            throw fail(k.name, "\(Display.quoted(string(s))) is not one of: \(E.wire.list)")
        }
        return match.value
    }

    func enumeration<E: WireEnum>(_ k: Key, as: E.Type = E.self) throws(RuleViolation) -> E {
        try enumeration(required(slot(k), k.name), k)
    }

    func optionalEnumeration<E: WireEnum>(_ k: Key, as: E.Type = E.self) throws(RuleViolation) -> E? {
        guard let s = try optional(slot(k), k.name) else { return nil }
        return try enumeration(s, k) as E
    }

    func time(_ k: Key) throws(RuleViolation) -> Timestamp {
        let s = try required(slot(k), k.name)
        guard s.kind == .string else { throw fail(k.name, "expected an RFC 3339 time string, found \(s.kind.name)") }
        let t: Timestamp?
        if s.escaped {
            t = decodeBytes(Int(s.start), Int(s.end)).withUnsafeBytes { Timestamp.parse($0) }
        } else {
            t = Timestamp.parse(UnsafeRawBufferPointer(start: p + Int(s.start), count: s.count))
        }
        guard let t else {
            throw fail(k.name, "\(Display.quoted(string(s))) is not an RFC 3339 time (YYYY-MM-DDTHH:MM:SS[.ffffff](Z|±HH:MM))")
        }
        return t
    }

    func unsigned(_ s: Slot, _ k: Key) throws(RuleViolation) -> UInt64 {
        guard s.kind == .number else { throw fail(k.name, "expected an integer, found \(s.kind.name)") }
        var v: UInt64 = 0
        for j in Int(s.start)..<Int(s.end) {
            let d = p[j] &- 48
            guard d < 10 else { throw fail(k.name, "expected a non-negative integer") }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(d))
            guard !o1, !o2 else { throw fail(k.name, "integer out of range") }
            v = a
        }
        return v
    }

    func unsigned(_ k: Key) throws(RuleViolation) -> UInt64 { try unsigned(required(slot(k), k.name), k) }

    func optionalUnsigned(_ k: Key) throws(RuleViolation) -> UInt64? {
        guard let s = try optional(slot(k), k.name) else { return nil }
        return try unsigned(s, k)
    }

    func optionalDecimal(_ k: Key) throws(RuleViolation) -> ExactDecimal? {
        guard let s = try optional(slot(k), k.name) else { return nil }
        guard s.kind == .number else { throw fail(k.name, "expected a number, found \(s.kind.name)") }
        switch ExactDecimal.parseDetailed(UnsafeRawBufferPointer(start: p + Int(s.start), count: s.count)) {
        case .success(let v): return v
        case .failure(.negative): throw fail(k.name, "must not be negative")
        case .failure(.tooPrecise): throw fail(k.name, "more than 4 fraction digits")
        case .failure(.outOfRange): throw fail(k.name, "must be less than 1000000000")
        case .failure(.syntax): throw fail(k.name, "invalid number")
        }
    }

    /// An array of strings (the ledger's own `personalDataRevealed`).
    func stringArray(_ k: Key) throws(RuleViolation) -> [String] {
        let s = try required(slot(k), k.name)
        guard s.kind == .array else { throw fail(k.name, "expected an array of strings, found \(s.kind.name)") }
        var inner = self
        inner.i = Int(s.start) + 1
        var out: [String] = []
        inner.skipWhitespace()
        if inner.i < n, p[inner.i] == UInt8(ascii: "]") { return out }
        while true {
            guard inner.i < n, p[inner.i] == UInt8(ascii: "\"") else { throw fail(k.name, "expected an array of strings") }
            inner.i += 1
            let (a, b, esc) = try inner.scanString()
            out.append(decodeString(a, b, esc))
            inner.skipWhitespace()
            guard inner.i < n else { throw fail(k.name, "expected an array of strings") }
            if p[inner.i] == UInt8(ascii: "]") { return out }
            guard p[inner.i] == UInt8(ascii: ",") else { throw fail(k.name, "expected an array of strings") }
            inner.i += 1
            inner.skipWhitespace()
        }
    }

    func hexText(_ k: Key) throws(RuleViolation) -> String {
        let value = try text(k)
        let utf8 = value.utf8
        guard !utf8.isEmpty, utf8.count <= 128, utf8.count % 2 == 0,
              utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) })
        else { throw fail(k.name, "expected lowercase hex (an even number of 0-9a-f, at most 128)") }
        return value
    }

    func customer() throws(RuleViolation) -> Customer {
        let s = try required(slot(.customer), "customer")
        guard s.kind == .object else { throw fail("customer", "expected an object, found \(s.kind.name)") }
        let id = try ident(required(customerSlot(customerID), "customer.id"), "customer.id")
        var c = Customer(id: id)
        if let s = try optional(customerSlot(customerName), "customer.name") { c.name = try text(s, "customer.name") }
        if let s = try optional(customerSlot(customerPhone), "customer.phone") { c.phone = try text(s, "customer.phone") }
        return c
    }

    // MARK: The event

    func event() throws(RuleViolation) -> Event {
        if let duplicate { throw fail(duplicate, "duplicate key") }

        let typeSlot = try required(slot(.type), "type")
        guard typeSlot.kind == .string else { throw fail("type", "expected a string, found \(typeSlot.kind.name)") }
        let match = EventType.wire.match(packedName(Int(typeSlot.start), Int(typeSlot.end), typeSlot.escaped))
        guard let match else { throw fail("type", "unknown event type \(Display.quoted(string(typeSlot)))") }
        let (type, typeIndex) = match
        if let unknown { throw fail(unknown, "unknown field") }
        let extra = seen & ~EventType.allowedMasks[typeIndex]
        if extra != 0 {
            let key = Key(rawValue: UInt8(extra.trailingZeroBitCount))!
            throw fail(key.name, "not a field of \(type.rawValue)")
        }
        if !allowSealed, seen & Key.sealed.bit != 0 { throw fail("sealed", "unknown field (the ledger's stored form only)") }

        let idSlot = try required(slot(.id), "id")
        guard idSlot.kind == .string else { throw fail("id", "expected a UUID string, found \(idSlot.kind.name)") }
        guard let id = idSlot.escaped
            ? EventID(string(idSlot))
            : EventID.parse(UnsafeRawBufferPointer(start: p + Int(idSlot.start), count: idSlot.count))
        else { throw fail("id", "not a UUID (8-4-4-4-12 hex digits)") }

        let at = try time(.at)
        let actor = try ident(.actor)
        let channel = try ident(.channel)
        let ticket = try type.category.hasTicket ? ident(.ticket) : nil
        let expectedVersion = try optionalUnsigned(.expectedVersion)
        let body = try body(type)
        let sealed: String?
        if keepSealed {
            sealed = try optionalText(.sealed)
        } else {
            if let s = try optional(slot(.sealed), "sealed"), s.kind != .string {
                throw fail("sealed", "expected a string, found \(s.kind.name)")
            }
            sealed = nil
        }
        return Event(id: id, at: at, actor: actor, channel: channel, ticket: ticket,
                     expectedVersion: expectedVersion, body: body, sealed: sealed)
    }

    func body(_ type: EventType) throws(RuleViolation) -> Event.Body {
        switch type {
        case .staffEnrolled:
            return .staffEnrolled(.init(
                staff: try ident(.staff), name: try text(.name), role: try enumeration(.role),
                reportsTo: try optionalIdent(.reportsTo), extension: try optionalText(.extension),
                hourlyCost: try optionalDecimal(.hourlyCost)))
        case .staffReassigned:
            return .staffReassigned(.init(
                staff: try ident(.staff), reportsTo: try ident(.reportsTo), role: try optionalEnumeration(.role)))
        case .callOpened:
            return .callOpened(.init(
                agent: try ident(.agent), customer: try customer(), issue: try text(.issue),
                repeatOf: try optionalIdent(.repeatOf)))
        case .escalationRequested:
            return .escalationRequested(.init(
                requestedBy: try enumeration(.requestedBy), scenario: try enumeration(.scenario),
                reason: try enumeration(.reason), level: try enumeration(.level), goal: try text(.goal)))
        case .deEscalationAttempted:
            return .deEscalationAttempted(.init(
                agent: try ident(.agent), technique: try enumeration(.technique), outcome: try enumeration(.outcome)))
        case .supervisorAvailability:
            return .supervisorAvailability(.init(supervisor: try ident(.supervisor), available: try bool(.available)))
        case .alternativeOffered:
            let agent = try ident(.agent)
            let kind: AlternativeKind = try enumeration(.kind)
            let party = try optionalIdent(.party)
            if kind == .otherParty, party == nil { throw fail("party", "required when kind is otherParty") }
            return .alternativeOffered(.init(agent: agent, kind: kind, party: party, accepted: try bool(.accepted)))
        case .requestDeclined:
            return .requestDeclined(.init(by: try ident(.by), reason: try text(.reason)))
        case .transferred:
            return .transferred(.init(
                from: try ident(.from), to: try ident(.to), mode: try enumeration(.mode),
                announcedName: try optionalText(.announcedName),
                announcedExtension: try optionalText(.announcedExtension)))
        case .callbackScheduled:
            return .callbackScheduled(.init(owner: try ident(.owner), dueBy: try time(.dueBy)))
        case .callbackCompleted:
            return .callbackCompleted(.init(by: try ident(.by), reached: try bool(.reached)))
        case .noteLogged:
            return .noteLogged(.init(author: try ident(.author), text: try text(.text)))
        case .ticketResolved:
            return .ticketResolved(.init(
                by: try ident(.by), resolution: try enumeration(.resolution), satisfied: try optionalBool(.satisfied)))
        case .ticketReopened:
            return .ticketReopened(.init(by: try ident(.by), reason: try text(.reason)))
        case .debriefHeld:
            return .debriefHeld(.init(agent: try ident(.agent), coach: try ident(.coach), lessons: try text(.lessons)))
        case .feedbackGiven:
            return .feedbackGiven(.init(agent: try ident(.agent), by: try ident(.by), text: try text(.text)))
        case .sanctionIssued:
            return .sanctionIssued(.init(
                agent: try ident(.agent), by: try ident(.by), severity: try enumeration(.severity),
                reason: try text(.reason)))
        case .legalHoldPlaced:
            return .legalHoldPlaced(.init(customer: try ident(.customer), matter: try ident(.matter)))
        case .legalHoldReleased:
            return .legalHoldReleased(.init(customer: try ident(.customer), matter: try ident(.matter)))
        case .personalDataErased:
            return .personalDataErased(.init(customer: try ident(.customer), reason: try optionalText(.reason)))
        case .exportMade:
            return .exportMade(.init(
                from: try unsigned(.from), to: try unsigned(.to), count: try unsigned(.count), root: try hexText(.root),
                operator: try ident(.operator), purpose: try text(.purpose), filter: try text(.filter),
                pseudonymized: try bool(.pseudonymized)))
        case .personalDataRevealed:
            return .personalDataRevealed(.init(
                operator: try ident(.operator), purpose: try text(.purpose), customers: try stringArray(.customers),
                query: try text(.query)))
        }
    }
}
