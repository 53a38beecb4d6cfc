import Foundation
import Testing
import VigilCore
@testable import VigilPluginHost

/// The one-shot launcher (`vigil-sandbox --spec PATH`, one process per start) builds the same
/// sandbox as the zygote the hostile suite runs through: a representative set of its attempts.
@Suite(.serialized, .enabled(if: SandboxHarness.available, "needs root, cc and the vigil-sandbox binary"))
struct OneShotLauncherTests {
    let world: SandboxHarness.World
    init() throws { world = try SandboxHarness.World() }

    func run(_ request: SandboxRequest) throws -> SandboxHarness.Outcome {
        try SandboxHarness.run(request, profile: world.profile(), stateDirectory: world.stateDirectory, mode: .oneShot)
    }

    @Test func aWellBehavedPluginRunsAsItsOwnUnprivilegedUID() throws {
        let outcome = try run(world.request("hello"))
        #expect(outcome.output.hasPrefix("hello uid=\(world.uid)"))
        #expect(outcome.exit == .exited(code: 0))
    }

    @Test func outsideTheProfileIsDeniedAndReportedAndWatchedIsCounted() throws {
        let socket = try run(world.request("tcp-socket"))
        #expect(socket.output.contains("tcp-socket blocked errno=\(EPERM)"))
        #expect(socket.breaches.map(\.syscall) == ["socket"])
        let ioctl = try run(world.request("watched-ioctl"))
        #expect((ioctl.watched["ioctl"] ?? 0) >= 3 && ioctl.breaches.isEmpty)
    }

    @Test func aHardDeniedSyscallKillsAndIsNamed() throws {
        let outcome = try run(world.request("ptrace"))
        #expect(outcome.exit == .killed(signal: SIGKILL, syscall: nil))
        #expect(outcome.breaches.map(\.syscall) == ["ptrace"])
    }

    @Test func theDaemonsFilesAreNotThereAndLandlockStopsAShell() throws {
        #expect(try run(world.request("read", "/etc/shadow")).output.contains("read blocked errno=\(ENOENT)"))
        #expect(try run(world.request("exec-sh")).output.contains("exec-sh blocked errno=\(EACCES)"))
    }

    @Test func aPluginRunsBelowTheDaemonsPriorityAndCannotTakeItBack() throws {
        let outcome = try run(world.request("renice"))
        #expect(outcome.output.contains("nice=5"), "\(outcome.output)")
        #expect(outcome.output.contains("renice blocked errno=\(EACCES)"), "\(outcome.output)")
        // Its own session is its own scheduler autogroup: at nice 19, and it cannot raise it.
        if FileManager.default.fileExists(atPath: "/proc/self/autogroup") {
            #expect(outcome.output.contains(" nice 19"), "\(outcome.output)")
            #expect(outcome.output.contains("autogroup blocked"), "\(outcome.output)")
        }
    }

    @Test func withoutAWatcherTheKernelAnswersEPERM() throws {
        var request = world.request("unshare")
        request.useNotify = false
        #expect(try run(request).output.contains("unshare blocked errno=\(EPERM)"))
    }
}
