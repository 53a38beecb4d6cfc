import VigilConfig

/// `vigil config check`: everything the daemon would refuse at start or reload, the detection
/// rules of every file in `rules.files` included (``ConfigLoader`` parses them).
enum VigilConfigValidation {
    static func check(_ path: String) throws(ConfigErrors) -> VigilConfiguration {
        try ConfigLoader.load(path: path)
    }
}
