import Foundation

/// Wakes those waiting for the log to grow (a live feed) when this process commits, instead of
/// each of them polling the head. Commits by another process are not seen here: waiters give
/// up after their timeout and look at the head themselves.
public final class CommitSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var count: UInt64 = 0
    private var waiting: [Int: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiter = 0

    /// Commits seen so far: read it before looking at the head, then pass it to ``wait(after:timeout:)``,
    /// so that a commit between the two is not missed.
    public var commits: UInt64 { lock.lock(); defer { lock.unlock() }; return count }

    func committed() {
        lock.lock()
        count &+= 1
        let woken = waiting
        waiting.removeAll(keepingCapacity: true)
        lock.unlock()
        for continuation in woken.values { continuation.resume() }
    }

    /// Returns once a commit after `seen` (a value of ``commits``) has happened, or after `timeout`,
    /// or when the task is cancelled, or at once when one of these already has.
    public func wait(after seen: UInt64, timeout: Duration) async {
        let id: Int = lock.withLock { nextWaiter += 1; return nextWaiter }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                lock.lock()
                if count != seen || Task.isCancelled { lock.unlock(); continuation.resume(); return }
                waiting[id] = continuation
                lock.unlock()
                Task { [weak self] in
                    try? await Task.sleep(for: timeout)
                    self?.expire(id)
                }
            }
        } onCancel: {
            expire(id)
        }
    }

    private func expire(_ id: Int) {
        lock.lock()
        let continuation = waiting.removeValue(forKey: id)
        lock.unlock()
        continuation?.resume()
    }
}
