/// Writes an event as its canonical interchange line: the bytes Python gives
/// for `json.dumps(obj, sort_keys=True, separators=(",", ":"),
/// ensure_ascii=False).encode("utf-8")`.
///
/// Keys sorted by code point, no whitespace, absent optionals omitted, strings
/// escaped as Python does (`\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, other
/// controls as `\u00xx`, everything else raw UTF-8), times canonical, the id
/// lowercase, `hourlyCost` as an integer when whole. No trailing newline.
///
///     var line: [UInt8] = []
///     EventEncoder.encode(event, into: &line)
public enum EventEncoder {
    /// The canonical bytes of `event`.
    public static func encode(_ event: Event) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(384)
        encode(event, into: &out)
        return out
    }

    /// Appends the canonical bytes of `event` to `buffer` (nothing is cleared).
    public static func encode(_ event: Event, into buffer: inout [UInt8]) {
        ByteSink.write(appendingTo: &buffer) { sink in
            var w = CanonicalWriter(sink: sink)
            write(event, &w)
            sink = w.sink
        }
    }

    private static func write(_ e: Event, _ w: inout CanonicalWriter) {
        w.openObject()
        // Envelope keys are interleaved with the body's in code-point order.
        // Each case lists its keys in that order; ObjectWriter asserts it in debug builds.
        switch e.body {
        case .staffEnrolled(let b):
            envelopeHead(e, &w)
            if let v = e.expectedVersion { w.unsigned("expectedVersion", v) }
            if let v = b.extension { w.string("extension", v) }
            if let v = b.hourlyCost { w.decimal("hourlyCost", v) }
            w.id(e.id)
            w.string("name", b.name)
            if let v = b.reportsTo { w.string("reportsTo", v) }
            w.string("role", b.role.rawValue)
            w.string("staff", b.staff)
            w.type(e)
        case .staffReassigned(let b):
            envelopeHead(e, &w)
            expectedVersionAndID(e, &w)
            w.string("reportsTo", b.reportsTo)
            if let v = b.role { w.string("role", v.rawValue) }
            w.string("staff", b.staff)
            w.type(e)
        case .callOpened(let b):
            w.string("actor", e.actor)
            w.string("agent", b.agent)
            w.time("at", e.at)
            w.string("channel", e.channel)
            w.key("customer")
            w.openObject()
            w.string("id", b.customer.id)
            if let v = b.customer.name { w.string("name", v) }
            if let v = b.customer.phone { w.string("phone", v) }
            w.closeObject()
            expectedVersionAndID(e, &w)
            w.string("issue", b.issue)
            if let v = b.repeatOf { w.string("repeatOf", v) }
            sealed(e, &w)
            ticketAndType(e, &w)
        case .escalationRequested(let b):
            envelopeHead(e, &w)
            if let v = e.expectedVersion { w.unsigned("expectedVersion", v) }
            w.string("goal", b.goal)
            w.id(e.id)
            w.string("level", b.level.rawValue)
            w.string("reason", b.reason.rawValue)
            w.string("requestedBy", b.requestedBy.rawValue)
            w.string("scenario", b.scenario.rawValue)
            sealed(e, &w)
            ticketAndType(e, &w)
        case .deEscalationAttempted(let b):
            w.string("actor", e.actor)
            w.string("agent", b.agent)
            w.time("at", e.at)
            w.string("channel", e.channel)
            expectedVersionAndID(e, &w)
            w.string("outcome", b.outcome.rawValue)
            w.string("technique", b.technique.rawValue)
            ticketAndType(e, &w)
        case .supervisorAvailability(let b):
            w.string("actor", e.actor)
            w.time("at", e.at)
            w.bool("available", b.available)
            w.string("channel", e.channel)
            expectedVersionAndID(e, &w)
            w.string("supervisor", b.supervisor)
            ticketAndType(e, &w)
        case .alternativeOffered(let b):
            w.bool("accepted", b.accepted)
            w.string("actor", e.actor)
            w.string("agent", b.agent)
            w.time("at", e.at)
            w.string("channel", e.channel)
            expectedVersionAndID(e, &w)
            w.string("kind", b.kind.rawValue)
            if let v = b.party { w.string("party", v) }
            ticketAndType(e, &w)
        case .requestDeclined(let b):
            w.string("actor", e.actor)
            w.time("at", e.at)
            w.string("by", b.by)
            w.string("channel", e.channel)
            expectedVersionAndID(e, &w)
            w.string("reason", b.reason)
            sealed(e, &w)
            ticketAndType(e, &w)
        case .transferred(let b):
            w.string("actor", e.actor)
            if let v = b.announcedExtension { w.string("announcedExtension", v) }
            if let v = b.announcedName { w.string("announcedName", v) }
            w.time("at", e.at)
            w.string("channel", e.channel)
            if let v = e.expectedVersion { w.unsigned("expectedVersion", v) }
            w.string("from", b.from)
            w.id(e.id)
            w.string("mode", b.mode.rawValue)
            w.string("ticket", e.ticket ?? "")
            w.string("to", b.to)
            w.type(e)
        case .callbackScheduled(let b):
            envelopeHead(e, &w)
            w.time("dueBy", b.dueBy)
            expectedVersionAndID(e, &w)
            w.string("owner", b.owner)
            ticketAndType(e, &w)
        case .callbackCompleted(let b):
            w.string("actor", e.actor)
            w.time("at", e.at)
            w.string("by", b.by)
            w.string("channel", e.channel)
            expectedVersionAndID(e, &w)
            w.bool("reached", b.reached)
            ticketAndType(e, &w)
        case .noteLogged(let b):
            w.string("actor", e.actor)
            w.time("at", e.at)
            w.string("author", b.author)
            w.string("channel", e.channel)
            expectedVersionAndID(e, &w)
            sealed(e, &w)
            w.string("text", b.text)
            ticketAndType(e, &w)
        case .ticketResolved(let b):
            w.string("actor", e.actor)
            w.time("at", e.at)
            w.string("by", b.by)
            w.string("channel", e.channel)
            expectedVersionAndID(e, &w)
            w.string("resolution", b.resolution.rawValue)
            if let v = b.satisfied { w.bool("satisfied", v) }
            ticketAndType(e, &w)
        case .ticketReopened(let b):
            w.string("actor", e.actor)
            w.time("at", e.at)
            w.string("by", b.by)
            w.string("channel", e.channel)
            expectedVersionAndID(e, &w)
            w.string("reason", b.reason)
            sealed(e, &w)
            ticketAndType(e, &w)
        case .debriefHeld(let b):
            w.string("actor", e.actor)
            w.string("agent", b.agent)
            w.time("at", e.at)
            w.string("channel", e.channel)
            w.string("coach", b.coach)
            expectedVersionAndID(e, &w)
            w.string("lessons", b.lessons)
            sealed(e, &w)
            ticketAndType(e, &w)
        case .feedbackGiven(let b):
            w.string("actor", e.actor)
            w.string("agent", b.agent)
            w.time("at", e.at)
            w.string("by", b.by)
            w.string("channel", e.channel)
            expectedVersionAndID(e, &w)
            sealed(e, &w)
            w.string("text", b.text)
            ticketAndType(e, &w)
        case .sanctionIssued(let b):
            w.string("actor", e.actor)
            w.string("agent", b.agent)
            w.time("at", e.at)
            w.string("by", b.by)
            w.string("channel", e.channel)
            expectedVersionAndID(e, &w)
            w.string("reason", b.reason)
            sealed(e, &w)
            w.string("severity", b.severity.rawValue)
            ticketAndType(e, &w)
        case .legalHoldPlaced(let b), .legalHoldReleased(let b):
            envelopeHead(e, &w)
            w.string("customer", b.customer)
            expectedVersionAndID(e, &w)
            w.string("matter", b.matter)
            w.type(e)
        case .personalDataErased(let b):
            envelopeHead(e, &w)
            w.string("customer", b.customer)
            expectedVersionAndID(e, &w)
            if let r = b.reason { w.string("reason", r) }
            w.type(e)
        case .exportMade(let b):
            envelopeHead(e, &w)
            w.unsigned("count", b.count)
            if let v = e.expectedVersion { w.unsigned("expectedVersion", v) }
            w.string("filter", b.filter)
            w.unsigned("from", b.from)
            w.id(e.id)
            w.string("operator", b.operator)
            w.bool("pseudonymized", b.pseudonymized)
            w.string("purpose", b.purpose)
            w.string("root", b.root)
            w.unsigned("to", b.to)
            w.type(e)
        case .personalDataRevealed(let b):
            envelopeHead(e, &w)
            w.key("customers")
            w.sink.reserve(1)
            w.sink.put(UInt8(ascii: "["))
            for (i, c) in b.customers.enumerated() {
                if i > 0 { w.sink.reserve(1); w.sink.put(UInt8(ascii: ",")) }
                w.sink.putJSONString(c)
            }
            w.sink.reserve(1)
            w.sink.put(UInt8(ascii: "]"))
            expectedVersionAndID(e, &w)
            w.string("operator", b.operator)
            w.string("purpose", b.purpose)
            w.string("query", b.query)
            w.type(e)
        }
        w.closeObject()
    }

    /// `actor`, `at`, `channel`.
    @inline(__always)
    private static func envelopeHead(_ e: Event, _ w: inout CanonicalWriter) {
        w.string("actor", e.actor)
        w.time("at", e.at)
        w.string("channel", e.channel)
    }

    /// `expectedVersion` (when present), `id`.
    @inline(__always)
    private static func expectedVersionAndID(_ e: Event, _ w: inout CanonicalWriter) {
        if let v = e.expectedVersion { w.unsigned("expectedVersion", v) }
        w.id(e.id)
    }

    /// `sealed`, in the stored form of an event with personal data.
    @inline(__always)
    private static func sealed(_ e: Event, _ w: inout CanonicalWriter) {
        if let v = e.sealed { w.string("sealed", v) }
    }

    /// `ticket`, `type`.
    @inline(__always)
    private static func ticketAndType(_ e: Event, _ w: inout CanonicalWriter) {
        w.string("ticket", e.ticket ?? "")
        w.type(e)
    }
}

