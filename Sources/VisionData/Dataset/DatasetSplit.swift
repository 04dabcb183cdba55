import Foundation

extension LabeledDataset {
    /// Train and validation images: the format's own splits when it has them ("val", else
    /// "test" for validation), otherwise a deterministic hold-out of about `fraction` chosen by
    /// content digest (stable across reorderings and re-imports).
    public func trainValidationSplit(fraction: Double = 0.1) -> (train: [DatasetImage], validation: [DatasetImage]) {
        for name in ["val", "test"] where images.contains(where: { $0.split == name }) {
            return (images.filter { $0.split != "val" && $0.split != "test" }, images.filter { $0.split == name })
        }
        let cut = UInt64(fraction * 1000)
        let held = images.map { Self.bucket($0.digest.isEmpty ? "\($0.file)" : $0.digest) < cut }
        return (zip(images, held).filter { !$0.1 }.map(\.0), zip(images, held).filter { $0.1 }.map(\.0))
    }

    /// A stable bucket in 0..<1000 (FNV-1a).
    static func bucket(_ key: String) -> UInt64 {
        var h: UInt64 = 0xcbf29ce484222325
        for b in key.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        return h % 1000
    }
}
