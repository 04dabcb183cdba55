import Foundation

/// Images with boxes for detection: the images of a dataset (embedded pixels, or decoded from
/// their files when a batch needs them) and each image's boxes with `category` as the
/// contiguous class index (the dataset's category order).
public struct DetectionSet: Sendable {
    public let dataset: LabeledDataset
    public let classNames: [String]
    /// Indices into `dataset.images` that this set uses, in order.
    public let members: [Int]
    private let boxesByMember: [[LabeledBox]]

    public init(dataset: LabeledDataset, members: [Int]? = nil) {
        self.dataset = dataset
        classNames = dataset.categories.map(\.name)
        let members = members ?? Array(dataset.images.indices)
        self.members = members
        let index = dataset.classIndex
        boxesByMember = members.map { m in
            dataset.images[m].boxes.compactMap { b in
                index[b.category].map { LabeledBox(xmin: b.xmin, ymin: b.ymin, xmax: b.xmax, ymax: b.ymax, category: $0) }
            }
        }
    }

    public var count: Int { members.count }

    public func image(_ i: Int) -> DatasetImage { dataset.images[members[i]] }

    /// Boxes of item i in its image's pixels, `category` = class index.
    public func boxes(_ i: Int) -> [LabeledBox] { boxesByMember[i] }

    /// Item i's pixels (decoded when not embedded), with `channels` channels.
    public func pixels(_ i: Int, channels: Int) throws(ImageError) -> PixelImage {
        let image = try dataset.pixels(of: image(i))
        return image.channels == channels ? image : ImageOps.convert(image, channels: channels)
    }

    /// The members whose images have split `split` (nil: those without one).
    public func subset(split: String?) -> DetectionSet {
        DetectionSet(dataset: dataset, members: members.filter { dataset.images[$0].split == split })
    }

    /// The given positions of this set.
    public func subset(_ positions: [Int]) -> DetectionSet {
        DetectionSet(dataset: dataset, members: positions.map { members[$0] })
    }
}
