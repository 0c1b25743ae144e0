import EventLog
import Testing

@Suite struct ParallelTests {
    /// The parts cover `0..<count` exactly once, in order, whatever the count and number of parts.
    @Test func partsCoverEveryIndexOnceInOrder() {
        for count in [0, 1, 2, 3, 255, 256, 1_000, 4_097] {
            for parts in [1, 2, 3, 8] {
                let out = Parallel.map(count, parts: parts) { range in Array(range) }
                #expect(out == Array(0..<count), "count \(count), parts \(parts)")
            }
        }
    }
}
