import FleetProtos
import Foundation

/// Triton's TraceSetting over gRPC and HTTP (`/v2/trace/setting`,
/// `/v2/models/NAME/trace/setting`): read or change the server's trace settings, or a served
/// model's overrides. Values are lists of strings, as in Triton; an empty list clears a setting.
enum TraceSettingEndpoint {
    /// The model a request names must be served ("" and nil: the global settings).
    static func model(_ name: String?, _ repository: ModelRepository) throws(ServeError) -> String? {
        guard let name, !name.isEmpty else { return nil }
        guard repository.serves(name) else { throw .notFound("model '\(name)' is not served") }
        return name
    }

    static func apply(_ changes: [String: [String]], model name: String?, _ repository: ModelRepository) throws(ServeError) -> [String: [String]] {
        let model = try model(name, repository)
        return changes.isEmpty ? repository.tracer.settings(model: model) : try repository.tracer.update(changes, model: model)
    }

    // MARK: gRPC

    static func respond(_ request: Inference_TraceSettingRequest, _ repository: ModelRepository) throws(ServeError) -> Inference_TraceSettingResponse {
        let after = try apply(request.settings.mapValues(\.value), model: request.modelName, repository)
        return .with { $0.settings = after.mapValues { values in .with { $0.value = values } } }
    }

    // MARK: HTTP (JSON)

    /// A JSON body's settings: each a string, a list of strings, or null (clears it).
    static func changes(fromJSON object: [String: Any]) throws(ServeError) -> [String: [String]] {
        var changes: [String: [String]] = [:]
        for (key, raw) in object {
            if let s = raw as? String {
                changes[key] = [s]
            } else if let list = raw as? [Any], list.allSatisfy({ $0 is String }) {
                changes[key] = list.map { $0 as! String }
            } else if raw is NSNull {
                changes[key] = []
            } else {
                throw .invalidArgument(item: "trace settings", field: key, message: "must be a string, a list of strings or null")
            }
        }
        return changes
    }

    /// Triton's JSON form: trace_level a list, the others single strings.
    static func json(_ settings: [String: [String]]) -> [String: Any] {
        settings.reduce(into: [String: Any]()) { out, entry in
            out[entry.key] = entry.key == "trace_level" ? entry.value : (entry.value.first ?? "")
        }
    }
}
