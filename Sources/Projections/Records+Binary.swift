import EscalationDomain

extension Timestamp {
    fileprivate init(_ r: inout BinaryReader) throws { self.init(microsecondsSinceEpoch: try r.int()) }
}

extension BinaryWriter {
    fileprivate mutating func time(_ t: Timestamp) { int(t.microsecondsSinceEpoch) }
    fileprivate mutating func optionalTime(_ t: Timestamp?) { optionalInt(t?.microsecondsSinceEpoch) }
}

extension BinaryReader {
    fileprivate mutating func time() throws -> Timestamp { Timestamp(microsecondsSinceEpoch: try int()) }
    fileprivate mutating func optionalTime() throws -> Timestamp? { try optionalInt().map { Timestamp(microsecondsSinceEpoch: $0) } }
    fileprivate mutating func enumValue<E: RawRepresentable>(_: E.Type) throws -> E where E.RawValue == String {
        guard let v = E(rawValue: try string()) else { throw Truncated() }
        return v
    }
    fileprivate mutating func array<T>(_ element: (inout BinaryReader) throws -> T) throws -> [T] {
        let n = Int(try uint())
        var out: [T] = []
        out.reserveCapacity(min(n, 1024))
        for _ in 0..<n { out.append(try element(&self)) }
        return out
    }
}

