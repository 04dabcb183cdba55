import FleetProtos
import FleetRPC
import Foundation
import IngestService
import ServiceRuntime
import VisionData
import XCTest

/// A real vf-ingest server on 127.0.0.1:0 over a temp home, and a client of it.
struct IngestHarness {
    let home: URL
    let ingest: DatasetIngest
    let server: RPCServer
    let port: Int
    let client: DatasetClient

    static func start() async throws -> IngestHarness {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("vf-ingest-test-\(UUID().uuidString)")
        let ingest = try DatasetIngest(directory: home)
        let server = RPCServer(config: ServerConfig(host: "127.0.0.1", port: 0), services: [DatasetRPCService(ingest: ingest)])
        let port = try await server.start()
        return IngestHarness(home: home, ingest: ingest, server: server, port: port,
                             client: try DatasetClient(address: "127.0.0.1:\(port)", environment: [:]))
    }

    func stop() async { await server.shutdown(grace: .seconds(1)) }

    var stagingFiles: [String] { (try? FileManager.default.contentsOfDirectory(atPath: home.appendingPathComponent("staging").path)) ?? [] }
}

enum Fixtures {
    /// Where a writer put the file named `name` under `root`.
    static func find(_ root: URL, _ name: String) throws -> URL {
        let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
        while let url = walker?.nextObject() as? URL {
            if url.lastPathComponent == (name as NSString).lastPathComponent { return url }
        }
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: name])
    }

    static func temp(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("vf-ingest-fx-\(name)-\(UUID().uuidString)")
    }

    /// The synthetic shapes detection set written in `format`.
    static func shapes(_ format: DatasetFormat, count: Int = 12, seed: UInt64 = 3) throws -> (URL, LabeledDataset) {
        let url = temp(format.rawValue)
        let dataset = ShapesGenerator(size: 64, objects: 1...3).dataset(count: count, seed: seed, root: url)
        try format.write(dataset, to: url)
        return (url, dataset)
    }

    /// A small classification set (three classes of flat-coloured images) written in `format`.
    static func classes(_ format: DatasetFormat, perClass: Int = 5) throws -> (URL, LabeledDataset) {
        let url = temp(format.rawValue)
        var images: [DatasetImage] = []
        for c in 0..<3 {
            for k in 0..<perClass {
                var pixels = PixelImage(width: 16, height: 16, channels: 3, fill: UInt8(40 + c * 70))
                pixels.pixels[k] = UInt8(k * 13)   // distinct bytes per image
                images.append(DatasetImage(id: images.count + 1, file: "c\(c)_\(k).png", width: 16, height: 16, label: c + 1, embedded: pixels))
            }
        }
        let dataset = LabeledDataset(root: url, categories: (1...3).map { DatasetCategory(id: $0, name: "class\($0)") }, images: images)
        try format.write(dataset, to: url)
        return (url, dataset)
    }
}
