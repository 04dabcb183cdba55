import Foundation

/// The annotation formats VisionFleet reads and writes, each into one `LabeledDataset`.
public enum DatasetFormat: String, Sendable, CaseIterable {
    case coco, yolo, voc, imagefolder, csv, labelstudio, idx, cvat

    /// Reads a dataset. `url` is the format's root folder or, for COCO / CSV / Label Studio,
    /// the annotation file (a folder works too; the usual file name is looked for in it).
    /// Per-item problems go into the result; only an unreadable whole (missing annotation
    /// file, malformed JSON) throws.
    public func read(_ url: URL, options: DatasetReadOptions = .init()) throws(DatasetError) -> DatasetReadResult {
        switch self {
        case .coco: try COCOFormat.read(url, options: options)
        case .yolo: try YOLOFormat.read(url, options: options)
        case .voc: try VOCFormat.read(url, options: options)
        case .imagefolder: try ImageFolderFormat.read(url, options: options)
        case .csv: try ImageListFormat.read(url, options: options)
        case .labelstudio: try LabelStudioFormat.read(url, options: options)
        case .idx: try IDXDatasetFormat.read(url, options: options)
        case .cvat: try CVATFormat.read(url, options: options)
        }
    }

    /// Writes a dataset (annotations and image files) into the folder `url`.
    public func write(_ dataset: LabeledDataset, to url: URL) throws(DatasetError) {
        try ExportFiles.prepare(url)
        switch self {
        case .coco: try COCOFormat.write(dataset, to: url)
        case .yolo: try YOLOFormat.write(dataset, to: url)
        case .voc: try VOCFormat.write(dataset, to: url)
        case .imagefolder: try ImageFolderFormat.write(dataset, to: url)
        case .csv: try ImageListFormat.write(dataset, to: url)
        case .labelstudio: try LabelStudioFormat.write(dataset, to: url)
        case .idx: try IDXDatasetFormat.write(dataset, to: url)
        case .cvat: try CVATFormat.write(dataset, to: url)
        }
    }
}
