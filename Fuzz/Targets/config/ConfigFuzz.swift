#if canImport(Glibc)
import Glibc
#endif
import Foundation
import FuzzSupport
import VigilConfig
import VigilCore

/// The configuration reads the files it names (rule files, containment file, runbooks). Inside an
/// empty root, every absolute path a fuzzed input names is missing, so the target never reads
/// `/dev/zero` or a FIFO. The working directory stays outside, so libFuzzer's relative corpus and
/// artifact paths still work. Without root (no chroot), inputs naming system folders are skipped.
nonisolated(unsafe) var confined = false

/// Enters an empty root (see above); before libFuzzer starts.
func confine() {
    var template = Array("/tmp/vigil-fuzz-root-XXXXXX".utf8CString)
    if getenv("VIGIL_FUZZ_NO_CHROOT") == nil, let dir = mkdtemp(&template) {
        confined = chroot(dir) == 0
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = input(data, size)
    guard let text = String(validating: bytes, as: UTF8.self) else { return 0 }
    if !confined, ["/dev", "/proc", "/sys", "/run", "/usr", "\\"].contains(where: { text.contains($0) }) { return 0 }

    do {
        let c = try ConfigLoader.load(text: text, file: "/vigil-fuzz/config/vigil.yaml")
        invariant(c.ruleFiles.allSatisfy { $0.hasPrefix("/") }, "a rule file path is not absolute: \(c.ruleFiles)")
        invariant(c.consistentlyDuration >= .zero && c.ruleStaleAfter > .zero, "negative rule durations")
    } catch {
        located(error)
    }

    let directory = "/vigil-fuzz/plugins/p"
    do {
        let m = try PluginManifestFile.load(text: text, file: directory + "/plugin.yaml", directory: directory)
        invariant(!m.name.isEmpty && m.name.count <= 64 && m.name.allSatisfy { $0.isASCII }, "name \(m.name) passed")
        invariant(m.executable.hasPrefix(directory + "/"), "exec \(m.executable) outside the plugin folder")
        invariant(m.protocolVersion == 1, "protocol \(m.protocolVersion) passed")
        invariant((m.sandbox.readPaths + m.sandbox.writePaths).allSatisfy { $0.hasPrefix("/") && $0 != "/" },
                  "a path that is not absolute or is / passed")
        invariant(m.sandbox.ports.allSatisfy { $0 > 0 }, "port 0 passed")
        invariant(m.sandbox.limits.memoryBytes.map { $0 > 0 } ?? true, "a memory limit of 0 passed")
        invariant(m.config.objectValue != nil || m.config == .object([:]), "config is not an object")
    } catch {
        located(error)
    }
    return 0
}

func located(_ error: ConfigErrors) {
    invariant(!error.errors.isEmpty, "a refused file with no error")
    for e in error.errors {
        invariant(e.location.line >= 1 && e.location.column >= 1, "error at \(e.location): \(e)")
    }
}
