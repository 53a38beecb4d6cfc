import Testing
import VigilCore
@testable import VigilPluginHost

@Suite struct TokenBucketTests {
    func at(_ ms: Int64) -> Timestamp { Timestamp(nanoseconds: ms * 1_000_000) }

    @Test func aBurstThenTheRateAndDebtIsKept() {
        var bucket = TokenBucket(perSecond: 10, burst: 3, now: at(0))
        #expect((0..<3).map { _ in bucket.spend(now: at(0)) } == [2, 1, 0])
        #expect(bucket.spend(now: at(0)) == -1)             // into debt
        #expect(bucket.spend(now: at(200)) == 0)            // 200 ms earned two, one spent
        bucket.refill(now: at(60_000))
        #expect(bucket.tokens == 3, "never above the burst")
    }

    @Test func aClockThatGoesBackRefillsNothing() {
        var bucket = TokenBucket(perSecond: 1000, burst: 5, now: at(10_000))
        for _ in 0..<5 { bucket.spend(now: at(10_000)) }
        bucket.refill(now: at(0))
        #expect(bucket.tokens == 0)
        bucket.refill(now: at(10_001))
        #expect(bucket.tokens == 1)
    }
}