extension TicketState {
    func encode() -> [UInt8] {
        var w = BinaryWriter(capacity: 256)
        w.string(ticket); w.string(status.rawValue); w.string(owner); w.string(openedBy); w.time(openedAt)
        w.string(customer); w.optionalString(level?.rawValue); w.int(asks); w.int(escalations)
        w.uint(UInt64(transfers.count))
        for t in transfers {
            w.uint(t.seq); w.time(t.at); w.string(t.from); w.string(t.to); w.string(t.mode.rawValue); w.bool(t.announced)
        }
        w.uint(UInt64(callbacks.count))
        for c in callbacks {
            w.uint(c.seq); w.string(c.owner); w.time(c.scheduledAt); w.time(c.dueBy); w.optionalTime(c.completedAt)
            w.optionalString(c.completedBy); w.optionalInt(c.completedSeq.map { Int64($0) })
        }
        w.uint(version); w.uint(lastSeq); w.optionalTime(resolvedAt); w.optionalInt(resolvedSeq.map { Int64($0) })
        w.optionalString(resolution?.rawValue)
        w.uint(UInt64(eventFindings.count))
        for f in eventFindings { w.string(f.kind.rawValue); w.string(f.staff); w.uint(f.seq); w.time(f.at); w.string(f.reason) }
        w.string(statusBeforeCallback.rawValue); w.bool(attempted)
        w.uint(UInt64(pendingUnavailable.count)); pendingUnavailable.forEach { w.uint($0.seq); w.time($0.at); w.string($0.supervisor) }
        w.optionalString(superiorAtResolution)
        w.uint(UInt64(debriefTimes.count)); debriefTimes.forEach { w.time($0) }
        w.uint(UInt64(followUpTimes.count)); followUpTimes.forEach { w.time($0) }
        w.optionalInt(reachedSeq.map { Int64($0) }); w.optionalTime(reachedAt); w.optionalString(superiorAtReach)
        w.uint(UInt64(seniors.count)); seniors.forEach { w.string($0.staff); w.time($0.at) }
        w.uint(UInt64(accountable.count)); accountable.forEach { w.string($0) }
        w.bool(contributedDeEscalated); w.double(contributedCost)
        return w.bytes
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws -> TicketState {
        var r = BinaryReader(bytes)
        let ticket = try r.string()
        let status = try r.enumValue(Status.self)
        let owner = try r.string(), openedBy = try r.string(), openedAt = try r.time(), customer = try r.string()
        var s = TicketState(ticket: ticket, opened: .init(agent: openedBy, customer: Customer(id: customer), issue: ""), at: openedAt)
        s.status = status
        s.owner = owner
        s.level = try r.optionalString().flatMap { Level(rawValue: $0) }
        s.asks = try r.intValue(); s.escalations = try r.intValue()
        s.transfers = try r.array { r in
            Transfer(seq: try r.uint(), at: try r.time(), from: try r.string(), to: try r.string(),
                     mode: try r.enumValue(TransferMode.self), announced: try r.bool())
        }
        s.callbacks = try r.array { r in
            Callback(seq: try r.uint(), owner: try r.string(), scheduledAt: try r.time(), dueBy: try r.time(),
                     completedAt: try r.optionalTime(), completedBy: try r.optionalString(),
                     completedSeq: try r.optionalInt().map { UInt64($0) })
        }
        s.version = try r.uint(); s.lastSeq = try r.uint(); s.resolvedAt = try r.optionalTime()
        s.resolvedSeq = try r.optionalInt().map { UInt64($0) }
        s.resolution = try r.optionalString().flatMap { Resolution(rawValue: $0) }
        s.eventFindings = try r.array { r in
            Finding(kind: try r.enumValue(Finding.Kind.self), ticket: ticket, staff: try r.string(), seq: try r.uint(),
                    at: try r.time(), reason: try r.string())
        }
        s.statusBeforeCallback = try r.enumValue(Status.self); s.attempted = try r.bool()
        s.pendingUnavailable = try r.array { r in PendingUnavailable(seq: try r.uint(), at: try r.time(), supervisor: try r.string()) }
        s.superiorAtResolution = try r.optionalString()
        s.debriefTimes = try r.array { try $0.time() }
        s.followUpTimes = try r.array { try $0.time() }
        s.reachedSeq = try r.optionalInt().map { UInt64($0) }; s.reachedAt = try r.optionalTime()
        s.superiorAtReach = try r.optionalString()
        s.seniors = try r.array { r in (try r.string(), try r.time()) }
        s.accountable = try r.array { try $0.string() }
        s.contributedDeEscalated = try r.bool(); s.contributedCost = try r.double()
        return s
    }
}

extension StaffRecord {
    func encode() -> [UInt8] {
        var w = BinaryWriter(capacity: 96)
        w.string(info.staff); w.string(info.name); w.string(info.role.rawValue); w.optionalString(info.reportsTo)
        w.optionalString(info.extension); w.optionalInt(info.hourlyCost?.units)
        let c = counters
        for v in [c.callsOpened, c.escalationRequests, c.deEscalationAttempts, c.ticketsWithRequest, c.deEscalated,
                  c.transfersOut, c.compliantTransfers, c.callbacksOwed, c.callbacksOnTime, c.callbacksLate,
                  c.requestsDeclined, c.feedbackReceived, c.sanctionsReceived, c.debriefs, c.supervisorLoad] {
            w.int(v)
        }
        w.double(c.escalationCost)
        return w.bytes
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws -> StaffRecord {
        var r = BinaryReader(bytes)
        let info = StaffInfo(staff: try r.string(), name: try r.string(), role: try r.enumValue(Role.self),
                             reportsTo: try r.optionalString(), extension: try r.optionalString(),
                             hourlyCost: try r.optionalInt().flatMap { ExactDecimal(units: $0) })
        var c = ScoreCounters()
        c.callsOpened = try r.intValue(); c.escalationRequests = try r.intValue(); c.deEscalationAttempts = try r.intValue()
        c.ticketsWithRequest = try r.intValue(); c.deEscalated = try r.intValue(); c.transfersOut = try r.intValue()
        c.compliantTransfers = try r.intValue(); c.callbacksOwed = try r.intValue(); c.callbacksOnTime = try r.intValue()
        c.callbacksLate = try r.intValue(); c.requestsDeclined = try r.intValue(); c.feedbackReceived = try r.intValue()
        c.sanctionsReceived = try r.intValue(); c.debriefs = try r.intValue(); c.supervisorLoad = try r.intValue()
        c.escalationCost = try r.double()
        return StaffRecord(info: info, counters: c)
    }
}
