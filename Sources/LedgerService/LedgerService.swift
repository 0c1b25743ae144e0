import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Ledger
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle

/// `ledger serve`: the ledger over HTTP (CONTRACT.md section 9, docs/API.md, docs/openapi.yaml).
///
/// One ``Ledger`` serves every request for the process's lifetime; appends go through its
/// group-committed import path, so concurrent requests share commits, and each is answered
/// only once its events are durable. Routes are thin: they read the request into the
/// library's types, call the library on a blocking queue, and write its answer as it comes.
public final class LedgerService: Sendable {
    /// How the service listens and what it accepts.
    public struct Configuration: Sendable {
        public var host = "127.0.0.1"
        public var port = 8080
        /// PEM files; both or neither. With them the service speaks HTTPS only.
        public var tlsCertificate: String?
        public var tlsKey: String?
        /// The largest request body read (an append); a larger one is refused with 413 before it is read whole.
        public var maxBodyBytes = 32 << 20
        /// A connection idle (or a client that stops sending) this long is closed.
        public var idleTimeoutSeconds = 30
        /// The web view's sign-in limit: after this many failed sign-ins from one client address
        /// within `webSignInWindowSeconds`, its further sign-ins are refused (429) for a while.
        public var webSignInLimit = 5
        public var webSignInWindowSeconds = 60.0
        public init() {}
    }

    let ledger: Ledger
    let tokens: TokenStore
    let configuration: Configuration
    let logger: Logger
    let metrics: ServiceMetrics
    let shutdown = ShutdownFlag()
    let tiles: TileStore

    public init(ledger: Ledger, configuration: Configuration, logger: Logger) {
        self.ledger = ledger
        self.configuration = configuration
        self.logger = logger
        tokens = TokenStore(ledgerPath: ledger.path)
        metrics = ServiceMetrics(ledger: ledger)
        tiles = TileStore(ledger: ledger)
    }

    // MARK: Authorization

    /// What a call needs.
    enum Need { case append, read, compliance, admin, anyToken }

    /// The token a request carries, if it is valid and its role allows `need`.
    /// - throws: 401 without a valid token, 403 beyond its role.
    func authorize(_ request: Request, _ need: Need) throws -> StoredToken {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
              let token = tokens.authenticate(String(header.dropFirst("Bearer ".count)))
        else { throw ServiceError.unauthorized }
        let allowed: Bool
        switch need {
        case .append: allowed = token.role.appends
        case .read: allowed = token.role.reads
        case .compliance: allowed = token.role.compliance
        case .admin: allowed = token.role == .admin
        case .anyToken: allowed = true
        }
        guard allowed else {
            throw ServiceError(.forbidden, "forbidden", "a \(token.role.rawValue) token may not do this (it needs "
                               + LedgerService.describe(need) + ")")
        }
        return token
    }

    /// The query parameters that are flags (`name`, `name=true`, `name=false`).
    static let flags: Set<String> = ["atomic", "reveal", "pseudonymize"]

    static func describe(_ need: Need) -> String {
        switch need {
        case .append: return "a writer or admin token"
        case .read: return "an auditor, compliance or admin token"
        case .compliance: return "a compliance or admin token"
        case .admin: return "an admin token"
        case .anyToken: return "any valid token"
        }
    }

    // MARK: Running

    /// Builds the routes.
    func router() -> Router<ServiceRequestContext> {
        let router = Router(context: ServiceRequestContext.self)
        router.add(middleware: ErrorAndLogMiddleware(metrics: metrics))
        addHealthRoutes(router)
        addAppendRoutes(router)
        addQueryRoutes(router)
        addLogRoutes(router)
        addTransparencyRoutes(router)
        addComplianceRoutes(router)
        addExportRoutes(router)
        addWebRoutes(router)  // the auditors' web view (Sources/LedgerService/Web)
        return router
    }

    /// Serves until SIGTERM or SIGINT, then stops accepting connections, lets the requests in
    /// flight finish and be answered, and returns. `onListening` gets the bound address.
    public func run(onListening: @escaping @Sendable (String, Int) -> Void) async throws {
        let idle = TimeAmount.seconds(Int64(configuration.idleTimeoutSeconds))
        var server: HTTPServerBuilder = .http1(configuration: .init(idleTimeout: idle))
        if let cert = configuration.tlsCertificate, let key = configuration.tlsKey {
            let chain = try NIOSSLCertificate.fromPEMFile(cert).map { NIOSSLCertificateSource.certificate($0) }
            let tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
            server = try .tls(.http1(configuration: .init(idleTimeout: idle)), tlsConfiguration: tls)
        }
        let app = Application(
            router: router(),
            server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "ledger"),
            onServerRunning: { channel in
                let address = channel.localAddress
                onListening(address?.ipAddress ?? "?", address?.port ?? 0)
            },
            logger: logger
        )
        // Services stop in the reverse order: the flag first (ending live feeds), then the server,
        // which waits for the requests in flight.
        let group = ServiceGroup(configuration: .init(services: [app, ShutdownWatcher(flag: shutdown)],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        logger.info("stopped")
    }
}

/// Set once graceful shutdown begins: live feeds end so that the server can stop.
final class ShutdownFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var set = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return set }
    func raise() { lock.lock(); set = true; lock.unlock() }
}

struct ShutdownWatcher: Service {
    let flag: ShutdownFlag
    func run() async throws {
        try? await gracefulShutdown()
        flag.raise()
    }
}

extension Request {
    /// The query parameters, refusing any this route does not know (a typo must not be ignored).
    func query(allowing names: Set<String>) throws -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in uri.queryParameters {
            let key = String(k)
            guard names.contains(key) else {
                throw ServiceError.badRequest("unknown query parameter '\(key)'; this call takes: " + names.sorted().joined(separator: ", "))
            }
            guard out[key] == nil else { throw ServiceError.badRequest("query parameter '\(key)' is given twice") }
            // An empty value is no selection (and no key an index can look up): only a flag may be bare.
            guard !v.isEmpty || LedgerService.flags.contains(key) else {
                throw ServiceError.badRequest("query parameter '\(key)' needs a value")
            }
            out[key] = String(v)
        }
        return out
    }
}

extension Response {
    static func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func text(_ text: String, contentType: String = "text/plain; charset=utf-8") -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// A body written by a blocking producer as it runs (``ChunkPipe``). A failure before the first
    /// byte is the request's refusal; after it, the connection is closed (the answer is cut short).
    static func streamed(contentType: String, headers extra: HTTPFields = [:],
                         _ produce: @escaping @Sendable (ChunkPipe) throws -> Void) async throws -> Response {
        let pipe = ChunkPipe()
        Blocking.queue.async {
            do { try produce(pipe); pipe.finish() } catch { pipe.finish(error) }
        }
        let first = try await pipe.next()
        var headers = extra
        headers[.contentType] = contentType
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer { pipe.cancel() }
            if let first {
                try await writer.write(ByteBuffer(bytes: first))
                while let chunk = try await pipe.next() { try await writer.write(ByteBuffer(bytes: chunk)) }
            }
            try await writer.finish(nil)
        })
    }
}
