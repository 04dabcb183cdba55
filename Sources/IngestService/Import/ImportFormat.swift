import FleetProtos
import FleetStore
import Foundation
import VisionData

/// The wire's dataset formats and where in a staged upload each one's reader starts.
enum ImportFormat {
    static func reader(_ format: Visionfleet_V1_DatasetFormat) -> DatasetFormat? {
        switch format {
        case .coco: .coco
        case .yolo: .yolo
        case .voc: .voc
        case .imageFolder: .imagefolder
        case .csv: .csv
        case .labelStudio: .labelstudio
        case .idx: .idx
        case .cvat: .cvat
        default: nil
        }
    }

    /// The URL the format's reader is given: the annotation file for COCO, CSV and Label
    /// Studio, else the folder (the annotation file's folder when one is named).
    static func readURL(staging: URL, header: Visionfleet_V1_ImportHeader) -> URL {
        guard !header.annotationPath.isEmpty else { return staging }
        let annotation = staging.appendingPathComponent(header.annotationPath)
        switch header.format {
        case .coco, .csv, .labelStudio, .cvat: return annotation
        default: return annotation.deletingLastPathComponent()
        }
    }

    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

    /// Files that are annotations, not images: the per-image size limit does not apply.
    static func isAnnotationFile(_ path: String, header: Visionfleet_V1_ImportHeader) -> Bool {
        path == header.annotationPath || !imageExtensions.contains(FolderWalker.lowercasedExtension(of: path))
    }

    /// Whether the format carries boxes (detection) or only class labels.
    static func hasBoxes(_ format: Visionfleet_V1_DatasetFormat) -> Bool {
        [.coco, .yolo, .voc, .labelStudio, .cvat].contains(format)
    }
}
