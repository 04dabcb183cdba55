/// Why a model package cannot be read; each case names the file concerned.
public enum ModelPackageError: Error, Sendable, Equatable, CustomStringConvertible {
    case missingFile(String)
    case digestMismatch(file: String, expected: String, actual: String)
    case newerFormat(found: Int, supported: Int)
    case invalidManifest(String)
    /// The weights do not fit the architecture the manifest describes.
    case weights(String)

    public var description: String {
        switch self {
        case .missingFile(let f): "\(f): missing from the package"
        case .digestMismatch(let f, let expected, let actual): "\(f): digest \(actual) does not match the manifest's \(expected)"
        case .newerFormat(let found, let supported):
            "manifest.json: format version \(found) is newer than this VisionFleet reads (up to \(supported)); upgrade VisionFleet"
        case .invalidManifest(let m): "manifest.json: \(m)"
        case .weights(let m): "weights.safetensors: \(m)"
        }
    }
}
