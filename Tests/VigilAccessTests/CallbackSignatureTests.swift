import Testing
import VigilAccess
import VigilCore

/// Lowercase hex, as Slack and PagerDuty send it.
func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0f)]] })
}

/// Slack's v0 request signatures and PagerDuty's v1 webhook signatures, against a manual clock.
@Suite struct CallbackSignatureTests {
    static let secret = Array("8f742231b10e8888abcd99yyyzzz85a5".utf8)
    static let body = Array("payload=%7B%22type%22%3A%22block_actions%22%7D".utf8)
    static let sentAt: Int64 = 1_796_000_000

    static func slackSignature(_ body: [UInt8], timestamp: String, secret: [UInt8] = secret) -> String {
        "v0=" + hex(AccessCrypto.hmacSHA256(key: secret, message: Array("v0:\(timestamp):".utf8) + body))
    }

    static func clock(offsetSeconds: Int64) -> ManualClock {
        ManualClock(Timestamp(nanoseconds: (sentAt + offsetSeconds) * 1_000_000_000))
    }

    /// A known vector computed independently (Python's hmac over the same base string), so the
    /// base string's layout is checked, not only that signing and checking agree.
    @Test func slackBaseStringMatchesAnIndependentComputation() {
        #expect(Self.slackSignature(Self.body, timestamp: "1796000000")
            == "v0=b455a330e6642a4186ab6998892714d0ba7ee09c552ce0c17d9b60a66c372f5a")
    }

    @Test func slackAcceptsAFreshSignatureOnce() throws {
        let verifier = SlackRequestVerifier(signingSecret: Self.secret, clock: Self.clock(offsetSeconds: 10))
        let ts = String(Self.sentAt)
        try verifier.verify(timestamp: ts, signature: Self.slackSignature(Self.body, timestamp: ts), body: Self.body)
        #expect(throws: CallbackSignatureError.replayed) {
            try verifier.verify(timestamp: ts, signature: Self.slackSignature(Self.body, timestamp: ts), body: Self.body)
        }
        // Uppercase hex is the same signature, so it is the same replay.
        #expect(throws: CallbackSignatureError.replayed) {
            try verifier.verify(timestamp: ts, signature: "v0=" + Self.slackSignature(Self.body, timestamp: ts).dropFirst(3).uppercased(),
                                body: Self.body)
        }
    }

    @Test func slackRefusesWhatIsNotSignedWithTheSecret() {
        let verifier = SlackRequestVerifier(signingSecret: Self.secret, clock: Self.clock(offsetSeconds: 0))
        let ts = String(Self.sentAt)
        let good = Self.slackSignature(Self.body, timestamp: ts)
        #expect(throws: CallbackSignatureError.badSignature) {
            try verifier.verify(timestamp: ts, signature: Self.slackSignature(Self.body, timestamp: ts, secret: Array("other".utf8)),
                                body: Self.body)
        }
        #expect(throws: CallbackSignatureError.badSignature) {
            try verifier.verify(timestamp: ts, signature: good, body: Self.body + [0x20])
        }
        // The timestamp is signed: moving it breaks the signature.
        #expect(throws: CallbackSignatureError.badSignature) {
            try verifier.verify(timestamp: String(Self.sentAt + 1), signature: good, body: Self.body)
        }
        #expect(throws: CallbackSignatureError.missingHeader("X-Slack-Signature")) {
            try verifier.verify(timestamp: ts, signature: nil, body: Self.body)
        }
        #expect(throws: CallbackSignatureError.missingHeader("X-Slack-Request-Timestamp")) {
            try verifier.verify(timestamp: nil, signature: good, body: Self.body)
        }
        for bad in ["v1=" + good.dropFirst(3), String(good.dropLast()), good + "0", "v0=" + String(repeating: "g", count: 64), ""] {
            #expect(throws: CallbackSignatureError.malformedHeader("X-Slack-Signature"), "\(bad)") {
                try verifier.verify(timestamp: ts, signature: bad, body: Self.body)
            }
        }
        for bad in ["", "-1", "1e9", " 1796000000", "17960000000", "99999999999999999999", "1796000000.5"] {
            #expect(throws: CallbackSignatureError.malformedHeader("X-Slack-Request-Timestamp"), "\(bad)") {
                try verifier.verify(timestamp: bad, signature: good, body: Self.body)
            }
        }
    }

    /// Five minutes either way of the daemon's clock, and not a second more.
    @Test(arguments: [(Int64(300), true), (301, false), (-300, true), (-301, false), (86_400, false), (-86_400, false)])
    func slackWindow(offset: Int64, accepted: Bool) {
        let verifier = SlackRequestVerifier(signingSecret: Self.secret, clock: Self.clock(offsetSeconds: offset))
        let ts = String(Self.sentAt)
        let outcome = Result { () throws(CallbackSignatureError) in
            try verifier.verify(timestamp: ts, signature: Self.slackSignature(Self.body, timestamp: ts), body: Self.body)
        }
        switch outcome {
        case .success: #expect(accepted)
        case .failure(let e): #expect(!accepted && e == .stale(seconds: offset), "\(e)")
        }
    }

    /// The replay memory forgets a signature once its timestamp has left the window (the age check
    /// refuses it from then on), and refuses new ones rather than forget one when full.
    @Test func replayMemoryIsBounded() {
        let memory = ReplayMemory(capacity: 2)
        let t0 = Timestamp(nanoseconds: 1_000_000_000_000)
        #expect(memory.admit("a", until: t0 + .seconds(300), now: t0) == .new)
        #expect(memory.admit("b", until: t0 + .seconds(310), now: t0) == .new)
        #expect(memory.admit("a", until: t0 + .seconds(300), now: t0 + .seconds(100)) == .seen)
        #expect(memory.admit("c", until: t0 + .seconds(400), now: t0 + .seconds(100)) == .full)
        #expect(memory.admit("c", until: t0 + .seconds(400), now: t0 + .seconds(305)) == .new, "a expired and made room")
        #expect(memory.count == 2)
        #expect(memory.admit("a", until: t0 + .seconds(600), now: t0 + .seconds(305)) == .full)
    }

    @Test func slackReplayMemoryFullRefuses() throws {
        let verifier = SlackRequestVerifier(signingSecret: Self.secret, clock: Self.clock(offsetSeconds: 0), replayCapacity: 1)
        let ts = String(Self.sentAt)
        try verifier.verify(timestamp: ts, signature: Self.slackSignature(Self.body, timestamp: ts), body: Self.body)
        let other = Self.body + Array("&x=1".utf8)
        #expect(throws: CallbackSignatureError.replayMemoryFull) {
            try verifier.verify(timestamp: ts, signature: Self.slackSignature(other, timestamp: ts), body: other)
        }
    }

    // MARK: PagerDuty

    static func pagerDutySignature(_ body: [UInt8], secret: [UInt8]) -> String {
        "v1=" + hex(AccessCrypto.hmacSHA256(key: secret, message: body))
    }

    @Test func pagerDutyAnyOfSeveralSignaturesMayMatch() throws {
        let body = Array(#"{"event":{"event_type":"incident.acknowledged"}}"#.utf8)
        let secret = Array("whsec-current".utf8), old = Array("whsec-old".utf8)
        let verifier = PagerDutySignatureVerifier(webhookSecret: secret)
        try verifier.verify(header: Self.pagerDutySignature(body, secret: secret), body: body)
        // During a rotation PagerDuty signs with both secrets; ours may be either one.
        try verifier.verify(header: Self.pagerDutySignature(body, secret: old) + "," + Self.pagerDutySignature(body, secret: secret),
                            body: body)
        try verifier.verify(header: Self.pagerDutySignature(body, secret: secret) + ", " + Self.pagerDutySignature(body, secret: old),
                            body: body)
        // Another version is skipped, not matched.
        try verifier.verify(header: "v2=abc," + Self.pagerDutySignature(body, secret: secret), body: body)
        #expect(throws: CallbackSignatureError.badSignature) {
            try verifier.verify(header: Self.pagerDutySignature(body, secret: old), body: body)
        }
        #expect(throws: CallbackSignatureError.badSignature) {
            try verifier.verify(header: Self.pagerDutySignature(body, secret: secret), body: body + [0x0a])
        }
        #expect(throws: CallbackSignatureError.missingHeader("X-PagerDuty-Signature")) {
            try verifier.verify(header: nil, body: body)
        }
        let many = Array(repeating: Self.pagerDutySignature(body, secret: old), count: 9).joined(separator: ",")
        for bad in ["", "v2=abc", "v1=zz", "v1=" + String(repeating: "a", count: 62), many, String(repeating: ",", count: 1000)] {
            #expect(throws: CallbackSignatureError.malformedHeader("X-PagerDuty-Signature"), "\(bad.prefix(80))") {
                try verifier.verify(header: bad, body: body)
            }
        }
    }
}
