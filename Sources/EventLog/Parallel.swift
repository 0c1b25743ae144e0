import Foundation

/// Work cut into contiguous parts run on several threads at once (`DispatchQueue.concurrentPerform`),
/// the results joined in order: decoding, preparing and checking batches on every core.
public enum Parallel {
    /// `body(range)` for each of `parts` contiguous ranges of `0..<count`, run at once; their
    /// results in the ranges' order. One part runs on the calling thread.
    public static func map<T>(_ count: Int, parts: Int, _ body: @Sendable (Range<Int>) -> [T]) -> [T] {
        let parts = max(1, min(parts, count))
        if parts == 1 { return body(0..<count) }
        let slots = Slots<T>(parts)
        slots.results.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let base = buffer.baseAddress!
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                base[part] = body((count * part / parts)..<(count * (part + 1) / parts))
            }
        }
        return slots.results.flatMap { $0 }
    }
}

/// Each part's results, written by its own thread only.
private final class Slots<T>: @unchecked Sendable {
    var results: [[T]]
    init(_ n: Int) { results = Array(repeating: [], count: n) }
}
