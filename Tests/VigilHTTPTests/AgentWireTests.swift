import Foundation
import Testing
import VigilCore
import VigilHTTP

/// `POST /api/v1/agents/signals` bodies: the envelope refused whole when wrong, each signal on its own.
@Suite struct AgentWireTests {
    static let now = Timestamp(seconds: 1_800_000_000)

    static func signal(_ n: Int, at: Timestamp = now - .seconds(60), labels: [String: String] = ["host": "web-01"]) -> RuleSignal {
        RuleSignal(transition: .firing, ruleID: "cpu_high", expression: "cpu_usage > 90%", labels: labels,
                   fingerprint: "cpu_high:web-01:\(n)", value: 95, unit: "%", firstHeldAt: at - .seconds(5), at: at)
    }

    static func body(_ items: [(Int64, RuleSignal)], spool: String = "4c81-60de") throws -> [UInt8] {
        Array(AgentWire.encode(spool: spool, spooled: 3, agentVersion: "0.1.0",
                               items: try items.map { ($0.0, try JSONEncoder().encode($0.1)) }))
    }

    static func decode(_ bytes: [UInt8]) -> Result<AgentBatch, AgentWire.Refusal> {
        Result { () throws(AgentWire.Refusal) -> AgentBatch in try AgentWire.decode(bytes, now: now) }
    }

    static func refusal(_ text: String) -> String? {
        if case .failure(let r) = decode(Array(text.utf8)) { return r.message }
        return nil
    }

    @Test func whatTheAgentEncodesTheCentralDaemonReads() throws {
        let batch = try Self.decode(try Self.body([(4, Self.signal(1)), (5, Self.signal(2)), (9, Self.signal(3))])).get()
        #expect(batch.spool == "4c81-60de" && batch.spooled == 3 && batch.agentVersion == "0.1.0")
        #expect(batch.items.map(\.seq) == [4, 5, 9] && batch.refused.isEmpty && batch.lastSeq == 9)
        #expect(batch.items[1].signal == Self.signal(2))
        // A call-in carries no signals and acknowledges nothing.
        let callIn = try Self.decode(try Self.body([])).get()
        #expect(callIn.items.isEmpty && callIn.lastSeq == nil)
    }

    @Test func anAgentClockAheadIsBroughtBackToNow() throws {
        let ahead = Self.signal(1, at: Self.now + .seconds(600))
        let batch = try Self.decode(try Self.body([(1, ahead)])).get()
        #expect(batch.items[0].signal.at == Self.now)
        #expect(batch.items[0].signal.firstHeldAt == Self.now)
    }

