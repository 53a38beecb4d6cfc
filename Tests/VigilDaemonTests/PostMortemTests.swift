import Foundation
import Testing
import VigilControl
import VigilCore
@testable import VigilDaemon
import VigilIncidents
import VigilStore
import VigilTestSupport

/// Post-mortem documents through the control commands over a real SQLite file: Vigil's draft
/// from the real timeline and figures, versioned edits, review and approval, the closing gate,
/// Markdown and HTML exports, and bad edits refused with nothing stored.
@Suite struct PostMortemTests {
    typealias View = PostMortemView

    /// A P1 acknowledged after 7 minutes, walked to resolved with a root cause, a comment on the way.
    static func resolvedP1() async throws -> (ControlRig, String) {
        let rig = try await ControlRig()
        let i = try await rig.service.declare(ClassificationInput(title: "Checkout returns 502", severity: "P1", components: ["api"]),
                                              actor: "bob")
        rig.clock.advance(by: minutes(7))
        _ = try await rig.service.acknowledge(i.id, actor: "alice", note: "looking")
        _ = try await rig.service.comment(i.id, text: "the 14:02 deploy looks suspicious", statusUpdate: false, eta: nil, actor: "dave")
        let flow: [IncidentState] = [.containing, .contained, .investigating, .remediating, .recovering, .validating]
        let current = try #require(try await rig.store.incident(id: i.id)).state
        for state in flow[((flow.firstIndex(of: current) ?? -1) + 1)...] {
            rig.clock.advance(by: minutes(1))
            _ = try await rig.service.transition(i.id, to: state, reason: "step", actor: "alice")
        }
        rig.clock.advance(by: minutes(1))
        _ = try await rig.service.resolve(i.id, request: ResolutionRequest(verification: "5xx under 0.1% for 10 minutes",
                                                                           summary: "rolled back the release",
                                                                           rootCause: "a connection-pool limit halved by the release"),
                                          actor: "alice")
        return (rig, i.id)
    }

    static func text(_ v: View, _ key: String) -> String { v.sections.first { $0.key == key }?.text ?? "" }

    @Test func vigilDraftsItFromTheRealTimelineAndFigures() async throws {
        let (rig, id) = try await Self.resolvedP1()
        let v1 = try await rig.run("postmortem.edit", ["id": .string(id)]).decode(View.self)
        #expect(v1.version == 1 && v1.state == "draft" && v1.author == "alice")
        #expect(Self.text(v1, "summary").contains("Checkout returns 502 (P1 Critical)"))
        #expect(Self.text(v1, "summary").contains("Resolved: rolled back the release (verified: 5xx under 0.1% for 10 minutes)."))
        #expect(Self.text(v1, "impact").contains("- Severity: P1 Critical") && Self.text(v1, "impact").contains("- Components: api"))
        #expect(Self.text(v1, "root_cause") == "a connection-pool limit halved by the release")
        #expect(Self.text(v1, "response_times").contains("- Time to acknowledge: 7m"))
        #expect(Self.text(v1, "response_times").contains("- Time to resolve: 14m"))
        #expect(Self.text(v1, "responders_notes").contains("dave: the 14:02 deploy looks suspicious"))
        // The timeline section is the incident's own record.
        let timeline = try await rig.store.timeline(incidentID: id)
        let ack = try #require(timeline.first { $0.kind == .acknowledged })
        #expect(Self.text(v1, "timeline").contains("- \(ack.time.rfc3339) alice: \(ack.message)"))
        #expect(Self.text(v1, "timeline").contains("→ resolved") || Self.text(v1, "timeline").contains("Resolved"))
        #expect(Self.text(v1, "went_well").isEmpty && Self.text(v1, "five_whys").isEmpty)
        #expect(timeline.last?.message == "Post-mortem v1 drafted")
    }

    @Test func aTeamOfOneMaySelfApproveWhenConfigured() async throws {
        let (rig, id) = try await Self.resolvedP1()
        var policy = await rig.service.policy
        policy.handling.postMortemSelfApproval = true
        await rig.service.replace(policy: policy, templates: .builtIn)
        _ = try await rig.run("postmortem.edit", ["id": .string(id)])
        _ = try await rig.run("postmortem.review", ["id": .string(id), "action": .string("submit")])
        let approved = try await rig.run("postmortem.review", ["id": .string(id), "action": .string("approve")]).decode(View.self)
        #expect(approved.state == "approved" && approved.approvedBy == "alice")
    }

