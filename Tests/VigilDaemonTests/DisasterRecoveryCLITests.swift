import Foundation
import Testing
import VigilControl
import VigilCore
import VigilStore
import VigilTestSupport

/// The real `vigil` against a real `vigild`: `vigil dr` walks a plan (an action step through
/// the actions' own path), `vigil backup` while the daemon runs, `vigil restore` refused while
/// it runs and for a damaged backup, and a good backup restored after it stopped.
@Suite(.serialized) struct DisasterRecoveryCLITests {
    @Test func drWalksAPlanAndRestoreRefusesADamagedBackup() throws {
        let d = try DaemonProcess()
        let state = d.stateDirectory
        func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) { try vigil(args, stateDirectory: state) }
        let declared = try run(["incidents", "declare", "--title", "Vigil store unreadable", "--severity", "P1", "--type", "Data corruption",
                                "--component", "storage", "--json"])
        #expect(declared.status == 0, "\(declared.err)")
        let id = try #require(try JSONDecoder().decode(JSONValue.self, from: Data(declared.out.utf8))["id"]?.stringValue)

        let assessed = try run(["dr", "assess", id, "--estimate", "2 hours", "--data-loss", "2 minutes"])
        #expect(assessed.status == 0, "\(assessed.err)")
        #expect(assessed.out.contains("\(id): disaster recovery RECOMMENDED (Yes)"))
        #expect(assessed.out.contains("Plans that apply: restore-vigil-state (matches type Data corruption, component storage)"))
        let impossible = try run(["dr", "assess", id, "--recovery-point", "2026-02-30T10:00:00Z"])
        #expect(impossible.status != 0 && impossible.err.contains("recovery_point: expected an RFC 3339 time"))

        let started = try run(["dr", "start", id])
        #expect(started.status == 0, "\(started.err)")
        #expect(started.out.contains("recovery started with plan restore-vigil-state (best match: matches type Data corruption, component storage)"))
        // Step 1 holds writes: run at once, as `vigil actions run` (the person running the step decided).
        let requested = try run(["dr", "run-step", id, "1", "--json"])
        #expect(requested.status == 0, "\(requested.err)")
        let view = try JSONDecoder().decode(JSONValue.self, from: Data(requested.out.utf8))
        let step1 = try #require(view["steps"]?.arrayValue?.first)
        #expect(step1["state"]?.stringValue == "running")
        let actionID = try #require(step1["action_id"]?.doubleValue.map { Int($0) })
        // Its outcome depends on this machine (a storage plugin may or may not be there): ticked
        // when it succeeded, skipped with a note when not; either way never ticked before it settles.
        var settled = ""
        for _ in 0..<100 where settled.isEmpty {
            let state = try JSONDecoder().decode(JSONValue.self, from: Data(run(["actions", "show", "\(actionID)", "--json"]).out.utf8))["state"]?.stringValue ?? ""
            if !["queued", "running", "awaiting-approval"].contains(state) { settled = state } else { usleep(100_000) }
        }
        if settled == "succeeded" {
            #expect(try run(["dr", "step", id, "1", "--done"]).status == 0)
        } else {
            let early = try run(["dr", "step", id, "1", "--done"])
            #expect(early.status != 0 && early.err.contains("has not succeeded"), "\(settled): \(early.err)")
            #expect(try run(["dr", "step", id, "1", "--skip", "--note", "writes stopped by hand"]).status == 0)
        }
        // Step 2 backs up Vigil's state: not destructive, it runs at once.
        let backupStep = try run(["dr", "run-step", id, "2"])
        #expect(backupStep.status == 0, "\(backupStep.err)")
        var ticked = false
        for _ in 0..<100 where !ticked {
            ticked = try run(["dr", "step", id, "2", "--done"]).status == 0
            if !ticked { usleep(100_000) }
        }
        #expect(ticked)
        for step in 3...5 { #expect(try run(["dr", "step", id, "\(step)", "--done"]).status == 0) }
        let status = try run(["dr", "status", id])
        #expect(status.out.contains("[completed") == false && status.out.contains("100% done"))
        let complete = try run(["dr", "complete", id, "--verification", "incidents since the backup re-declared"])
        #expect(complete.status == 0, "\(complete.err)")
        #expect(complete.out.contains("Disaster recovery report: \(id)") && complete.out.contains("RTO achieved:"))

        // A backup while the daemon runs; a restore is refused while it runs.
        let backup = try run(["backup", "--json"])
        #expect(backup.status == 0, "\(backup.err)")
        let file = try #require(try JSONDecoder().decode(JSONValue.self, from: Data(backup.out.utf8))["file"]?.stringValue)
        let busy = try runVigil(["restore", file, "--state-dir", state])
        #expect(busy.status != 0 && busy.err.contains("the daemon is running"))
        d.stop()

        let damaged = file + ".damaged.db"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        bytes[bytes.count - 100] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: damaged))
        try FileManager.default.copyItem(atPath: file + ".sha256", toPath: damaged + ".sha256")
        let refused = try runVigil(["restore", damaged, "--state-dir", state])
        #expect(refused.status == 65 && refused.err.contains("refused") && refused.err.contains("checksum mismatch"))
        let restored = try runVigil(["restore", file, "--state-dir", state])
        #expect(restored.status == 0, "\(restored.err)")
        #expect(try SHA256Digest.file(state + "/vigil.db") == (try SHA256Digest.file(file)))
    }
}
