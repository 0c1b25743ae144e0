/// xoshiro256** (Blackman and Vigna), seeded through SplitMix64: a small,
/// fast generator whose whole sequence is fixed by its seed. The simulator
/// never touches the system generator.
///
///     var g = Xoshiro256StarStar(seed: 42)
///     g.next()          // the same value on every run and platform
///     g.below(6)        // 0..<6
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable, Hashable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// A generator whose state is expanded from `seed` with SplitMix64.
    public init(seed: UInt64) {
        var sm = seed
        s0 = splitMix64(&sm)
        s1 = splitMix64(&sm)
        s2 = splitMix64(&sm)
        s3 = splitMix64(&sm)
    }

    /// The next 64 random bits.
    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    /// A uniform value in `0 ..< 1` with 53 random bits.
    @inline(__always)
    public mutating func unit() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// A uniform integer in `0 ..< n` (`n > 0`), by multiply-shift.
    @inline(__always)
    public mutating func below(_ n: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(n)).high)
    }

    /// A uniform integer in `lower ... upper`.
    @inline(__always)
    public mutating func between(_ lower: Int, _ upper: Int) -> Int {
        lower + below(upper - lower + 1)
    }

    /// A uniform `Int64` in `lower ... upper`.
    @inline(__always)
    public mutating func between(_ lower: Int64, _ upper: Int64) -> Int64 {
        lower + Int64(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(upper - lower + 1)).high)
    }

    /// True with probability `p`.
    @inline(__always)
    public mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// A uniform value in `lower ..< upper`.
    @inline(__always)
    public mutating func uniform(_ lower: Double, _ upper: Double) -> Double {
        lower + (upper - lower) * unit()
    }

    /// The index picked by relative `weights` (not all zero).
    @inline(__always)
    mutating func pick(_ weights: [Int]) -> Int {
        var total = 0
        for w in weights { total += w }
        var r = below(total)
        for (i, w) in weights.enumerated() {
            if r < w { return i }
            r -= w
        }
        return weights.count - 1
    }
}

@inline(__always)
private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

/// One SplitMix64 step: advances `state` and returns the mixed output.
@inline(__always)
func splitMix64(_ state: inout UInt64) -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    return mix64(state)
}

/// SplitMix64's finaliser: a bijection of 64-bit values that scatters bits.
@inline(__always)
func mix64(_ value: UInt64) -> UInt64 {
    var z = value
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
