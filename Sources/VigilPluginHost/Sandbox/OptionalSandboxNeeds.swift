import Foundation
import VigilCore

/// An optional item of a manifest (`sandbox.optional_…`) that the host does not have, so the
/// plugin starts without it.
public struct AbsentOptionalItem: Sendable, Equatable, CustomStringConvertible {
    public var item: OptionalSandboxItem
    /// What the host lacks: `does not exist (/run/log/journal)`, `is not a group on this host`.
    public var reason: String
    /// Absent, rather than present but unusable (a symlink on the path): the latter is worth a
    /// warning, since someone may have put it there.
    public var missing: Bool = true

    /// `/run/log/journal (sandbox.optional_read_paths): it does not exist (/run/log/journal)`.
    public var description: String { "\(item.item) (\(item.field.key)): it \(reason)" }
}

/// Decides, at each start, which of a manifest's optional programs, groups and read paths go
/// into its sandbox: those the host has join the required ones; one that does not exist is left
/// out. An optional path that exists but may not be bound (a symlink on it, as an immutable-/etc
/// distribution makes /etc/machine-id) is left out too, with a warning: leaving it out only
/// takes access away. Root's group or a failed group look-up refuses the start as it would a
/// required item.
public enum OptionalSandboxNeeds {
    /// `manifest` with the optional items the host has moved into its required lists, and the
    /// ones it lacks. Blocking (path walks, NSS look-ups): call it on the launch thread.
    public static func resolve(_ manifest: PluginManifest) throws(PathRefusal) -> (manifest: PluginManifest, absent: [AbsentOptionalItem]) {
        var present: Set<OptionalSandboxItem> = []
        var absent: [AbsentOptionalItem] = []
        func refuse(_ item: OptionalSandboxItem, _ reason: String) -> PathRefusal {
            PathRefusal(plugin: manifest.name, field: item.field.key, path: item.item, reason: reason)
        }
        for item in manifest.sandbox.optionalItems {
            switch item.field {
            case .executables, .readPaths:
                guard let problem = PluginLaunchGuard.pathProblem(item.item) else {
                    present.insert(item)
                    continue
                }
                guard PolicyPath.normalize(item.item) == item.item else { throw refuse(item, problem.reason) }
                absent.append(AbsentOptionalItem(item: item, reason: problem.reason, missing: problem.missing))
            case .groups:
                switch SandboxRequest.lookUpGroup(item.item) {
                case .found(0): throw refuse(item, "is root's group")
                case .found: present.insert(item)
                case .absent: absent.append(AbsentOptionalItem(item: item, reason: "is not a group on this host"))
                case .failed(let rc): throw refuse(item, "could not be looked up (error \(rc))")
                }
            }
        }
        var out = manifest
        out.sandbox = manifest.sandbox.includingOptional { present.contains($0) }
        return (out, absent)
    }
}