/// Writes canonical JSON members into a `ByteSink`; checks the key order in debug builds.
struct CanonicalWriter {
    var sink: ByteSink
    private var first = true
    #if DEBUG
    private var last: [UInt8] = []
    private var outerLast: [UInt8] = []
    #endif

    init(sink: ByteSink) {
        self.sink = sink
    }

    @inline(__always)
    mutating func openObject() {
        sink.reserve(1)
        sink.put(UInt8(ascii: "{"))
        first = true
        #if DEBUG
        outerLast = last
        last = []
        #endif
    }

    @inline(__always)
    mutating func closeObject() {
        sink.reserve(1)
        sink.put(UInt8(ascii: "}"))
        first = false
        #if DEBUG
        last = outerLast
        #endif
    }

    @inline(__always)
    mutating func key(_ k: StaticString) {
        #if DEBUG
        let bytes = UnsafeBufferPointer(start: k.utf8Start, count: k.utf8CodeUnitCount)
        assert(first || last.lexicographicallyPrecedes(bytes), "canonical key order broken at \(k)")
        last = Array(bytes)
        #endif
        sink.reserve(k.utf8CodeUnitCount &+ 4)
        if !first { sink.put(UInt8(ascii: ",")) }
        first = false
        sink.put(UInt8(ascii: "\""))
        sink.put(k)
        sink.put(UInt8(ascii: "\""))
        sink.put(UInt8(ascii: ":"))
    }

