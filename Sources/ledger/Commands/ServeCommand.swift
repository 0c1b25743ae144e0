import ArgumentParser
import EventLog
import Foundation
import Ledger
import LedgerService
import Logging

extension LedgerTool {
    /// `ledger serve [--listen HOST:PORT] [--tls-cert PEM --tls-key PEM] [--max-body BYTES]`.
    struct ServeCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve",
            abstract: "Offer the ledger over HTTP (docs/API.md, docs/openapi.yaml).",
            discussion: """
            Appends (POST /v1/events: one interchange line or JSON Lines, answered with the \
            import report once durable), every query (/v1/tickets/ID, /v1/findings, \
            /v1/scorecards, /v1/audit, /v1/customers/ID, /v1/stats), the log \
            (/v1/log) and its live feed (/v1/feed, Server-Sent Events), compliance \
            (erase, holds, reveals, POST /v1/exports: a bundle as one tar), /checkpoint, \
            /metrics and /healthz. Callers send a bearer token (ledger token create). \
            Bound to loopback unless --listen says otherwise. SIGTERM or SIGINT stop it \
            gracefully: no new connections, requests in flight finish and are answered, exit 0.

            Prints `listening on http(s)://HOST:PORT` on standard output once it accepts \
            connections (--listen 127.0.0.1:0 picks a free port); logs go to standard error.

            Examples:
              ledger token create --role writer --name desktop
              ledger serve
              ledger serve --listen 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem
            """
        )

        @OptionGroup var global: GlobalOptions

        @Option(help: ArgumentHelp("The address to listen on (default 127.0.0.1:8080; port 0 picks a free one).", valueName: "host:port"))
        var listen = "127.0.0.1:8080"

        @Option(name: .customLong("tls-cert"), help: ArgumentHelp("A PEM certificate chain: serve HTTPS (needs --tls-key).", valueName: "pem"))
        var tlsCert: String?

        @Option(name: .customLong("tls-key"), help: ArgumentHelp("The PEM private key of --tls-cert.", valueName: "pem"))
        var tlsKey: String?

        @Option(name: .customLong("max-body"), help: ArgumentHelp("The largest request body, in bytes (default 32 MiB); larger ones get 413.",
                                                                  valueName: "bytes"))
        var maxBody = 32 << 20

        @Option(name: .customLong("idle-timeout"), help: ArgumentHelp("Close a connection idle this many seconds (default 30).", valueName: "seconds"))
        var idleTimeout = 30

        @Option(name: .customLong("web-signin-limit"),
                help: ArgumentHelp("The web view's sign-in limit: after this many failed sign-ins from one client address "
                                   + "within --web-signin-window, further ones are refused (429) for a while.", valueName: "n"))
        var webSignInLimit = 5

        @Option(name: .customLong("web-signin-window"),
                help: ArgumentHelp("The window of --web-signin-limit, in seconds.", valueName: "seconds"))
        var webSignInWindow = 60.0

        @Option(name: .customLong("log-level"), help: ArgumentHelp("trace, debug, info (default), notice, warning, error or critical.", valueName: "level"))
        var logLevel = "info"

        var address: (host: String, port: Int)? {
            guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else { return nil }
            var host = String(listen[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            return host.isEmpty ? nil : (host, port)
        }

        func validate() throws {
            if address == nil { throw ValidationError("--listen '\(listen)' is not HOST:PORT (e.g. 127.0.0.1:8080)") }
            if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
            for f in [tlsCert, tlsKey].compactMap({ $0 }) where !FileManager.default.isReadableFile(atPath: f) {
                throw ValidationError("cannot read \(f)")
            }
            if maxBody < 1 { throw ValidationError("--max-body must be at least 1") }
            if idleTimeout < 1 { throw ValidationError("--idle-timeout must be at least 1") }
            if webSignInLimit < 1 { throw ValidationError("--web-signin-limit must be at least 1") }
            if !(webSignInWindow > 0 && webSignInWindow <= 86_400) { throw ValidationError("--web-signin-window must be more than 0 and at most 86400 seconds") }
            if Logger.Level(rawValue: logLevel) == nil { throw ValidationError("--log-level '\(logLevel)' is not a level") }
        }

        func run() throws {
            let ledger = try global.openForQuery(signingKey: SigningOptions.environmentPath)
            guard !ledger.readOnly else { throw CommandFailure("the ledger at \(global.path) is read-only here; the service appends") }
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = Logger.Level(rawValue: logLevel) ?? .info
                return handler
            }
            var logger = Logger(label: "ledger.serve")
            logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            var configuration = LedgerService.Configuration()
            configuration.host = address!.host
            configuration.port = address!.port
            configuration.tlsCertificate = tlsCert
            configuration.tlsKey = tlsKey
            configuration.maxBodyBytes = maxBody
            configuration.idleTimeoutSeconds = idleTimeout
            configuration.webSignInLimit = webSignInLimit
            configuration.webSignInWindowSeconds = webSignInWindow
            let service = LedgerService(ledger: ledger, configuration: configuration, logger: logger)
            let scheme = tlsCert == nil ? "http" : "https"
            let outcome = Latch<Result<Void, any Error>>()
            Task {
                do {
                    try await service.run { host, port in
                        let shown = host.contains(":") ? "[\(host)]" : host
                        Terminal.print("listening on \(scheme)://\(shown):\(port)")
                    }
                    outcome.set(.success(()))
                } catch {
                    outcome.set(.failure(error))
                }
            }
            if case .failure(let error) = outcome.wait() {
                throw CommandFailure("the service stopped: \(error)")
            }
        }
    }

    /// `ledger token create|list|revoke`: the service's bearer tokens.
    struct TokenCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "token",
            abstract: "Create, list and revoke the service's bearer tokens.",
            discussion: """
            Roles: writer (appends), auditor (reads: queries, log, feed, proofs), \
            compliance (reads, reveals, erase, hold, export, acting as --staff), admin \
            (everything). A token is shown once, when it is created; the ledger keeps only \
            its SHA-256 hash, in DIR/tokens.json (mode 0600). Revoking takes effect at the \
            running service's next request.
            """,
            subcommands: [Create.self, List.self, Revoke.self]
        )

        struct Create: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create a token and print it (the only time it is shown).")
            @OptionGroup var global: GlobalOptions
            @Option(help: ArgumentHelp("writer, auditor, compliance or admin.", valueName: "role"))
            var role: String
            @Option(help: ArgumentHelp("The staff id the token acts as for reveals and compliance events.", valueName: "staff"))
            var staff: String?
            @Option(help: ArgumentHelp("A label for people (who or what uses it).", valueName: "text"))
            var name = ""
            @Flag(help: "Print {\"token\",\"id\",\"role\",\"staff\",\"name\"} as JSON.")
            var json = false

            func validate() throws {
                guard TokenRole(rawValue: role) != nil else {
                    throw ValidationError("--role '\(role)' is not one of: " + TokenRole.allCases.map(\.rawValue).joined(separator: ", "))
                }
                if let staff, staff.isEmpty { throw ValidationError("--staff needs a staff id") }
            }

            func run() throws {
                let ledger = try global.openForQuery()
                if let staff, role == "compliance" || role == "admin" {
                    do { try ledger.requireComplianceOperator(staff) } catch {
                        throw CommandFailure("--staff \(staff): \(CommandFailure.describe(error))")
                    }
                }
                let (secret, token) = try TokenStore(ledgerPath: global.path).create(name: name, role: TokenRole(rawValue: role)!, staff: staff)
                if json {
                    var w = JSONWriter()
                    w.beginObject()
                    w.field("token", secret)
                    w.field("id", token.id)
                    w.field("role", token.role.rawValue)
                    w.field("staff", token.staff)
                    w.field("name", token.name)
                    w.endObject()
                    Terminal.printBytes(w.bytes)
                } else {
                    Terminal.print(secret)
                    Terminal.error("token \(token.id) (\(token.role.rawValue)) created; it is shown only this once")
                }
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List tokens (ids, roles, staff, names; never the secrets).")
            @OptionGroup var global: GlobalOptions
            @Flag(help: "Print a JSON array.")
            var json = false

            func run() throws {
                _ = try global.openForQuery(readOnly: true)
                let tokens = try TokenStore(ledgerPath: global.path).list()
                if json {
                    var w = JSONWriter()
                    w.beginArray()
                    for t in tokens {
                        w.beginObject()
                        w.field("id", t.id); w.field("role", t.role.rawValue); w.field("staff", t.staff); w.field("name", t.name)
                        w.field("created", t.created); w.field("revoked", t.revoked)
                        w.endObject()
                    }
                    w.endArray()
                    Terminal.printBytes(w.bytes)
                } else {
                    var table = Table([Table.Column("id"), Table.Column("role"), Table.Column("staff"), Table.Column("name"),
                                       Table.Column("created"), Table.Column("revoked")])
                    for t in tokens { table.add([t.id, t.role.rawValue, t.staff ?? "-", t.name, t.created, t.revoked ?? "-"]) }
                    Terminal.print(tokens.isEmpty ? "No tokens." : table.render())
                }
            }
        }

        struct Revoke: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Revoke a token by its id.")
            @OptionGroup var global: GlobalOptions
            @Argument(help: ArgumentHelp("The token's id (token list).", valueName: "id"))
            var id: String

            func run() throws {
                _ = try global.openForQuery(readOnly: true)
                guard try TokenStore(ledgerPath: global.path).revoke(id: id) else {
                    throw CommandFailure("no token \(id) (ledger token list)", status: ExitStatus.notFound)
                }
                Terminal.print("token \(id) revoked")
            }
        }
    }
}
