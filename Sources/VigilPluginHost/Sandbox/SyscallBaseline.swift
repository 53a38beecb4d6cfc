import Foundation

/// `unusual_system_call_patterns`: one plugin's watched-syscall counts per window, compared with
/// the distribution that same plugin showed while it was learning.
///
/// Method (documented in `Docs/sandbox.md`, "Unusual system call patterns"):
/// 1. The first `learningWindows` windows only learn: per-syscall totals and the mean window total.
/// 2. Afterwards a window is unusual when any of these holds:
///    - **new syscall**: a syscall with a non-zero count that never occurred while learning;
///    - **rate spike**: the window total exceeds `rateRatio` × the learned mean and by at least
///      `minimumSample` calls (so 0 → 3 calls is not a spike);
///    - **distribution shift**: with at least `minimumSample` calls, Pearson's chi-square of the
///      window against the learned proportions (add-one smoothed) exceeds the critical value at
///      `significance` for k − 1 degrees of freedom (Wilson–Hilferty approximation).
/// The baseline is frozen after learning, so a slow drift cannot teach it an attack.
public struct SyscallBaseline: Sendable, Equatable {
    /// Why a window was unusual.
    public enum Finding: Sendable, Equatable {
        case newSyscall(name: String, count: UInt64)
        case rateSpike(observed: UInt64, expectedMean: Double)
        case distributionShift(chiSquare: Double, critical: Double, largest: String)
    }

    /// The verdict on one window.
    public enum Verdict: Sendable, Equatable {
        case learning(windowsLeft: Int)
        case usual
        case unusual([Finding])
    }

    public var learningWindows: Int
    public var rateRatio: Double
    public var minimumSample: UInt64
    /// The z-score of the significance level (3.09 ≈ p = 0.001, one-sided).
    public var significanceZ: Double

    public private(set) var learnedCounts: [String: UInt64] = [:]
    public private(set) var learnedWindows = 0

    public init(learningWindows: Int = 12, rateRatio: Double = 10, minimumSample: UInt64 = 30, significanceZ: Double = 3.09) {
        self.learningWindows = learningWindows
        self.rateRatio = rateRatio
        self.minimumSample = minimumSample
        self.significanceZ = significanceZ
    }

    public var isLearning: Bool { learnedWindows < learningWindows }

    /// Feeds one window (from `BreachWatcher.takeWindow(plugin:)`) and judges it.
    public mutating func observe(_ window: [String: UInt64]) -> Verdict {
        if isLearning {
            for (name, count) in window { learnedCounts[name, default: 0] += count }
            learnedWindows += 1
            return isLearning ? .learning(windowsLeft: learningWindows - learnedWindows) : .usual
        }
        let findings = judge(window)
        return findings.isEmpty ? .usual : .unusual(findings)
    }

    /// Starts learning again (after an operator accepts a new behaviour, e.g. a plugin upgrade).
    public mutating func relearn() {
        learnedCounts = [:]
        learnedWindows = 0
    }

    func judge(_ window: [String: UInt64]) -> [Finding] {
        var findings: [Finding] = []
        for (name, count) in window.sorted(by: { $0.key < $1.key }) where count > 0 && learnedCounts[name, default: 0] == 0 {
            findings.append(.newSyscall(name: name, count: count))
        }
        let total = window.values.reduce(0, +)
        let learnedTotal = learnedCounts.values.reduce(0, +)
        let mean = Double(learnedTotal) / Double(max(learnedWindows, 1))
        if Double(total) > rateRatio * mean, total >= minimumSample + UInt64(mean.rounded(.up)) {
            findings.append(.rateSpike(observed: total, expectedMean: mean))
        }
        if total >= minimumSample, let shift = chiSquare(window, total: total, learnedTotal: learnedTotal) {
            findings.append(shift)
        }
        return findings
    }

    func chiSquare(_ window: [String: UInt64], total: UInt64, learnedTotal: UInt64) -> Finding? {
        let names = Set(window.keys).union(learnedCounts.keys).sorted()
        guard names.count >= 2 else { return nil }
        let smoothedTotal = Double(learnedTotal) + Double(names.count)
        var statistic = 0.0
        var largest = (name: "", contribution: -1.0)
        for name in names {
            let expected = Double(total) * (Double(learnedCounts[name, default: 0]) + 1) / smoothedTotal
            let observed = Double(window[name, default: 0])
            let contribution = (observed - expected) * (observed - expected) / expected
            statistic += contribution
            if contribution > largest.contribution { largest = (name, contribution) }
        }
        let critical = Self.chiSquareCritical(degreesOfFreedom: Double(names.count - 1), z: significanceZ)
        return statistic > critical ? .distributionShift(chiSquare: statistic, critical: critical, largest: largest.name) : nil
    }

    /// Wilson–Hilferty: χ²(k) quantile ≈ k (1 − 2/(9k) + z √(2/(9k)))³.
    static func chiSquareCritical(degreesOfFreedom k: Double, z: Double) -> Double {
        let a = 2 / (9 * k)
        let base = 1 - a + z * a.squareRoot()
        return k * base * base * base
    }
}
