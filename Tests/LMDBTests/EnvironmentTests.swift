import Foundation
import Testing
@testable import LMDB

func temporaryDirectory(_ name: String = #function) -> String {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("lmdb-tests-\(UUID().uuidString)").path
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

@Suite struct EnvironmentTests {
    @Test func putGetAndCursorOrderIntegerKeys() throws {
        let env = try Environment(path: temporaryDirectory())
        let db = try env.openDatabase("numbers")
        try env.write { txn in
            for i: UInt64 in [3, 1, 256, 2] {
                try BigEndianKey.with(i) { k in try Array("v\(i)".utf8).withUnsafeBytes { try txn.put(db, key: k, value: $0) } }
            }
        }
        let keys: [UInt64] = try env.read { txn in
            try txn.withCursor(db) { c in
                var out: [UInt64] = []
                var e = try c.first()
                while let entry = e { out.append(BigEndianKey.uint64(entry.key)); e = try c.next() }
                return out
            }
        }
        #expect(keys == [1, 2, 3, 256])
        let v = try env.read { txn in try txn.get(db, key: 256).map { String(decoding: $0, as: UTF8.self) } }
        #expect(v == "v256")
        let atMost = try env.read { txn in try txn.withCursor(db) { try $0.seek(atMost: 100).map { BigEndianKey.uint64($0.key) } } }
        #expect(atMost == 3)
    }

    @Test func throwingWriteCommitsNothing() throws {
        struct Boom: Error {}
        let env = try Environment(path: temporaryDirectory())
        let db = try env.openDatabase("d")
        #expect(throws: Boom.self) {
            try env.write { txn in
                try txn.put(db, key: [1], value: [1])
                throw Boom()
            }
        }
        #expect(try env.read { try $0.count(db) } == 0)
    }

    @Test func nestedTransactionDiscardsOnlyItsWrites() throws {
        struct Boom: Error {}
        let env = try Environment(path: temporaryDirectory())
        let db = try env.openDatabase("d")
        try env.write { txn in
            try txn.put(db, key: [1], value: [1])
            _ = try? txn.nested { child in
                try child.put(db, key: [2], value: [2])
                throw Boom()
            }
            try txn.nested { child in try child.put(db, key: [3], value: [3]) }
        }
        let keys = try env.read { txn in try [1, 2, 3].map { try txn.get(db, key: [UInt8($0)]) != nil } }
        #expect(keys == [true, false, true])
    }

    /// An environment whose map starts at 1 MiB, with one database "d".
    func oneMebibyteMap(_ name: String = #function) throws -> (Environment, Database) {
        var options = Environment.Options()
        options.mapSize = 1 << 20
        let env = try Environment(path: temporaryDirectory(name), options: options)
        return (env, try env.openDatabase("d"))
    }

    @Test func mapGrowsFromOneMebibyte() throws {
        let (env, db) = try oneMebibyteMap()
        let value = [UInt8](repeating: 7, count: 1000)
        for batch in 0..<20 {
            try env.write { txn in
                for i in 0..<1000 {
                    try txn.put(db, key: BigEndianKey.bytes(UInt64(batch * 1000 + i)), value: value, flags: .append)
                }
            }
        }
        #expect(try env.read { try $0.count(db) } == 20_000)
        #expect(env.mapSize > 20_000_000)
    }

    /// A write that would not fit is not done twice: the map grows before it when the caller
    /// says how much it may add, or when an earlier transaction of the process took as much.
    @Test func aWriteThatMightNotFitGrowsTheMapFirst() throws {
        let (env, db) = try oneMebibyteMap()
        let value = [UInt8](repeating: 7, count: 1000)
        var next: UInt64 = 0
        /// Puts 6 MiB in one transaction; returns how many times the closure ran.
        func bigWrite(reserving bytes: Int) throws -> Int {
            var attempts = 0
            let first = next
            try env.write(reserving: bytes) { txn in
                attempts += 1
                next = first
                for _ in 0..<6_000 {
                    try txn.put(db, key: BigEndianKey.bytes(next), value: value, flags: .append)
                    next += 1
                }
            }
            return attempts
        }
        // Unannounced, the first one meets MDB_MAP_FULL (1 MiB → 2 → 4 → 8 MiB): it runs four times.
        #expect(try bigWrite(reserving: 0) == 4)
        // The next one of the same size finds room kept for it: it runs once.
        #expect(try bigWrite(reserving: 0) == 1)
        // Announced, even a larger one runs once.
        #expect(try bigWrite(reserving: 64 << 20) == 1)
        #expect(env.mapSize >= (64 << 20))
        #expect(try env.read { try $0.count(db) } == 18_000)
    }

    @Test func filesAreCreatedOwnerOnly() throws {
        let dir = temporaryDirectory()
        _ = try Environment(path: dir)
        let attrs = try FileManager.default.attributesOfItem(atPath: dir + "/data.mdb")
        #expect((attrs[.posixPermissions] as? Int) == 0o600)
    }

    @Test func secondOpenInOneProcessIsRefused() throws {
        let dir = temporaryDirectory()
        let env = try Environment(path: dir)
        #expect(throws: LMDBError.self) { _ = try Environment(path: dir) }
        withExtendedLifetime(env) {}
    }

    @Test func readOnlyOpenRefusesWrites() throws {
        let dir = temporaryDirectory()
        do {
            let env = try Environment(path: dir)
            let db = try env.openDatabase("d")
            try env.write { try $0.put(db, key: [1], value: [9]) }
        }
        var options = Environment.Options()
        options.readOnly = true
        let ro = try Environment(path: dir, options: options)
        let db = try ro.openDatabase("d")
        #expect(try ro.read { try $0.get(db, key: [1]) } == [9])
        let error = #expect(throws: LMDBError.self) { try ro.write { try $0.put(db, key: [2], value: [2]) } }
        #expect(error?.isReadOnly == true)
    }

    @Test func errorsCarryCodeMessageAndContext() throws {
        let env = try Environment(path: temporaryDirectory())
        let db = try env.openDatabase("d")
        try env.write { try $0.put(db, key: [1], value: [1]) }
        let error = #expect(throws: LMDBError.self) {
            try env.write { try $0.put(db, key: [1], value: [2], flags: .noOverwrite) }
        }
        #expect(error?.isKeyExists == true)
        #expect(error?.context.contains("mdb_put(d)") == true)
        #expect(error?.message.isEmpty == false)
    }
}
