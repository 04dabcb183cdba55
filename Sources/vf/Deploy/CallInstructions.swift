/// What `vf deploy` prints once the model is live: a `vf predict` line and a tritonclient
/// snippet that runs as it is.
enum CallInstructions {
    static func text(_ r: DeployPipeline.Result, serveAddress: String) -> String {
        let metrics = MetricText.line(r.metrics, task: r.task)
        let extra = switch r.task {
        case "detection": " --draw out/"
        case "retrieval": " --grid grid.png"
        default: ""
        }
        let outputs = switch r.task {
        case "detection": #"["boxes", "scores", "classes", "count"]"#
        case "retrieval": #"["embeddings"]"#
        default: #"["probabilities"]"#
        }
        return """
        \(r.model)@production is live: version \(r.version) (job \(r.job), dataset \(r.dataset))\(metrics.isEmpty ? "" : "; validation \(metrics)")

        call it:
          vf predict \(r.model) IMAGE.png\(extra)

        or from Python (pip install tritonclient[grpc]):
          import tritonclient.grpc as grpcclient, numpy as np
          client = grpcclient.InferenceServerClient("\(serveAddress)")
          image = grpcclient.InferInput("image_bytes", [1], "BYTES")
          image.set_data_from_numpy(np.array([open("IMAGE.png", "rb").read()], dtype=object))
          result = client.infer("\(r.model)", [image], outputs=[grpcclient.InferRequestedOutput(n) for n in \(outputs)])
          print({n: result.as_numpy(n) for n in \(outputs)})

        roll back: vf registry alias set \(r.model) production VERSION
        """
    }
}
