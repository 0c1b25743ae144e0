import Foundation
import PostgresNIO

// MARK: - PostgreSQL: the server, a database per run, the backend's CPU

/// Where the PostgreSQL server listens: a unix socket directory (what tools/bench starts) or a host.
public struct PGTarget: Codable, Sendable {
    public var socketDir: String?
    public var host: String?
    public var port = 5432
    public var user = "postgres"

    public init(socketDir: String? = nil, host: String? = nil, port: Int = 5432, user: String = "postgres") {
        self.socketDir = socketDir
        self.host = host
        self.port = port
        self.user = user
    }

    public var description: String {
        if let socketDir { return "unix socket \(socketDir)/.s.PGSQL.\(port) as \(user)" }
        return "\(host ?? "127.0.0.1"):\(port) as \(user)"
    }

    func configuration(database: String) -> PostgresConnection.Configuration {
        if let socketDir {
            return .init(unixSocketPath: "\(socketDir)/.s.PGSQL.\(port)", username: user, password: nil, database: database)
        }
        return .init(host: host ?? "127.0.0.1", port: port, username: user, password: nil, database: database, tls: .disable)
    }
}

public enum PG {
    public static let logger: Logger = {
        var l = Logger(label: "ledger-bench.postgres")
        l.logLevel = .error
        return l
    }()

    private static let lock = NSLock()
    nonisolated(unsafe) private static var nextID = 0

    /// One connection to `database`, its session set to `durability` (synchronous_commit), and
    /// checked: fsync must be on (the server's setting; tools/bench starts it so).
    public static func connect(_ target: PGTarget, database: String, durability: Durability = .durable) async throws -> PostgresConnection {
        let id = lock.withLock { nextID += 1; return nextID }
        let c = try await PostgresConnection.connect(configuration: target.configuration(database: database), id: id, logger: logger)
        do {
            try await c.query(PostgresQuery(unsafeSQL: "SET synchronous_commit = \(durability.postgresSynchronousCommit)"), logger: logger)
            let fsync = try await c.query("SHOW fsync", logger: logger).collect().first?.decode(String.self)
            guard fsync == "on" else { throw BenchError("PostgreSQL fsync is \(fsync ?? "?"), expected on") }
        } catch {
            try? await c.close()
            throw error
        }
        return c
    }

    /// Runs statements that return nothing.
    public static func exec(_ c: PostgresConnection, _ sql: String) async throws {
        try await c.query(PostgresQuery(unsafeSQL: sql), logger: logger)
    }

    /// Runs a script of `;`-terminated statements one by one (the extended protocol takes one
    /// statement at a time); `;` inside `$f$ ... $f$` bodies does not end a statement.
    public static func script(_ c: PostgresConnection, _ sql: String) async throws {
        var statement = ""
        var inBody = false
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            statement += line + "\n"
            if line.components(separatedBy: "$f$").count % 2 == 0 { inBody.toggle() }
            if !inBody && line.trimmingCharacters(in: .whitespaces).hasSuffix(";") {
                try await exec(c, statement)
                statement = ""
            }
        }
        if !statement.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { try await exec(c, statement) }
    }

    /// The first column of the first row as an Int (count(*), max(seq), sizes).
    public static func int(_ c: PostgresConnection, _ sql: String) async throws -> Int {
        for try await v in try await c.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(Int?.self) { return v ?? 0 }
        return 0
    }

    /// The backend process serving `c` (its CPU time is read from /proc).
    public static func backendPID(_ c: PostgresConnection) async throws -> Int32 {
        Int32(try await int(c, "SELECT pg_backend_pid()"))
    }

    /// user + system CPU seconds of processes (the server's backends) from /proc/PID/stat; nil if unreadable.
    public static func cpuSeconds(pids: [Int32]) -> Double? {
        let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
        var total = 0.0
        for pid in pids {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 13, let u = Double(fields[11]), let s = Double(fields[12]) else { return nil }
            total += (u + s) / hz
        }
        return total
    }
}

/// A fresh database for one run (the PostgreSQL peer's ``Scratch``), dropped by ``remove()``.
public final class PGDatabase: Sendable {
    public let target: PGTarget
    public let name: String

