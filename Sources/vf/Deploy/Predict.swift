import ArgumentParser
import FleetProtos
import FleetRPC
import Foundation
import ServiceRuntime
import VisionData

/// `vf predict NAME IMAGE...`: calls the task API of the model's task and prints the results;
/// detection can draw them (`--draw DIR`), retrieval can lay out a grid (`--grid FILE.png`).
struct Predict: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a served model on images: labels, boxes or similar images.")
    @Argument(help: "Served model name.") var name: String
    @Argument(help: "PNG or JPEG files.") var images: [String]
    @Option(help: "vf-serve address HOST:PORT (env VF_SERVE_ADDR; default: the local fleet, else 127.0.0.1:8001).") var serve: String?
    @Option(help: "vf-ingest address, to fetch the images of search hits for --grid (default: the local fleet).") var ingest: String?
    @Option(help: "Bearer token (env VISIONFLEET_TOKEN).") var token: String?
    @Option(help: "Classification: labels per image; retrieval: neighbours per image.") var k = 5
    @Option(help: "Detection: lowest score shown.") var scoreThreshold: Float = 0.3
    @Option(help: "Detection: IoU threshold of NMS (0 = the model's).") var iouThreshold: Float = 0
    @Option(help: "Detection: write each image with its boxes drawn into this folder.") var draw: String?
    @Option(help: "Retrieval: write the queries beside their nearest gallery images to this PNG.") var grid: String?
    @Flag(help: "Retrieval: exact search instead of HNSW.") var exact = false
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var location: FleetHomeOptions

    func run() async throws {
        var environment = ProcessInfo.processInfo.environment
        if let home = location.home { environment["VISIONFLEET_HOME"] = home }
        let client = try VisionClient(address: serve, token: token, environment: environment)
        let models = try await client.servedModels()
        guard let model = models.first(where: { $0.name == name }) else {
            throw ValidationError("vf-serve does not serve '\(name)'" + (models.isEmpty ? " (it serves none)" : " (it serves \(models.map(\.name).joined(separator: ", ")))"))
        }
        var files: [(path: String, data: Data)] = []
        for path in images {
            guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("\(path): no such file") }
            files.append((path, data))
        }
        let ref = Visionfleet_V1_ModelRef.with { $0.name = name }
        switch model.task {
        case .detection: try await detect(files, client: client, ref: ref)
        case .retrieval: try await search(files, client: client, ref: ref, environment: environment)
        default: try await classify(files, client: client, ref: ref)
        }
    }

    private func classify(_ files: [(path: String, data: Data)], client: VisionClient, ref: Visionfleet_V1_ModelRef) async throws {
        let r = try await client.classify(.with {
            $0.model = ref; $0.topK = Int32(k); $0.images = files.map { f in .with { $0.encoded = f.data } }
        })
        if json { return try JSONLine.print(zip(files, r.results).map { ["image": $0.0.path, "classes": $0.1.classes.map { ["label": $0.label, "class_id": Int($0.classID), "score": Double($0.score)] }] }) }
        TextTable.print(["IMAGE", "RANK", "LABEL", "SCORE"], zip(files, r.results).flatMap { file, result in
            result.classes.enumerated().map { [file.path, "\($0.offset + 1)", $0.element.label, String(format: "%.4f", $0.element.score)] }
        })
        print("served by \(r.servedBy.model)@\(r.servedBy.version)")
    }

    private func detect(_ files: [(path: String, data: Data)], client: VisionClient, ref: Visionfleet_V1_ModelRef) async throws {
        if let draw { try FileManager.default.createDirectory(atPath: draw, withIntermediateDirectories: true) }
        var rows: [[String]] = [], out: [[String: Any]] = []
        for file in files {
            let r = try await client.detect(.with {
                $0.model = ref; $0.image.encoded = file.data; $0.scoreThreshold = scoreThreshold; $0.iouThreshold = iouThreshold
            })
            for d in r.detections {
                rows.append([file.path, d.label, String(format: "%.3f", d.score),
                             String(format: "%.0f,%.0f,%.0f,%.0f", d.box.xMin, d.box.yMin, d.box.xMax, d.box.yMax)])
            }
            if r.detections.isEmpty { rows.append([file.path, "-", "-", "-"]) }
            var entry: [String: Any] = ["image": file.path, "detections": r.detections.map {
                ["label": $0.label, "class_id": Int($0.classID), "score": Double($0.score),
                 "box": [Double($0.box.xMin), Double($0.box.yMin), Double($0.box.xMax), Double($0.box.yMax)]] as [String: Any]
            }]
            if let draw {
                let picture = DetectionPicture.draw(try ImageCodec.decode(file.data, name: file.path), detections: r.detections)
                let target = URL(fileURLWithPath: draw).appendingPathComponent(
                    ((file.path as NSString).lastPathComponent as NSString).deletingPathExtension + ".png")
                try ImageCodec.encodePNG(picture, name: target.path).write(to: target)
                entry["drawn"] = target.path
            }
            out.append(entry)
        }
        if json { return try JSONLine.print(out) }
        TextTable.print(["IMAGE", "LABEL", "SCORE", "BOX (x1,y1,x2,y2 px)"], rows)
        if let draw { print("drew \(files.count) images into \(draw)") }
    }

    private func search(_ files: [(path: String, data: Data)], client: VisionClient, ref: Visionfleet_V1_ModelRef,
                        environment: [String: String]) async throws {
        var rows: [[String]] = [], out: [[String: Any]] = [], gridRows: [RetrievalGrid.Row] = []
        let blobs = grid == nil ? nil : try DatasetClient(address: ingest, token: token, environment: environment)
        for file in files {
            let r = try await client.search(.with { $0.model = ref; $0.image.encoded = file.data; $0.k = Int32(k); $0.exact = exact })
            for (i, h) in r.hits.enumerated() { rows.append([file.path, "\(i + 1)", h.itemID, h.label, String(format: "%.4f", h.score)]) }
            out.append(["image": file.path, "hits": r.hits.map {
                ["item_id": $0.itemID, "label": $0.label, "class_id": Int($0.classID), "score": Double($0.score), "blob_digest": $0.blobDigest] as [String: Any]
            }])
            if let blobs {
                var tiles: [RetrievalGrid.Tile] = []
                for h in r.hits {
                    let image = h.blobDigest.isEmpty ? nil : try? ImageCodec.decode(try await blobs.blob(h.blobDigest), name: h.itemID)
                    tiles.append(.init(image: image ?? PixelImage(width: 8, height: 8, channels: 3, fill: 200),
                                       caption: "\(h.label) \(String(format: "%.2f", h.score))", match: nil))
                }
                gridRows.append(.init(query: .init(image: try ImageCodec.decode(file.data, name: file.path),
                                                   caption: (file.path as NSString).lastPathComponent, match: nil), hits: tiles))
            }
        }
        if let grid {
            try ImageCodec.encodePNG(RetrievalGrid.draw(gridRows, title: "\(name): query | nearest gallery images"), name: grid)
                .write(to: URL(fileURLWithPath: grid))
        }
        if json { return try JSONLine.print(out) }
        TextTable.print(["IMAGE", "RANK", "ITEM", "LABEL", "SCORE"], rows)
        if let grid { print("wrote \(grid)") }
    }
}
