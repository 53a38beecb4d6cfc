import Foundation
import Testing
import VigilConfig
import VigilCore

/// `incidents.targets`: the response-time goals the metrics report checks.
@Suite struct ResponseTargetConfigTests {
    @Test func theShippedTargetIsSeed004sDetectionGoal() throws {
        let policy = try ConfigLoader.load(path: defaultConfigPath).policy
        #expect(policy.handling.targets == [ResponseTarget(name: "MTTD under 5 minutes for P1/P2", phase: .detect,
                                                           statistic: .mean, below: .seconds(300), severities: ["P1", "P2"])])
    }

    @Test func leftOutItIsTheSeedsAndAnEmptyListChecksNone() throws {
        let shipped = try defaultConfigText()
        let start = try #require(shipped.range(of: "  # Response-time goals"))
        let end = try #require(shipped.range(of: "      severities: [Critical, High]\n", range: start.upperBound..<shipped.endIndex))
        let without = shipped.replacingCharacters(in: start.lowerBound..<end.upperBound, with: "")
        let policy = try ConfigLoader.load(path: try writeConfig(without)).policy
        #expect(policy.handling.targets == [.seedDetection])
        #expect(ResponseTarget.seedDetection.codes(on: policy.ladder) == ["P1", "P2"])
        let none = try ConfigLoader.load(path: try writeConfig(without.replacingOccurrences(
            of: "    within: 48 hours\n", with: "    within: 48 hours\n  targets: []\n"))).policy
        #expect(none.handling.targets.isEmpty)
    }

    @Test func badTargetsAreNamedWhereTheyAre() throws {
        let text = try defaultConfigText().replacingOccurrences(of: """
                - name: MTTD under 5 minutes for P1/P2
                  phase: detect
                  statistic: mean
                  below: 5 minutes
                  severities: [Critical, High]
            """, with: """
                - phase: detect
                  statistic: average
                  below: 5 minutes
                - phase: triage
                  below: 1 hour
                - phase: resolve
                  below: whenever
                - phase: acknowledge
                  below: 10 minutes
                  severities: [Urgent]
                - phase: contain
                  below: 1 hour
                  owner: bob
                - statistic: p90
                  below: 1 hour
            """)
        let errs = try errors(of: text).map(\.description)
        #expect(errs.count == 6, "\(errs)")
        func has(_ needle: String, _ message: String) throws {
            let pos = try #require(position(of: needle, in: text))
            #expect(errs.contains { $0.contains("vigil.yaml:\(pos.line):\(pos.column): ") && $0.contains(message) }, "\(needle): \(errs)")
        }
        try has("average", "must be mean, p50, p90, p99, max, found \"average\"")
        try has("triage", "must be detect, acknowledge, contain, resolve, found \"triage\"")
        try has("whenever", "found \"whenever\"")
        try has("Urgent", "unknown severity \"Urgent\"")
        try has("owner", "owner")
        #expect(errs.contains { $0.contains("phase") && $0.contains("missing") }, "\(errs)")
    }
}
