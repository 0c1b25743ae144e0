import EscalationDomain

/// A policy finding (CONTRACT.md section 5): recorded reality that breached a procedure.
public struct Finding: Sendable, Hashable, Comparable {
    /// The kinds of finding.
    public enum Kind: String, CaseIterable, Sendable, Comparable {
        case transferBeforeTwoAsks, requestDeclined, unavailableWithoutAlternative, unannouncedTransfer
        case callbackOverdue, callbackByOther, noDebrief, followUpMissing

        public static func < (a: Kind, b: Kind) -> Bool { a.rawValue < b.rawValue }
    }

    public var kind: Kind
    public var ticket: String
    /// Who is accountable.
    public var staff: String
    /// The event that raised it, or the one it is about.
    public var seq: UInt64
    /// The event time it concerns: the event's `at`, or the deadline that passed.
    public var at: Timestamp
    /// One line a person can read ("transferred after 1 declined ask (2 required)").
    public var reason: String

    public init(kind: Kind, ticket: String, staff: String, seq: UInt64, at: Timestamp, reason: String) {
        self.kind = kind; self.ticket = ticket; self.staff = staff; self.seq = seq; self.at = at; self.reason = reason
    }

    /// Stable identity: the same finding has the same id in every query, replay and as-of view
    /// (`<ticket>/<seq>/<kind>`: a finding is about one event of one ticket, and one kind each).
    public var id: String { "\(ticket)/\(seq)/\(kind.rawValue)" }

    /// The position an id names in the findings' order (seq, then kind), for paging: read from
    /// the right, so a ticket id may hold `/`. Nil when `id` is not a finding id.
    public static func cursor(_ id: String) -> (seq: UInt64, kind: String)? {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 3, let seq = UInt64(parts[parts.count - 2]), Kind(rawValue: String(parts[parts.count - 1])) != nil else { return nil }
        return (seq, String(parts[parts.count - 1]))
    }

    /// By seq, then kind: an event raises at most one finding of each kind, so this orders every finding.
    public static func < (a: Finding, b: Finding) -> Bool {
        (a.seq, a.kind.rawValue, a.staff) < (b.seq, b.kind.rawValue, b.staff)
    }
}

/// Days allowed for a debrief after resolution (seed 002) and for feedback after a ticket reached a supervisor (seed 003).
public enum Deadlines {
    public static let debriefDays = 7
    public static let followUpDays = 14
}

/// A staff member as the projections know them at a moment.
public struct StaffInfo: Sendable, Equatable {
    public var staff: String
    public var name: String
    public var role: Role
    public var reportsTo: String?
    public var `extension`: String?
    public var hourlyCost: ExactDecimal?

    public init(staff: String, name: String, role: Role, reportsTo: String? = nil,
                extension: String? = nil, hourlyCost: ExactDecimal? = nil) {
        self.staff = staff; self.name = name; self.role = role; self.reportsTo = reportsTo
        self.extension = `extension`; self.hourlyCost = hourlyCost
    }

    /// Applies a staff event to the member it concerns (nil before enrolment).
    public static func applying(_ event: Event, to current: StaffInfo?) -> StaffInfo? {
        switch event.body {
        case .staffEnrolled(let b):
            return StaffInfo(staff: b.staff, name: b.name, role: b.role, reportsTo: b.reportsTo,
                             extension: b.extension, hourlyCost: b.hourlyCost)
        case .staffReassigned(let b):
            guard var s = current else { return nil }
            s.reportsTo = b.reportsTo
            if let role = b.role { s.role = role }
            return s
        default:
            return current
        }
    }
}

/// How a ticket fold finds staff members as they were when an event happened.
public protocol StaffLookup {
    func staff(_ id: String, atSeq seq: UInt64) throws -> StaffInfo?
    /// The member's role alone, what most checks need (a lookup may answer it without copying the entry).
    func role(_ id: String, atSeq seq: UInt64) throws -> Role?
}

extension StaffLookup {
    public func role(_ id: String, atSeq seq: UInt64) throws -> Role? { try staff(id, atSeq: seq)?.role }
}