    @inline(__always)
    mutating func string(_ k: StaticString, _ value: String) {
        key(k)
        sink.putJSONString(value)
    }

    @inline(__always)
    mutating func bool(_ k: StaticString, _ value: Bool) {
        key(k)
        sink.reserve(5)
        sink.put(value ? "true" : "false")
    }

    @inline(__always)
    mutating func unsigned(_ k: StaticString, _ value: UInt64) {
        key(k)
        sink.putDecimal(value)
    }

    @inline(__always)
    mutating func decimal(_ k: StaticString, _ value: ExactDecimal) {
        key(k)
        value.write(to: &sink)
    }

    @inline(__always)
    mutating func time(_ k: StaticString, _ value: Timestamp) {
        key(k)
        sink.reserve(2)
        sink.put(UInt8(ascii: "\""))
        value.write(to: &sink)
        sink.reserve(1)
        sink.put(UInt8(ascii: "\""))
    }

    @inline(__always)
    mutating func id(_ value: EventID) {
        key("id")
        sink.reserve(38)
        sink.put(UInt8(ascii: "\""))
        value.write(to: &sink)
        sink.put(UInt8(ascii: "\""))
    }

    @inline(__always)
    mutating func type(_ e: Event) {
        key("type")
        sink.putJSONString(e.type.rawValue)
    }
}
