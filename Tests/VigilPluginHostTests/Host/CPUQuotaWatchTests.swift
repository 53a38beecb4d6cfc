import Testing
import VigilCore
@testable import VigilPluginHost

@Suite struct CPUQuotaWatchTests {
    func at(_ seconds: Int) -> Timestamp { Timestamp(nanoseconds: Int64(seconds) * 1_000_000_000) }

    @Test func aRunThrottledInMostPeriodsForTheLimitIsOverIt() {
        var watch = CPUQuotaWatch(limit: .seconds(3))
        #expect(watch.sample(periods: 100, throttled: 50, at: at(10)) == nil)  // the first sample only sets a base
        #expect(watch.sample(periods: 110, throttled: 59, at: at(11)) == nil)
        #expect(watch.sample(periods: 120, throttled: 68, at: at(12)) == nil)
        let cause = watch.sample(periods: 130, throttled: 77, at: at(13))
        #expect(cause?.contains("CPU limit (held at its quota, throttled in 9 of its last 10") == true, "\(String(describing: cause))")
    }

    @Test func aSecondBelowHalfStartsTheStretchAgain() {
        var watch = CPUQuotaWatch(limit: .seconds(3))
        _ = watch.sample(periods: 0, throttled: 0, at: at(0))
        #expect(watch.sample(periods: 10, throttled: 10, at: at(1)) == nil)
        #expect(watch.sample(periods: 20, throttled: 20, at: at(2)) == nil)
        #expect(watch.sample(periods: 30, throttled: 24, at: at(3)) == nil)  // 4 of 10: not held
        #expect(watch.sample(periods: 40, throttled: 34, at: at(4)) == nil)
        #expect(watch.sample(periods: 50, throttled: 44, at: at(5)) == nil)
        #expect(watch.sample(periods: 60, throttled: 54, at: at(6)) != nil)
    }

    @Test func anIdleOrLightRunIsNeverOver() {
        var watch = CPUQuotaWatch(limit: .seconds(1))
        for second in 0..<100 {
            // No runnable periods at all (idle), then some periods without throttling.
            let periods = UInt64(second < 50 ? 0 : second * 10)
            #expect(watch.sample(periods: periods, throttled: 0, at: at(second)) == nil)
        }
    }

    @Test func countersThatGoBackAreANewBase() {
        var watch = CPUQuotaWatch(limit: .seconds(2))
        _ = watch.sample(periods: 1000, throttled: 1000, at: at(0))
        #expect(watch.sample(periods: 1010, throttled: 1010, at: at(1)) == nil)
        #expect(watch.sample(periods: 5, throttled: 5, at: at(2)) == nil)
        #expect(watch.sample(periods: 15, throttled: 15, at: at(3)) == nil)
        #expect(watch.sample(periods: 25, throttled: 25, at: at(4)) != nil)  // held from 2 (the new base) to 4
    }
}
