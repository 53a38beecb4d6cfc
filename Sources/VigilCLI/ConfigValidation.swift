import VigilConfig

/// `vigil config check`: everything the daemon would refuse at start or reload.
enum VigilConfigValidation {
    static func check(_ path: String) throws(ConfigErrors) -> VigilConfiguration {
        try ConfigLoader.load(path: path)
    }
}
