import Testing
import VigilCore

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

    /// `take` spends only a whole token, and says how long until the next one.
    @Test func takeWaitsForAWholeToken() throws {
        var bucket = TokenBucket(perSecond: 2, burst: 2, now: at(0))
        #expect(bucket.take(now: at(0)) == nil)
        #expect(bucket.take(now: at(0)) == nil)
        #expect(bucket.take(now: at(0)) == .milliseconds(500))
        #expect(bucket.tokens == 0, "a refused take spends nothing")
        #expect(bucket.take(now: at(250)) == .milliseconds(250))
        #expect(bucket.take(now: at(500)) == nil)
    }
}
