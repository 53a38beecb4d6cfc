import Foundation
import Testing
import VigilCore
@testable import VigilIncidents

/// Root-cause help's ranking and the post-mortem section it drafts: pure values in, values out
/// (no clock: every time is fixed relative to the incident's detection).
@Suite struct CauseRankingTests {
    static let detected = monday
    static let map = ComponentDependencies(dependsOn: ["api": ["database", "cache"], "database": ["storage"],
                                                       "web": ["api"], "storage": [], "cache": [], "mail": []])

    static func incident(components: [String] = ["api"]) -> Incident {
        Incident(id: "INC-2026-0009", title: "Checkout returns 502", severity: Severity(code: "P1", rank: 1), source: "test",
                 detectedAt: detected, classification: Classification(affectedComponents: components))
    }

    static func change(_ id: Int64, _ kind: ChangeRecord.Kind, _ component: String?, minutesBefore: Int,
                       summary: String = "release 2026.12.7") -> CauseCandidate {
        CauseCandidate(ChangeRecord(id: id, time: detected - minutes(minutesBefore), kind: kind, component: component,
                                    subject: summary, summary: summary, actor: "ci", recordedAt: detected))
    }

    @Test func nearerInTimeAndInTheMapRanksHigher() {
        let ranked = CauseRanking(map: Self.map).rank(Self.incident(), candidates: [
            Self.change(1, .deploy, "mail", minutesBefore: 2),          // unrelated, just before
            Self.change(2, .deploy, "api", minutesBefore: 12),          // the incident's component
            Self.change(3, .deploy, "database", minutesBefore: 12),     // a direct dependency
            Self.change(4, .infrastructure, "storage", minutesBefore: 12), // transitive
            Self.change(5, .deploy, "web", minutesBefore: 12),          // depends on api
            Self.change(6, .configReload, nil, minutesBefore: 12),      // daemon-wide
            Self.change(7, .deploy, "api", minutesBefore: 23 * 60),     // same component, long ago
        ])
        #expect(ranked.map(\.candidate.reference) == ["change 2", "change 3", "change 4", "change 6", "change 7", "change 5", "change 1"])
        #expect(ranked[0].explanation == "Deploy of api: release 2026.12.7 (by ci), 12m before detection; api is the incident's component")
        #expect(ranked[1].explanation.hasSuffix("database is a direct dependency of api (api → database)"))
        #expect(ranked[2].explanation.hasSuffix("storage is a transitive dependency of api (api → database → storage)"))
        #expect(ranked[5].explanation.hasSuffix("web depends on api (web → api)"))
        #expect(ranked[3].explanation.contains("daemon-wide"))
        #expect(ranked[6].explanation.contains("not connected to api"))
        #expect(ranked.allSatisfy { $0.score > 0 && $0.score <= 1 })
    }

    @Test func onlyWhatPrecededDetectionWithinTheLookbackAndAtMostTheLimit() {
        var map = Self.map
        map.lookback = .seconds(3600)
        map.limit = 2
        let ranked = CauseRanking(map: map).rank(Self.incident(), candidates: [
            Self.change(1, .deploy, "api", minutesBefore: -5),   // after detection
            Self.change(2, .deploy, "api", minutesBefore: 61),   // before the lookback
            Self.change(3, .deploy, "api", minutesBefore: 30),
            Self.change(4, .deploy, "cache", minutesBefore: 30),
            Self.change(5, .deploy, "database", minutesBefore: 40),
            CauseCandidate(reference: "incident INC-2026-0009", origin: .incident(severity: "P1"), time: Self.detected,
                           components: ["api"], subject: "itself"),
        ])
        #expect(ranked.map(\.candidate.reference) == ["change 3", "change 4"])
    }

