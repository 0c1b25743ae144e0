import EscalationDomain
import Foundation
import HTTPTypes
import Hummingbird
import Ledger

/// A refusal: `{"error":{"kind","message"}}` with a fitting status (docs/API.md lists the kinds).
struct ServiceError: Error, CustomStringConvertible {
    var status: HTTPResponse.Status
    var kind: String
    var message: String

    init(_ status: HTTPResponse.Status, _ kind: String, _ message: String) {
        self.status = status; self.kind = kind; self.message = message
    }

    var description: String { "\(status.code) \(kind): \(message)" }

    static func badRequest(_ message: String) -> ServiceError { ServiceError(.badRequest, "badRequest", message) }
    static func notFound(_ message: String) -> ServiceError { ServiceError(.notFound, "notFound", message) }
    static let unauthorized = ServiceError(.unauthorized, "unauthorized",
                                           "this call needs a valid bearer token (Authorization: Bearer lt_…; ledger token create)")

    static func body(kind: String, message: String) -> ByteBuffer {
        var w = JSONWriter()
        w.beginObject()
        w.key("error")
        w.beginObject()
        w.field("kind", kind)
        w.field("message", message)
        w.endObject()
        w.endObject()
        return ByteBuffer(bytes: w.bytes + [0x0A])
    }

    var response: Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"ledger\"" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ServiceError.body(kind: kind, message: message)))
    }

    /// Any error a route or the library throws, as the refusal a client sees.
    static func from(_ error: any Error) -> ServiceError {
        switch error {
        case let e as ServiceError: return e
        case let e as HTTPError:
            let kind: String
            switch e.status {
            case .notFound: kind = "notFound"
            case .contentTooLarge: kind = "tooLarge"
            case .methodNotAllowed: kind = "methodNotAllowed"
            case .badRequest: kind = "badRequest"
            default: kind = e.status.code >= 500 ? "internal" : "badRequest"
            }
            return ServiceError(e.status, kind, e.body ?? e.status.reasonPhrase)
        case let e as LedgerError:
            switch e {
            case .notFound: return ServiceError(.notFound, "notFound", e.description)
            case .missing, .invalid: return ServiceError(.unprocessableContent, "invalid", e.description)
            }
        case let e as EmptyCut: return ServiceError(.notFound, "emptyCut", e.description)
        case let v as RuleViolation: return ServiceError(.unprocessableContent, v.rule.rawValue, v.description)
        default: return ServiceError(.internalServerError, "internal", "\(error)")
        }
    }
}

/// Turns every error into the JSON refusal shape, and logs each request (method, path, status,
/// the token's public id: never the token itself).
struct ErrorAndLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServiceMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            let e = ServiceError.from(error)
            if e.status.code >= 500 {
                context.logger.error("request failed", metadata: ["method": "\(request.method)", "path": "\(Self.loggedPath(request, context))",
                                                                  "error": "\(error)"])
            }
            response = e.response
        }
        let elapsed = ContinuousClock.now - start
        metrics.request(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: response.status.code, elapsed: elapsed)
        context.logger.info("request", metadata: ["method": "\(request.method)", "path": "\(Self.loggedPath(request, context))",
                                                  "status": "\(response.status.code)",
                                                  "token": "\(request.headers[.authorization].flatMap(TokenStore.publicID) ?? "-")"])
        return response
    }

    /// The path as logged: a customer's id is personal data, which the log (unlike the ledger)
    /// could not erase, so the routes under `/v1/customers/` are logged by their pattern
    /// (`/v1/customers/:id/erase`), never with the id.
    static func loggedPath(_ request: Request, _ context: Context) -> String {
        let path = request.uri.path
        guard path.hasPrefix("/v1/customers/") else { return path }
        return context.endpointPath ?? "/v1/customers/…"
    }
}
