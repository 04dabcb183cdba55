import ArgumentParser
import Foundation
import ServiceRuntime

/// `vf deploy PATH`: from a folder of labelled images to a live endpoint in one command.
struct Deploy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import a dataset, train, publish NAME@production and serve it (starts the fleet if it is down; a re-run resumes).",
        discussion: "With VF_INGEST_ADDR, VF_TRAIN_ADDR, VF_REGISTRY_ADDR and VF_SERVE_ADDR all set, deploys to that fleet (e.g. docker compose) instead.")
    @Argument(help: "Dataset folder, or the annotation file of COCO / CSV / Label Studio.") var path: String
    @Option(help: "coco, yolo, voc, imagefolder, csv, labelstudio, cvat or idx.") var format: String
    @Option(help: "Name of the dataset and of the model.") var name: String
    @Option(help: "classification, detection or retrieval (default: the dataset's).") var task: String?
    @Option(help: "Config file or shipped config name (default: the task's recipe sized to the data).") var config: String?
    @Option(help: "Epochs (overrides the config's).") var epochs: Int?
    @Option(name: .customLong("set"), help: "Config override key.path=value (repeatable).") var overrides: [String] = []
    @Option(help: "Validation hold-out when the format has no split.") var valFraction = 0.1
    @Option(help: "Seed of the hold-out.") var seed: UInt64 = 0
    @Flag(help: "Commit the good items and list the bad ones (default: any bad item stops the deploy).") var lenient = false
    @OptionGroup var location: FleetHomeOptions
    @OptionGroup var ports: FleetPortOptions
    @Flag(help: "Print the result as JSON (progress still goes to stderr).") var json = false

    static let addressVariables = ["VF_INGEST_ADDR", "VF_TRAIN_ADDR", "VF_REGISTRY_ADDR", "VF_SERVE_ADDR"]

    func run() async throws {
        if let task, !["classification", "detection", "retrieval"].contains(task) {
            throw ValidationError("--task \(task): expected classification, detection or retrieval")
        }
        _ = try DatasetRefText.format(format)
        // A fleet elsewhere (compose, another machine) when all four addresses are given;
        // else the local fleet, started if it is down.
        let env = ProcessInfo.processInfo.environment
        let environment: [String: String]
        if Self.addressVariables.allSatisfy({ !(env[$0] ?? "").isEmpty }) {
            environment = env
        } else {
            let fleet = location.fleet
            environment = fleet.clientEnvironment(try await ports.up(fleet).state)
        }
        let pipeline = DeployPipeline(environment: environment)
        do {
            let (version, importSeconds) = try await pipeline.importData(path: path, format: format, name: name, task: task,
                                                                         valFraction: valFraction, seed: seed, lenient: lenient)
            var result = try await pipeline.trainAndServe(version, request: .init(name: name, task: task, config: config, epochs: epochs,
                                                                                   overrides: overrides))
            result.seconds["import"] = importSeconds
            if json { return try JSONLine.print(encoding: result) }
            print(CallInstructions.text(result, serveAddress: environment["VF_SERVE_ADDR"] ?? VisionClient.defaultAddress))
        } catch let failure as DeployPipeline.Failure {
            FileHandle.standardError.write(Data("\(failure)\n".utf8))
            throw ExitCode(1)
        }
    }
}