    private init(target: PGTarget, name: String) {
        self.target = target
        self.name = name
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var counter = 0

    /// Creates `bench_<label>_<pid>_<n>` (label lowercased, other characters as `_`).
    public static func create(_ target: PGTarget, label: String) async throws -> PGDatabase {
        let n = lock.withLock { counter += 1; return counter }
        let safe = String(label.lowercased().map { ($0.isLetter && $0.isASCII) || $0.isNumber ? $0 : "_" })
        let db = PGDatabase(target: target, name: "bench_\(safe)_\(getpid())_\(n)")
        try await db.admin { c in
            try await PG.exec(c, "DROP DATABASE IF EXISTS \(db.name)")
            try await PG.exec(c, "CREATE DATABASE \(db.name)")
        }
        return db
    }

    /// An existing database (the prebuilt ledgers).
    public static func named(_ target: PGTarget, _ name: String) -> PGDatabase { PGDatabase(target: target, name: name) }

    /// Runs `body` on a connection to the `postgres` database.
    public func admin<T>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let c = try await PG.connect(target, database: "postgres")
        do {
            let v = try await body(c)
            try await c.close()
            return v
        } catch {
            try? await c.close()
            throw error
        }
    }

    public func exists() async throws -> Bool {
        try await admin { c in
            try await PG.int(c, "SELECT count(*) FROM pg_database WHERE datname = '\(name)'") == 1
        }
    }

    public func connect(durability: Durability = .durable) async throws -> PostgresConnection {
        try await PG.connect(target, database: name, durability: durability)
    }

    /// Runs `body` on one new connection, closed afterwards.
    public func with<T>(durability: Durability = .durable, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let c = try await connect(durability: durability)
        do {
            let v = try await body(c)
            try await c.close()
            return v
        } catch {
            try? await c.close()
            throw error
        }
    }

    /// pg_database_size: the database's files (tables, indexes, TOAST); the cluster's WAL is not in it.
    public func diskBytes() async -> Int? {
        try? await admin { c in try await PG.int(c, "SELECT pg_database_size('\(name)')") }
    }

    public func remove() async {
        _ = try? await admin { c in try await PG.exec(c, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
    }
}

// MARK: - Workloads 2 and 3: the plain events table

/// PostgreSQL's peer of ``SQLiteStore``: `events(seq bigint identity PRIMARY KEY, stream text,
/// version bigint, id bytea, payload bytea)`, `UNIQUE(stream, version)` and an index on `id`.
/// A batch is one INSERT ... SELECT FROM unnest($1, $2, $3, $4) (one statement, one transaction,
/// one round trip: how a PostgreSQL client sends a batch); a single event is one INSERT in its
/// own (autocommit) transaction.
public enum PostgresStore {
    public static let schema = """
        CREATE TABLE events (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            stream text NOT NULL,
            version bigint NOT NULL,
            id bytea NOT NULL,
            payload bytea NOT NULL
        );
        CREATE UNIQUE INDEX events_stream_version ON events(stream, version);
        CREATE INDEX events_id ON events(id);
        """

    public static func create(_ target: PGTarget, label: String) async throws -> PGDatabase {
        let db = try await PGDatabase.create(target, label: label)
        do {
            try await db.with { c in try await PG.script(c, schema) }
        } catch {
            await db.remove()
            throw error
        }
        return db
    }

    public static func appendBatch(_ c: PostgresConnection, _ rows: ArraySlice<SQLiteRow>) async throws {
        var streams: [String] = [], versions: [Int64] = [], ids: [ByteBuffer] = [], payloads: [ByteBuffer] = []
        streams.reserveCapacity(rows.count); versions.reserveCapacity(rows.count)
        ids.reserveCapacity(rows.count); payloads.reserveCapacity(rows.count)
        for r in rows {
            streams.append(r.stream)
            versions.append(r.version)
            ids.append(ByteBuffer(bytes: r.id))
            payloads.append(ByteBuffer(bytes: r.payload))
        }
        var binds = PostgresBindings(capacity: 4)
        binds.append(streams); binds.append(versions); binds.append(ids); binds.append(payloads)
        try await c.query(PostgresQuery(unsafeSQL: """
            INSERT INTO events (stream, version, id, payload)
            SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::bytea[])
            """, binds: binds), logger: PG.logger)
    }

    public static func appendOne(_ c: PostgresConnection, _ row: SQLiteRow) async throws {
        var binds = PostgresBindings(capacity: 4)
        binds.append(row.stream); binds.append(row.version); try binds.append(row.id); try binds.append(row.payload)
        try await c.query(PostgresQuery(unsafeSQL: "INSERT INTO events (stream, version, id, payload) VALUES ($1, $2, $3, $4)",
                                        binds: binds), logger: PG.logger)
    }

    public static func count(_ c: PostgresConnection) async throws -> Int { try await PG.int(c, "SELECT count(*) FROM events") }
}