    @Test func otherIncidentsAndContainmentActionsAreExplained() {
        let ranked = CauseRanking(map: Self.map).rank(Self.incident(), candidates: [
            CauseCandidate(reference: "incident INC-2026-0007", origin: .incident(severity: "P3"), time: Self.detected - minutes(45),
                           components: ["database"], subject: "Slow queries"),
            CauseCandidate(reference: "action 4", origin: .containment(for: "INC-2026-0007"), time: Self.detected - minutes(40),
                           components: ["database"], subject: "block_ip", actor: nil),
        ])
        #expect(ranked.map(\.explanation) == [
            "Containment action block_ip for INC-2026-0007 of database, 40m before detection; database is a direct dependency of api (api → database)",
            "Incident INC-2026-0007 (P3) of database: Slow queries, 45m before detection; database is a direct dependency of api (api → database)",
        ])
    }

    @Test func theSectionNumbersHypothesesAndKeepsVerdictsAcrossARedraft() throws {
        let ranked = CauseRanking(map: Self.map).rank(Self.incident(), candidates: [
            Self.change(2, .deploy, "api", minutesBefore: 12), Self.change(3, .deploy, "database", minutesBefore: 20),
        ])
        let text = CauseHypothesesSection.draft(ranked, incidentID: "INC-2026-0009", lookback: .seconds(86_400))
        #expect(text.contains("vigil postmortem hypothesis INC-2026-0009 N --confirm|--reject"))
        #expect(text.contains("\n1. [open] Deploy of api: release 2026.12.7 (by ci), 12m before detection; api is the incident's component (change 2; score 0.99)"))
        let confirmed = try CauseHypothesesSection.mark(text, number: 1, verdict: .confirmed, actor: "carol", at: Self.detected, note: "pool halved")
        let rejected = try CauseHypothesesSection.mark(confirmed, number: 2, verdict: .rejected, actor: "dave", at: Self.detected, note: nil)
        #expect(CauseHypothesesSection.verdicts(rejected) == [1: .confirmed, 2: .rejected])
        #expect(rejected.contains("   - confirmed by carol at \(Self.detected.rfc3339): pool halved"))
        // Marking again replaces the note rather than piling them up.
        let again = try CauseHypothesesSection.mark(rejected, number: 1, verdict: .rejected, actor: "carol", at: Self.detected, note: "no")
        #expect(again.components(separatedBy: "by carol").count == 2 && CauseHypothesesSection.verdicts(again)[1] == .rejected)
        // A redraft that ranks a new candidate first keeps each verdict with its reference.
        let reranked = CauseRanking(map: Self.map).rank(Self.incident(), candidates: [
            Self.change(2, .deploy, "api", minutesBefore: 12), Self.change(3, .deploy, "database", minutesBefore: 20),
            Self.change(8, .deploy, "api", minutesBefore: 1),
        ])
        let redrafted = CauseHypothesesSection.carryVerdicts(
            from: rejected, into: CauseHypothesesSection.draft(reranked, incidentID: "INC-2026-0009", lookback: .seconds(86_400)))
        #expect(CauseHypothesesSection.verdicts(redrafted) == [1: .open, 2: .confirmed, 3: .rejected])
        #expect(redrafted.contains("   - confirmed by carol"))
        #expect(throws: CauseHypothesesSection.Failure.noSuchHypothesis(4, known: [1, 2])) {
            try CauseHypothesesSection.mark(text, number: 4, verdict: .confirmed, actor: "carol", at: Self.detected, note: nil)
        }
    }

    @Test func theDraftSaysWhenNothingPreceded() throws {
        let policy = try shippedPolicy()
        let sections = PostMortemDraft(policy: policy).sections(Self.incident(), timeline: [], causes: [], now: Self.detected)
        #expect(sections["possible_causes"]?.hasPrefix("Nothing recorded within 1 day before detection") == true)
        let withCause = PostMortemDraft(policy: policy).sections(Self.incident(), timeline: [],
                                                                 causes: [Self.change(1, .deploy, "database", minutesBefore: 5)],
                                                                 now: Self.detected)
        #expect(withCause["possible_causes"]?.contains("1. [open] Deploy of database") == true)
    }
}
