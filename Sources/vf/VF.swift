import ArgumentParser

/// `vf`: the VisionFleet command line.
@main
struct VF: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vf",
        abstract: "VisionFleet: labelled images to a live computer-vision endpoint.",
        subcommands: [FleetUp.self, FleetDown.self, FleetStatus.self, Deploy.self, Predict.self, Demo.self, Health.self, DatasetCommand.self, TrainCommand.self, TrainLocal.self, Eval.self, RegistryCommand.self, Bench.self])
}

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks that print their figures (release build: swift run -c release vf bench ...).",
        subcommands: [RPCBench.self, EngineBench.self, FashionMNISTBench.self, RetrievalBench.self, ShapesBench.self, RegistryBench.self, IngestBench.self, TrainServiceBench.self, SearchBench.self, ServeBench.self, DetectBench.self])
}
