import Foundation
import Testing
import VigilAccess
import VigilCore

@Suite struct AckLinkTests {
    let key = AccessCrypto.randomBytes(32)

    @Test func signedLinksVerifyUntilTheyExpire() throws {
        let clock = ManualClock()
        let signer = AckLinkSigner(key: key, clock: clock)
        let (link, token) = try signer.sign(incidentID: "INC-2026-0042", person: "alice", lifetime: .seconds(3600))
        #expect(token.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }, "URL-safe")
        #expect(try signer.verify(token) == link)
        clock.advance(by: .seconds(3599))
        #expect(try signer.verify(token) == link)
        clock.advance(by: .seconds(1))
        #expect(throws: AckLinkError.expired(link.expiresAt)) { try signer.verify(token) }
    }

    @Test func tamperedLinksAreRefused() throws {
        let clock = ManualClock()
        let signer = AckLinkSigner(key: key, clock: clock)
        let (_, token) = try signer.sign(incidentID: "INC-2026-0042", person: "alice", lifetime: .seconds(3600))
        var parts = token.split(separator: ".").map(String.init)
        // Another incident, another person, a later expiry, another nonce: each breaks the signature.
        for (index, replacement) in [(1, Base64URL.encode(Array("INC-2026-0043".utf8))), (2, Base64URL.encode(Array("mallory".utf8))),
                                     (3, String(Int64(parts[3])! + 86400)), (4, Base64URL.encode(AccessCrypto.randomBytes(16)))] {
            var forged = parts
            forged[index] = replacement
            #expect(throws: AckLinkError.badSignature) { try signer.verify(forged.joined(separator: ".")) }
        }
        // Every single flipped character fails.
        let chars = Array(token)
        for i in stride(from: 0, to: chars.count, by: 7) {
            var c = chars
            c[i] = c[i] == "A" ? "B" : "A"
            #expect(throws: (any Error).self) { try signer.verify(String(c)) }
        }
        // Another daemon's key.
        let other = AckLinkSigner(key: AccessCrypto.randomBytes(32), clock: clock)
        #expect(throws: AckLinkError.badSignature) { try other.verify(token) }
        parts[0] = "v2"
        #expect(throws: AckLinkError.malformed) { try signer.verify(parts.joined(separator: ".")) }
        for junk in ["", ".....", "v1", String(repeating: "a", count: 5000), token + ".x", "v1.é.é.1.é.é"] {
            #expect(throws: (any Error).self) { try signer.verify(junk) }
        }
        #expect(throws: AckLinkError.tooLong(field: "person")) {
            try signer.sign(incidentID: "I", person: String(repeating: "p", count: 300), lifetime: .seconds(1))
        }
    }

    @Test func theKeyIsMadeOncePrivateAndKept() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-ackkey-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try AckLinkKey.loadOrCreate(directory: dir)
        #expect(first.count == 32)
        let path = dir + "/" + AckLinkKey.fileName
        let mode = try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode == 0o600)
        #expect(try AckLinkKey.loadOrCreate(directory: dir) == first)
        chmod(path, 0o644)
        #expect(try AckLinkKey.loadOrCreate(directory: dir) == first)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        #expect(throws: AckLinkKey.Failure.self) { try AckLinkKey.loadOrCreate(directory: dir) }
    }
}

/// GET changes nothing; POST uses the link once; tampered, expired and used links are refused.
@Suite struct AckLinkRedemptionTests {
    actor Ledger {
        var used: Set<String> = []
        var acknowledged: [(String, String)] = []
        func consume(_ l: AckLink) -> Bool { used.insert(l.nonce).inserted }
        func ack(_ l: AckLink) { acknowledged.append((l.incidentID, l.person)) }
    }

    @Test func getConfirmsPostAcknowledgesOnce() async throws {
        let clock = ManualClock()
        let signer = AckLinkSigner(key: AccessCrypto.randomBytes(32), clock: clock)
        let ledger = Ledger()
        let redemption = AckLinkRedemption(signer: signer, consume: { await ledger.consume($0) }, acknowledge: { link in
            await ledger.ack(link)
            return "\(link.incidentID) acknowledged by \(link.person)"
        })
        let (_, token) = try signer.sign(incidentID: "INC-2026-0007", person: "<b>alice</b>", lifetime: .seconds(600))
        for _ in 0..<3 {
            let page = redemption.confirm(token: token)
            #expect(page.status == 200)
            #expect(page.html.contains("method=\"post\""))
            #expect(page.html.contains("&lt;b&gt;alice&lt;/b&gt;") && !page.html.contains("<b>alice"))
        }
        #expect(await ledger.acknowledged.isEmpty, "a GET changes nothing")
        #expect(await redemption.redeem(token: token).status == 200)
        #expect(await ledger.acknowledged.map(\.0) == ["INC-2026-0007"])
        let replay = await redemption.redeem(token: token)
        #expect(replay.status == 410 && replay.html.contains("already used"))
        #expect(await ledger.acknowledged.count == 1)
        var chars = Array(token)
        chars[5] = chars[5] == "x" ? "y" : "x"
        #expect(await redemption.redeem(token: String(chars)).status == 404)
        let (_, late) = try signer.sign(incidentID: "INC-2026-0008", person: "bob", lifetime: .seconds(60))
        clock.advance(by: .seconds(61))
        #expect(redemption.confirm(token: late).status == 410)
        #expect(await redemption.redeem(token: late).status == 410)
        #expect(await ledger.acknowledged.count == 1)
    }
}
