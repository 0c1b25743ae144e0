import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import NIOCore

extension LedgerService {
    /// `GET /v1/log?after=SEQ&limit=N`: the log's events after a seq as JSON Lines (the lines of
    /// `ledger tail`: docs/EXPORT.md's events.jsonl, with seq, hashes and times).
    /// `GET /v1/feed?after=SEQ` (or `Last-Event-ID`): Server-Sent Events, the same lines from that
    /// seq on, then each new event as it commits; each event's SSE id is its seq, so a client that
    /// reconnects with `Last-Event-ID` resumes exactly after the last event it received.
    func addLogRoutes(_ router: Router<ServiceRequestContext>) {
        router.get("/v1/log") { request, _ -> Response in
            _ = try self.authorize(request, .read)
            let q = try request.query(allowing: ["after", "limit"])
            let after = try LedgerService.seq(q["after"], name: "after") ?? 0
            var limit = 1000
            if let l = q["limit"] {
                guard let n = Int(l), n >= 1 else { throw ServiceError.badRequest("limit must be a whole number, at least 1") }
                limit = n
            }
            return try await .streamed(contentType: "application/jsonl") { [ledger = self.ledger, limit] pipe in
                var out = ListWriter(.jsonl, columns: [], pipe: pipe)
                try ledger.tail(after: after, limit: limit) { try out.write($0) }
                try out.flush()
            }
        }
        router.get("/v1/feed") { request, _ -> Response in
            _ = try self.authorize(request, .read)
            let q = try request.query(allowing: ["after"])
            let header = request.headers[HTTPField.Name("Last-Event-ID")!]
            let after = try LedgerService.seq(header, name: "Last-Event-ID") ?? LedgerService.seq(q["after"], name: "after") ?? 0
            let head = try await Blocking.run { [ledger = self.ledger] in try ledger.log.head().seq }
            guard after <= head else { throw ServiceError.notFound("seq \(after) (the log holds seqs 1 to \(head))") }
            var headers = HTTPFields()
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-cache"
            return Response(status: .ok, headers: headers, body: ResponseBody { [ledger = self.ledger, shutdown = self.shutdown] writer in
                var position = after
                var quiet = ContinuousClock.now
                // A retry hint for EventSource clients, sent first.
                try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
                while !shutdown.isSet {
                    let from = position
                    let seen = ledger.log.commitSignal.commits
                    let lines: [[UInt8]] = try await Blocking.run {
                        var bytes: [UInt8] = []
                        try ledger.tail(after: from, limit: 512) { bytes += $0 }
                        return bytes.split(separator: 0x0A).map(Array.init)
                    }
                    if lines.isEmpty {
                        if ContinuousClock.now - quiet > .seconds(10) {
                            try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                            quiet = ContinuousClock.now
                        }
                        // Woken by this process's next commit; appends by another process
                        // (`ledger import` beside the service) are seen within the timeout.
                        await ledger.log.commitSignal.wait(after: seen, timeout: LedgerService.feedIdleCheck)
                        continue
                    }
                    var out: [UInt8] = []
                    for line in lines {
                        position += 1  // seqs are dense: the k-th line after `from` is seq from + k
                        out += Array("id: \(position)\nevent: event\ndata: ".utf8) + line + [0x0A, 0x0A]
                    }
                    try await writer.write(ByteBuffer(bytes: out))
                    quiet = ContinuousClock.now
                }
                try await writer.finish(nil)
            })
        }
    }

    /// How long an idle feed waits for a commit of this process before it looks at the head anyway.
    static let feedIdleCheck: Duration = .milliseconds(250)

    static func seq(_ value: String?, name: String) throws -> UInt64? {
        guard let value else { return nil }
        guard let n = UInt64(value) else { throw ServiceError.badRequest("\(name) takes a seq (a whole number), not '\(value)'") }
        return n
    }
}
