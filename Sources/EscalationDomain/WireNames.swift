// Byte-level names used by the interchange codec: the catalogue's keys and
// the enumerations' spellings, matched as packed words without building Strings.

/// Up to 24 bytes of a name packed little-endian into three words, with its
/// length. Longer names keep their length and zero words: nothing matches them.
struct PackedName: Hashable, Sendable {
    var count: Int
    var w0: UInt64 = 0
    var w1: UInt64 = 0
    var w2: UInt64 = 0

    static let maxCount = 24

    /// Packs `count` bytes at `p`; `readable` is how many bytes from `p` may be read.
    @inline(__always)
    init(_ p: UnsafePointer<UInt8>, count: Int, readable: Int) {
        self.count = count
        guard count <= Self.maxCount else { return }
        #if _endian(little)
        if readable >= 24 {
            @inline(__always) func mask(_ n: Int) -> UInt64 {
                n >= 8 ? ~0 : n <= 0 ? 0 : (1 &<< UInt64(n &* 8)) &- 1
            }
            let raw = UnsafeRawPointer(p)
            w0 = raw.loadUnaligned(as: UInt64.self) & mask(count)
            if count > 8 { w1 = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self) & mask(count - 8) }
            if count > 16 { w2 = raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self) & mask(count - 16) }
            return
        }
        #endif
        for j in 0..<count {
            let v = UInt64(p[j]) &<< UInt64((j & 7) &* 8)
            switch j >> 3 {
            case 0: w0 |= v
            case 1: w1 |= v
            default: w2 |= v
            }
        }
    }

    /// Packs the UTF-8 bytes of `s`.
    init(_ s: String) {
        var s = s
        self = s.withUTF8 { PackedName($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, count: $0.count, readable: $0.count) }
    }
}

/// Every top-level key of the catalogue, declared in code-point order (the
/// canonical order), so a key's raw value is also its rank.
enum Key: UInt8, CaseIterable, Sendable {
    case accepted, actor, agent, announcedExtension, announcedName, at, author, available, by, channel
    case coach, count, customer, customers, dueBy, expectedVersion, `extension`, filter, from, goal, hourlyCost, id
    case issue, kind, lessons, level, matter, mode, name, `operator`, outcome, owner, party, pseudonymized, purpose, query
    case reached, reason, repeatOf, reportsTo, requestedBy, resolution, role, root, satisfied, scenario
    case sealed, severity, staff, supervisor, technique, text, ticket, to, type

    @inline(__always) var bit: UInt64 { 1 &<< UInt64(rawValue) }

    /// The key as written.
    var name: String { Key.names[Int(rawValue)] }

    private static let names: [String] = Key.allCases.map { String(describing: $0) }

    /// The key spelled by the packed words of a `count`-byte name (see `PackedName`).
    /// Generated from the key list; `EnumerationTests.keyTable` checks it.
    @inline(__always)
    static func lookup(_ name: PackedName) -> Key? {
        switch name.count {
        case 2:
            switch name.w0 {
            case 0x7461: return .at
            case 0x7962: return .by
            case 0x6469: return .id
            case 0x6f74: return .to
            default: return nil
            }
        case 4:
            switch name.w0 {
            case 0x6d6f7266: return .from
            case 0x6c616f67: return .goal
            case 0x646e696b: return .kind
            case 0x65646f6d: return .mode
            case 0x656d616e: return .name
            case 0x656c6f72: return .role
            case 0x746f6f72: return .root
            case 0x74786574: return .text
            case 0x65707974: return .`type`
            default: return nil
            }
        case 5:
            switch name.w0 {
            case 0x726f746361: return .actor
            case 0x746e656761: return .agent
            case 0x6863616f63: return .coach
            case 0x746e756f63: return .count
            case 0x7942657564: return .dueBy
            case 0x6575737369: return .issue
            case 0x6c6576656c: return .level
            case 0x7972657571: return .query
            case 0x72656e776f: return .owner
            case 0x7974726170: return .party
            case 0x6666617473: return .staff
            default: return nil
            }
        case 6:
            switch name.w0 {
            case 0x726f68747561: return .author
            case 0x72657474616d: return .matter
            case 0x6e6f73616572: return .reason
            case 0x7265746c6966: return .filter
            case 0x64656c616573: return .sealed
            case 0x74656b636974: return .ticket
            default: return nil
            }
        case 7:
            switch name.w0 {
            case 0x6c656e6e616863: return .channel
            case 0x65736f70727570: return .purpose
            case 0x736e6f7373656c: return .lessons
            case 0x656d6f6374756f: return .outcome
            case 0x64656863616572: return .reached
            default: return nil
            }
        case 8:
            switch name.w0 {
            case 0x6465747065636361: return .accepted
            case 0x72656d6f74737563: return .customer
            case 0x726f74617265706f: return .`operator`
            case 0x664f746165706572: return .repeatOf
            case 0x6f6972616e656373: return .scenario
            case 0x7974697265766573: return .severity
            default: return nil
            }
        case 9:
            if name.w0 == 0x6c62616c69617661 && name.w1 == 0x65 { return .available }
            if name.w0 == 0x72656d6f74737563 && name.w1 == 0x73 { return .customers }
            if name.w0 == 0x6f69736e65747865 && name.w1 == 0x6e { return .`extension` }
            if name.w0 == 0x547374726f706572 && name.w1 == 0x6f { return .reportsTo }
            if name.w0 == 0x6569667369746173 && name.w1 == 0x64 { return .satisfied }
            if name.w0 == 0x7571696e68636574 && name.w1 == 0x65 { return .technique }
            return nil
        case 10:
            if name.w0 == 0x6f43796c72756f68 && name.w1 == 0x7473 { return .hourlyCost }
            if name.w0 == 0x6974756c6f736572 && name.w1 == 0x6e6f { return .resolution }
            if name.w0 == 0x7369767265707573 && name.w1 == 0x726f { return .supervisor }
            return nil
        case 11:
            if name.w0 == 0x6574736575716572 && name.w1 == 0x794264 { return .requestedBy }
            return nil
        case 13:
            if name.w0 == 0x65636e756f6e6e61 && name.w1 == 0x656d614e64 { return .announcedName }
            if name.w0 == 0x796e6f6475657370 && name.w1 == 0x64657a696d { return .pseudonymized }
            return nil
        case 15:
            if name.w0 == 0x6465746365707865 && name.w1 == 0x6e6f6973726556 { return .expectedVersion }
            return nil
        case 18:
            if name.w0 == 0x65636e756f6e6e61 && name.w1 == 0x69736e6574784564 && name.w2 == 0x6e6f { return .announcedExtension }
            return nil
        default:
            return nil
        }
    }
}