    @Test func editedReviewedApprovedThenTheIncidentCloses() async throws {
        let (rig, id) = try await Self.resolvedP1()
        _ = try await rig.service.transition(id, to: .postMortem, reason: "review scheduled", actor: "alice")
        // Not closed without an approved document.
        let early = await rig.refusal("incidents.transition", ["id": .string(id), "state": .string("closed"), "reason": .string("done")])
        #expect(early?.kind == .conflict && early?.description.contains("its post-mortem is not written yet") == true)
        _ = try await rig.run("postmortem.edit", ["id": .string(id)])
        let v2 = try await rig.run("postmortem.edit", ["id": .string(id), "note": .string("review notes"), "sections": .object([
            "went_well": .string("- the rollback took 2 minutes"),
            "five_whys": .string("1. Why 502s? The pool was exhausted.\n2. Why? Its limit was halved."),
        ])]).decode(View.self)
        #expect(v2.version == 2 && Self.text(v2, "went_well") == "- the rollback took 2 minutes")
        // A redraft rewrites Vigil's sections and keeps the people's.
        _ = try await rig.service.comment(id, text: "pool limit restored in the config", statusUpdate: false, eta: nil, actor: "dave")
        let v3 = try await rig.run("postmortem.edit", ["id": .string(id), "redraft": .bool(true)]).decode(View.self)
        #expect(Self.text(v3, "went_well") == "- the rollback took 2 minutes")
        #expect(Self.text(v3, "responders_notes").contains("dave: pool limit restored in the config"))
        #expect(!Self.text(v2, "responders_notes").contains("pool limit restored"))
        #expect(try await rig.run("postmortem.review", ["id": .string(id), "action": .string("submit")]).decode(View.self).state == "in-review")
        let blocked = await rig.refusal("incidents.transition", ["id": .string(id), "state": .string("closed"), "reason": .string("done")])
        #expect(blocked?.description.contains("its post-mortem v4 is in-review, not approved") == true)
        // Four eyes: alice submitted it, so alice does not approve it.
        let own = await rig.refusal("postmortem.review", ["id": .string(id), "action": .string("approve")])
        #expect(own?.kind == .conflict && own?.description.contains("another person approves it") == true, "\(own?.description ?? "approved")")
        let approved = try await rig.run("postmortem.review", ["id": .string(id), "action": .string("approve")],
                                         as: .http(person: "carol", role: "responder")).decode(View.self)
        #expect(approved.state == "approved" && approved.approvedBy == "carol" && approved.version == 5)
        #expect(await rig.refusal("postmortem.edit", ["id": .string(id), "sections": .object(["lessons": .string("x")])])?.kind == .conflict)
        #expect(await rig.refusal("postmortem.review", ["id": .string(id), "action": .string("approve")])?.kind == .conflict)
        _ = try await rig.run("incidents.transition", ["id": .string(id), "state": .string("closed"), "reason": .string("published")])
        #expect(try await rig.store.incident(id: id)?.state == .closed)
        // Every version is kept; an earlier one reads as it was.
        let shown = try await rig.run("postmortem.show", ["id": .string(id), "version": .number(2)]).decode(View.self)
        #expect(shown.version == 2 && shown.state == "draft" && shown.versions?.map(\.state) == ["draft", "draft", "draft", "in-review", "approved"])
        let lines = try await rig.store.timeline(incidentID: id).filter { $0.kind == .postMortem }.map(\.message)
        #expect(lines.suffix(5) == ["Post-mortem v1 drafted", "Post-mortem v2 edited (five_whys, went_well): review notes",
                                    "Post-mortem v3 redrafted", "Post-mortem v4 submitted for review by alice",
                                    "Post-mortem v5 approved by carol"])
    }

    @Test func exportsAsMarkdownAndHTMLWithEveryTextEscaped() async throws {
        let (rig, id) = try await Self.resolvedP1()
        _ = try await rig.run("postmortem.edit", ["id": .string(id), "sections": .object([
            "lessons": .string("- <script>alert(1)</script> & more\nPlain \"quoted\" line")])])
        let md = try #require(try await rig.run("postmortem.show", ["id": .string(id), "format": .string("markdown")]).decode(View.self).markdown)
        #expect(md.hasPrefix("# Post-mortem: \(id) — Checkout returns 502\n"))
        #expect(md.contains("\n## What went well\n\n_(to be written)_\n") && md.contains("\n## Lessons learned\n\n- <script>"))
        let html = try #require(try await rig.run("postmortem.show", ["id": .string(id), "format": .string("html")]).decode(View.self).html)
        #expect(html.contains("<li>&lt;script&gt;alert(1)&lt;/script&gt; &amp; more</li>"))
        #expect(html.contains("<p>Plain &quot;quoted&quot; line</p>") || html.contains("<p>Plain &#34;quoted&#34; line</p>") || html.contains("<p>Plain \"quoted\" line</p>"))
        #expect(!html.contains("<script>"))
    }

    @Test func badEditsAreRefusedWithNothingStored() async throws {
        let (rig, id) = try await Self.resolvedP1()
        _ = try await rig.run("postmortem.edit", ["id": .string(id)])
        func refusal(_ args: [String: JSONValue]) async -> String? {
            await rig.refusal("postmortem.edit", args.merging(["id": .string(id)]) { $1 })?.description
        }
        #expect(await refusal(["sections": .object(["blame": .string("bob")])])?.hasPrefix("sections: \"blame\" is not a section; the sections are summary") == true)
        #expect(await refusal(["sections": .object(["lessons": .string(String(repeating: "x", count: 65_537))])]) == "sections.lessons: 65537 bytes; at most 65536")
        #expect(await refusal(["sections": .object(["lessons": .string("a\u{1B}[2Jb")])]) == "sections.lessons: contains control characters")
        #expect(await refusal(["sections": .object(["lessons": .number(3)])]) == "sections.lessons: expected text")
        #expect(await refusal(["sections": .string("lessons")]) == "sections: expected an object of section names to texts")
        #expect(await rig.refusal("postmortem.review", ["id": .string(id), "action": .string("publish")])?.description == "action: expected submit, approve or reopen")
        #expect(await rig.refusal("postmortem.review", ["id": .string(id), "action": .string("approve")])?.kind == .conflict)
        #expect(await rig.refusal("postmortem.edit", ["id": .string("INC-2026-9999")])?.kind == .notFound)
        #expect(await rig.refusal("postmortem.show", ["id": .string(id), "format": .string("pdf")])?.description == "format: \"pdf\" is not one of json, markdown, html")
        #expect(try await rig.store.postMortemVersions(incidentID: id).count == 1)
    }
}
