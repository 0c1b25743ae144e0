import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import NIOCore

extension LedgerService {
    func addHealthRoutes(_ router: Router<ServiceRequestContext>) {
        // No token: load balancers and supervisors ask it.
        router.get("/healthz") { _, _ -> Response in
            let head = try await Blocking.run { [ledger = self.ledger] in try ledger.log.head().seq }
            return .json(Array("{\"ok\":true,\"lastSeq\":\(head)}\n".utf8))
        }
        router.get("/metrics") { request, _ -> Response in
            _ = try self.authorize(request, .anyToken)
            let text = try await Blocking.run { [metrics = self.metrics] in try metrics.render() }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: text)))
        }
    }

    /// `POST /v1/events[?atomic=true]`: one interchange line (`application/json`) or JSON Lines
    /// (any other type). The answer is `ledger import --json`'s report, sent once the events are
    /// durable: 200 when nothing was refused, 422 when a line was (the report names each).
    func addAppendRoutes(_ router: Router<ServiceRequestContext>) {
        router.post("/v1/events") { request, _ -> Response in
            _ = try self.authorize(request, .append)
            let query = try request.query(allowing: ["atomic"])
            let atomic = try LedgerService.flag(query["atomic"], name: "atomic")
            let body = try await self.readBody(request)
            let mediaType = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
            let single = mediaType == "application/json"
            let lines: [[UInt8]] = single ? [body] : body.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
            let report: ImportReport
            if lines.count <= LedgerService.inlineAppendLines {
                // Decoded and checked here, then handed to the group committer, which resumes
                // this request once durable: no thread is held while the commit is awaited.
                report = try await withCheckedThrowingContinuation { continuation in
                    self.ledger.importLines(lines, atomic: atomic) { continuation.resume(with: $0) }
                }
            } else {
                report = try await Blocking.runAppend { [ledger = self.ledger] in try ledger.importLines(lines, atomic: atomic) }
            }
            if report.appended > 0 { self.metrics.committed(events: report.appended) }
            self.metrics.appendReport(report)
            var w = JSONWriter()
            JSONShape.importReport(report, atomic: atomic, into: &w)
            return .json(w.bytes + [0x0A], status: report.refused.isEmpty ? .ok : .unprocessableContent)
        }
    }

    /// Requests of up to this many lines are decoded on the request's task and wait for their
    /// commit without a thread; larger ones (seconds of work) run on the append threads.
    static let inlineAppendLines = 256

    /// The request's body, refused with 413 as soon as it passes the limit (by its
    /// Content-Length before reading anything, else while reading): never read whole.
    func readBody(_ request: Request) async throws -> [UInt8] {
        let limit = configuration.maxBodyBytes
        let tooLarge = ServiceError(.contentTooLarge, "tooLarge", "the request body is larger than the service's limit of \(limit) bytes "
                                    + "(ledger serve --max-body); send the lines in several requests")
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit { throw tooLarge }
        var bytes: [UInt8] = []
        for try await chunk in request.body {
            if bytes.count + chunk.readableBytes > limit { throw tooLarge }
            bytes += chunk.readableBytesView
        }
        return bytes
    }

    static func flag(_ value: String?, name: String) throws -> Bool {
        switch value {
        case nil, "false", "0": return false
        case "true", "1", "": return true
        default: throw ServiceError.badRequest("\(name) takes true or false, not '\(value!)'")
        }
    }
}
