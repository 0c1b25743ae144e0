import Foundation
import LMDB
#if canImport(Glibc)
import Glibc
#endif

/// The lock a replay holds for as long as it runs: an advisory `flock` on `log/replay.lock`
/// (docs/FORMAT.md). A replay fills the inactive generation in many transactions; what it
/// leaves there when it is stopped (a crash, `kill -9`) looks like a replay still running,
/// except that no process holds this lock. The system releases it when the process ends,
/// however it ends.
enum ReplayLock {
    static func path(_ environment: Environment) -> String { environment.path + "/replay.lock" }

    /// Runs `body` holding the lock, first waiting for a replay of another process to finish.
    static func holding<T>(_ environment: Environment, _ body: () throws -> T) throws -> T {
        let fd = try openForLocking(environment)
        defer { close(fd) }  // closing releases the lock
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw LMDBError(code: errno, context: "lock \(path(environment))") }
        }
        return try body()
    }

    /// Runs `body` holding the lock when no replay holds it; nil, without running it, when one does.
    static func ifFree<T>(_ environment: Environment, _ body: () throws -> T) throws -> T? {
        let fd = try openForLocking(environment)
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return nil }
        return try body()
    }

    /// The lock file, created when missing, open for `flock`.
    private static func openForLocking(_ environment: Environment) throws -> Int32 {
        let fd = open(path(environment), O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LMDBError(code: errno, context: "open \(path(environment))") }
        return fd
    }

    /// True when a replay holds the lock now. Reads only: a missing or unreadable lock file
    /// means that no replay holds it.
    static func isHeld(_ environment: Environment) -> Bool {
        let fd = open(path(environment), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK
    }
}