/// A closed enumeration spelled by its raw value on the wire.
protocol WireEnum: RawRepresentable<String>, CaseIterable, Sendable {
    static var wire: WireTable<Self> { get }
}

/// The spellings of a `WireEnum`'s cases, for matching packed bytes.
struct WireTable<E: WireEnum>: Sendable {
    let cases: [(value: E, name: PackedName)]
    /// `a, b, c`, for error messages.
    let list: String

    init() {
        cases = E.allCases.map { ($0, PackedName($0.rawValue)) }
        precondition(cases.allSatisfy { $0.name.count <= PackedName.maxCount })
        list = E.allCases.map(\.rawValue).joined(separator: ", ")
    }

    /// The case spelled `name`, with its position in `allCases`.
    @inline(__always)
    func match(_ name: PackedName) -> (value: E, index: Int)? {
        cases.withUnsafeBufferPointer { cases in
            for index in cases.indices where cases[index].name == name { return (cases[index].value, index) }
            return nil
        }
    }
}

extension EventType: WireEnum { static let wire = WireTable<EventType>() }
extension Role: WireEnum { static let wire = WireTable<Role>() }
extension Technique: WireEnum { static let wire = WireTable<Technique>() }
extension Outcome: WireEnum { static let wire = WireTable<Outcome>() }
extension RequestedBy: WireEnum { static let wire = WireTable<RequestedBy>() }
extension Scenario: WireEnum { static let wire = WireTable<Scenario>() }
extension Reason: WireEnum { static let wire = WireTable<Reason>() }
extension Level: WireEnum { static let wire = WireTable<Level>() }
extension AlternativeKind: WireEnum { static let wire = WireTable<AlternativeKind>() }
extension TransferMode: WireEnum { static let wire = WireTable<TransferMode>() }
extension Resolution: WireEnum { static let wire = WireTable<Resolution>() }
extension Severity: WireEnum { static let wire = WireTable<Severity>() }

extension EventType {
    /// The keys a line of this type may carry: the envelope (with `ticket` on
    /// ticket and discipline events) and the body's fields.
    var bodyKeys: [Key] {
        switch self {
        case .staffEnrolled: [.staff, .name, .role, .reportsTo, .extension, .hourlyCost]
        case .staffReassigned: [.staff, .reportsTo, .role]
        case .callOpened: [.agent, .customer, .issue, .repeatOf]
        case .escalationRequested: [.requestedBy, .scenario, .reason, .level, .goal]
        case .deEscalationAttempted: [.agent, .technique, .outcome]
        case .supervisorAvailability: [.supervisor, .available]
        case .alternativeOffered: [.agent, .kind, .party, .accepted]
        case .requestDeclined: [.by, .reason]
        case .transferred: [.from, .to, .mode, .announcedName, .announcedExtension]
        case .callbackScheduled: [.owner, .dueBy]
        case .callbackCompleted: [.by, .reached]
        case .noteLogged: [.author, .text]
        case .ticketResolved: [.by, .resolution, .satisfied]
        case .ticketReopened: [.by, .reason]
        case .debriefHeld: [.agent, .coach, .lessons]
        case .feedbackGiven: [.agent, .by, .text]
        case .sanctionIssued: [.agent, .by, .severity, .reason]
        case .legalHoldPlaced, .legalHoldReleased: [.customer, .matter]
        case .personalDataErased: [.customer, .reason]
        case .exportMade: [.from, .to, .count, .root, .operator, .purpose, .filter, .pseudonymized]
        case .personalDataRevealed: [.operator, .purpose, .customers, .query]
        }
    }

    /// Allowed keys as a bit set, indexed like `EventType.wire.cases`.
    static let allowedMasks: [UInt64] = EventType.wire.cases.map { entry in
        var mask: UInt64 = 0
        for k in [Key.id, .type, .at, .actor, .channel, .expectedVersion] { mask |= k.bit }
        if entry.value.category.hasTicket { mask |= Key.ticket.bit }
        for k in entry.value.bodyKeys { mask |= k.bit }
        if entry.value.hasPersonalText { mask |= Key.sealed.bit }  // stored form only (checked by the decoder)
        return mask
    }
}