    @Test func aBadSignalIsRefusedByItsSeqAndTheOthersKept() throws {
        var manyLabels: [String: String] = [:]
        for i in 0..<(AgentLimits.maximumLabels + 1) { manyLabels["l\(i)"] = "v" }
        var longFingerprint = Self.signal(4)
        longFingerprint.fingerprint = String(repeating: "f", count: AgentLimits.maximumFingerprintBytes + 1)
        let batch = try Self.decode(try Self.body([
            (1, Self.signal(1)),
            (2, Self.signal(2, labels: ["0bad": "x"])),
            (3, Self.signal(3, labels: manyLabels)),
            (4, longFingerprint),
            (5, Self.signal(5, at: Timestamp(seconds: 100))),
            (6, Self.signal(6, labels: ["big": String(repeating: "x", count: AgentLimits.maximumLabelValueBytes + 1)])),
            (7, Self.signal(7)),
        ])).get()
        #expect(batch.items.map(\.seq) == [1, 7])
        #expect(batch.lastSeq == 7)
        let reasons = Dictionary(uniqueKeysWithValues: batch.refused.map { ($0.seq, $0.reason) })
        #expect(reasons[2]?.contains("\"0bad\" is not a label name") == true, "\(reasons)")
        #expect(reasons[3]?.contains("labels has 65 entries; at most 64") == true)
        #expect(reasons[4]?.contains("fingerprint must be 1 to 1024 bytes") == true)
        #expect(reasons[5]?.contains("after 2000-01-01") == true)
        #expect(reasons[6]?.contains("labels.big has 4097 bytes") == true)
        // Wrong types inside a signal name the field, from the signal.
        let typed = try Self.decode(Array(#"{"version":1,"spool":"s","signals":[{"seq":1,"signal":{"transition":"maybe"}},{"seq":2,"signal":[]}]}"#.utf8)).get()
        #expect(typed.items.isEmpty && typed.refused.map(\.seq) == [1, 2])
        #expect(typed.refused[0].reason.hasPrefix("signals[0].signal: transition"), "\(typed.refused)")
    }

    @Test func aBadEnvelopeIsRefusedWholeNamingTheField() throws {
        #expect(Self.refusal("")?.contains("the body is empty") == true)
        #expect(Self.refusal("{")?.contains("not valid JSON") == true)
        #expect(Self.refusal("[]") != nil)
        #expect(Self.refusal(#"{"version":2,"spool":"s","signals":[]}"#) == "version must be 1, found 2")
        #expect(Self.refusal(#"{"version":1,"spool":"../x","signals":[]}"#)?.hasPrefix("spool must be") == true)
        #expect(Self.refusal(#"{"version":1,"spool":"","signals":[]}"#)?.hasPrefix("spool must be") == true)
        #expect(Self.refusal(#"{"version":1,"spool":"s"}"#) == "missing signals")
        #expect(Self.refusal(#"{"version":1,"spool":"s","signals":{}}"#)?.hasPrefix("signals:") == true)
        #expect(Self.refusal(#"{"version":1,"spool":"s","spooled":-1,"signals":[]}"#) == "spooled must be 0 or more")
        #expect(Self.refusal(#"{"version":1,"spool":"s","signals":[{"seq":0,"signal":{}}]}"#) == "signals[0].seq must be above 0")
        #expect(Self.refusal(#"{"version":1,"spool":"s","signals":[{"seq":"1","signal":{}}]}"#)?.hasPrefix("signals[0].seq") == true)
        #expect(Self.refusal(#"{"version":1,"spool":"s","signals":[{"seq":true,"signal":{}}]}"#)?.hasPrefix("signals[0].seq") == true)
        #expect(Self.refusal(#"{"version":1,"spool":"s","signals":[{"seq":3,"signal":{}},{"seq":3,"signal":{}}]}"#)
                == "signals[1].seq 3 does not follow 3: sequence numbers must increase")
        let tooMany = "[" + Array(repeating: #"{"seq":1,"signal":{}}"#, count: AgentLimits.maximumSignalsPerRequest + 1).joined(separator: ",") + "]"
        #expect(Self.refusal(#"{"version":1,"spool":"s","signals":\#(tooMany)}"#) == "signals has 1001 entries; at most 1000 per request")
        #expect(Self.refusal(#"{"version":1,"spool":"s","agent_version":"\#(String(repeating: "v", count: 65))","signals":[]}"#)
                == "agent_version must be at most 64 printable ASCII characters")
        #expect(Self.refusal(#"{"version":1,"spool":"s","agent_version":"1\u001b[2J","signals":[]}"#)
                == "agent_version must be at most 64 printable ASCII characters")
    }

    /// What an agent spools is fitted first, so the central daemon never refuses a genuine signal.
    @Test func aFittedSignalIsNeverRefused() throws {
        var wild = Self.signal(1)
        for i in 0..<300 { wild.labels["l\(i)"] = String(repeating: "é", count: 5000) }
        wild.labels["0bad"] = "x"
        wild.fingerprint = String(repeating: "g", count: 5000)
        wild.description = String(repeating: "d", count: 100_000)
        wild.value = .infinity
        let fitted = AgentWire.fit(wild)
        #expect(fitted.labels.count == AgentLimits.maximumLabels && fitted.labels["agent_labels_dropped"] == "239")
        #expect(fitted.labels.values.allSatisfy { $0.utf8.count <= AgentLimits.maximumLabelValueBytes })
        #expect(fitted.fingerprint.utf8.count <= AgentLimits.maximumFingerprintBytes)
        // Two long fingerprints with the same head stay two incidents.
        var other = wild
        other.fingerprint = String(repeating: "g", count: 4999) + "h"
        #expect(AgentWire.fit(other).fingerprint != fitted.fingerprint)
        #expect(fitted.value == .greatestFiniteMagnitude)
        let batch = try Self.decode(try Self.body([(1, fitted)])).get()
        #expect(batch.refused.isEmpty && batch.items.count == 1, "\(batch.refused)")
        // A signal within the bounds is left as it is.
        #expect(AgentWire.fit(Self.signal(2)) == Self.signal(2))
    }

    @Test func resultsAreBounded() {
        let long = AgentCommandResult(id: "1", ok: true, unavailable: false,
                                      detail: String(repeating: "é", count: AgentCommandResult.maximumDetailBytes),
                                      evidence: ["blob": .string(String(repeating: "x", count: AgentCommandResult.maximumEvidenceBytes))])
        let bounded = long.bounded()
        #expect(bounded.detail.utf8.count <= AgentCommandResult.maximumDetailBytes + 3)
        #expect(bounded.evidence.keys.sorted() == ["truncated"])
        let small = AgentCommandResult(id: "2", ok: false, unavailable: true, detail: "none here", evidence: ["a": .number(1)])
        #expect(small.bounded() == small)
    }
}
