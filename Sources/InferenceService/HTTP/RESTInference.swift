import FleetProtos
import Foundation
import SwiftProtobuf

/// The HTTP/REST form of the Open Inference Protocol (KServe v2, as Triton serves it on port
/// 8000) translated to and from the gRPC messages, so both protocols share one implementation.
/// An infer body is JSON, or JSON followed by binary tensor data when the
/// `Inference-Header-Content-Length` header gives the JSON's length (Triton's binary extension).
enum RESTInference {
    static let headerLengthField = "Inference-Header-Content-Length"

    /// A parsed infer body: the gRPC request, and which outputs go back as binary data (an
    /// output's own `binary_data`, else the request's `binary_data_output`).
    struct Parsed {
        var request: Inference_ModelInferRequest
        var binaryOutputs: [String: Bool]
        var binaryByDefault: Bool

        func binary(_ name: String) -> Bool { binaryOutputs[name] ?? binaryByDefault }
    }

    static func bad(_ item: String, _ field: String, _ message: String) -> ServeError {
        .invalidArgument(item: item, field: field, message: message)
    }

    /// Parses an infer body for `model` (and `version`, "" for the served one).
    static func parse(_ body: Data, headerLength: Int?, model: String, version: String) throws(ServeError) -> Parsed {
        let jsonPart: Data, binary: Data
        if let headerLength {
            guard headerLength >= 0, headerLength <= body.count else {
                throw bad(model, headerLengthField, "\(headerLength) is outside the body's \(body.count) bytes")
            }
            jsonPart = body.prefix(headerLength)
            binary = body.dropFirst(headerLength)
        } else {
            jsonPart = body
            binary = Data()
        }
        guard let object = try? JSONSerialization.jsonObject(with: jsonPart), let root = object as? [String: Any] else {
            throw bad(model, "body", "not a JSON object")
        }
        var request = Inference_ModelInferRequest()
        request.modelName = model
        request.modelVersion = version
        if let id = root["id"] { request.id = "\(id)" }
        request.parameters = try parameters(root["parameters"], item: "parameters")
        let binaryByDefault: Bool
        if case .boolParam(let b)? = request.parameters["binary_data_output"]?.parameterChoice { binaryByDefault = b } else { binaryByDefault = false }
        guard let inputs = root["inputs"] as? [[String: Any]] else { throw bad(model, "inputs", "must be an array of input objects") }
        var cursor = binary.startIndex
        for (i, object) in inputs.enumerated() {
            var input = Inference_ModelInferRequest.InferInputTensor()
            guard let name = object["name"] as? String else { throw bad("inputs[\(i)]", "name", "must be a string") }
            input.name = name
            guard let datatype = object["datatype"] as? String else { throw bad(name, "datatype", "must be a string") }
            input.datatype = datatype
            guard let shape = object["shape"] as? [Any], let dims = try? shape.map({ (d: Any) throws -> Int64 in
                guard let n = d as? NSNumber, isInteger(n) else { throw CocoaError(.coderInvalidValue) }
                return n.int64Value
            }) else { throw bad(name, "shape", "must be an array of integers") }
            input.shape = dims
            input.parameters = try parameters(object["parameters"], item: name)
            if case .int64Param(let size)? = input.parameters.removeValue(forKey: "binary_data_size")?.parameterChoice {
                guard size >= 0, binary.endIndex - cursor >= Int(size) else {
                    throw bad(name, "parameters.binary_data_size", "\(size) bytes, \(binary.endIndex - cursor) binary bytes remain")
                }
                request.rawInputContents.append(binary.subdata(in: cursor..<(cursor + Int(size))))
                cursor += Int(size)
            } else if let data = object["data"] {
                input.contents = try contents(data, datatype: datatype, item: name)
            }
            request.inputs.append(input)
        }
        guard cursor == binary.endIndex else { throw bad(model, "body", "\(binary.endIndex - cursor) binary bytes no input claims") }
        var binaryOutputs: [String: Bool] = [:]
        if let outputs = root["outputs"] {
            guard let list = outputs as? [[String: Any]] else { throw bad(model, "outputs", "must be an array of output objects") }
            for (i, object) in list.enumerated() {
                guard let name = object["name"] as? String else { throw bad("outputs[\(i)]", "name", "must be a string") }
                var output = Inference_ModelInferRequest.InferRequestedOutputTensor()
                output.name = name
                output.parameters = try parameters(object["parameters"], item: name)
                if case .boolParam(let b)? = output.parameters.removeValue(forKey: "binary_data")?.parameterChoice { binaryOutputs[name] = b }
                request.outputs.append(output)
            }
        }
        return Parsed(request: request, binaryOutputs: binaryOutputs, binaryByDefault: binaryByDefault)
    }

    /// What JSONSerialization made of a JSON literal: `true`/`false` are char-typed, whole
    /// numbers integer-typed, the rest double.
    static func isBool(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }
    static func isInteger(_ n: NSNumber) -> Bool { ["i", "q", "l", "s", "I", "Q", "L", "S"].contains(String(cString: n.objCType)) }

    /// JSON parameters as protocol parameters: booleans, integers, doubles and strings.
    static func parameters(_ value: Any?, item: String) throws(ServeError) -> [String: Inference_InferParameter] {
        guard let value else { return [:] }
        guard let object = value as? [String: Any] else { throw bad(item, "parameters", "must be an object") }
        var out: [String: Inference_InferParameter] = [:]
        for (key, v) in object {
            var p = Inference_InferParameter()
            if let s = v as? String {
                p.stringParam = s
            } else if let n = v as? NSNumber {
                if isBool(n) {
                    p.boolParam = n.boolValue
                } else if isInteger(n) {
                    p.int64Param = n.int64Value
                } else {
                    p.doubleParam = n.doubleValue
                }
            } else {
                throw bad(item, "parameters.\(key)", "must be a boolean, number or string")
            }
            out[key] = p
        }
        return out
    }

    /// A repository request's `parameters` as text (`version`, `alias`).
    static func textParameters(_ value: Any?) -> [String: String] {
        guard let object = value as? [String: Any] else { return [:] }
        return object.reduce(into: [:]) { out, entry in out[entry.key] = "\(entry.value)" }
    }

    /// An input's JSON `data` (flat or nested, row-major) as typed contents.
    static func contents(_ data: Any, datatype: String, item: String) throws(ServeError) -> Inference_InferTensorContents {
        var flat: [Any] = []
        func walk(_ v: Any) {
            if let array = v as? [Any] { for e in array { walk(e) } } else { flat.append(v) }
        }
        walk(data)
        var contents = Inference_InferTensorContents()
        switch datatype {
        case "BYTES":
            contents.bytesContents = try flat.enumerated().map { (i, v) throws(ServeError) -> Data in
                guard let s = v as? String else { throw bad(item, "data[\(i)]", "a BYTES element is a string") }
                return Data(s.utf8)
            }
        case "FP32", "FP64", "FP16", "BF16":
            contents.fp32Contents = try flat.enumerated().map { (i, v) throws(ServeError) -> Float in
                guard let n = v as? NSNumber, !isBool(n) else { throw bad(item, "data[\(i)]", "not a number") }
                return n.floatValue
            }
        case "INT8", "INT16", "INT32", "UINT8", "UINT16":
            contents.intContents = try flat.enumerated().map { (i, v) throws(ServeError) -> Int32 in
                guard let n = v as? NSNumber, !isBool(n) else { throw bad(item, "data[\(i)]", "not a number") }
                return n.int32Value
            }
        default:
            // The input's datatype check names the problem (vf-serve's inputs are FP32 and BYTES).
            break
        }
        return contents
    }

    /// The JSON (and binary data) of an infer response.
    static func encode(_ response: Inference_ModelInferResponse, parsed: Parsed) -> (json: Data, binary: Data) {
        var outputs: [[String: Any]] = []
        var binary = Data()
        let inSharedMemory = Set(parsed.request.outputs.filter { $0.parameters["shared_memory_region"] != nil }.map(\.name))
        for (i, tensor) in response.outputs.enumerated() {
            var object: [String: Any] = ["name": tensor.name, "datatype": tensor.datatype, "shape": tensor.shape.map { NSNumber(value: $0) }]
            let raw = i < response.rawOutputContents.count ? response.rawOutputContents[i] : Data()
            if inSharedMemory.contains(tensor.name) {
                // Written to the client's region; nothing travels here.
            } else if parsed.binary(tensor.name) {
                object["parameters"] = ["binary_data_size": NSNumber(value: raw.count)]
                binary.append(raw)
            } else {
                object["data"] = values(raw, datatype: tensor.datatype)
            }
            outputs.append(object)
        }
        var root: [String: Any] = ["model_name": response.modelName, "model_version": response.modelVersion, "outputs": outputs]
        if !response.id.isEmpty { root["id"] = response.id }
        let json = (try? JSONSerialization.data(withJSONObject: root)) ?? Data("{}".utf8)
        return (json, binary)
    }

    /// Raw little-endian contents as JSON values.
    static func values(_ raw: Data, datatype: String) -> [Any] {
        switch datatype {
        case "FP32":
            return raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }.map { NSNumber(value: $0) }
        case "INT32":
            return raw.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }.map { NSNumber(value: $0) }
        case "BYTES":
            return ((try? InferInputs.splitBytes(raw, item: "output")) ?? []).map { String(decoding: $0, as: UTF8.self) }
        default:
            return []
        }
    }

    /// A protocol message as Triton's HTTP JSON: proto field names, 64-bit counts as numbers.
    static func json(_ message: some SwiftProtobuf.Message) -> Data {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        guard let text = try? message.jsonString(options: options),
              let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) else { return Data("{}".utf8) }
        return (try? JSONSerialization.data(withJSONObject: numbersUnquoted(object))) ?? Data("{}".utf8)
    }

    /// Fields that are text even when they look like numbers.
    static let textFields: Set<String> = ["name", "version", "platform", "backend", "reason", "state", "key", "model_name",
                                          "model_version", "versions", "label_filename", "runtime", "default_model_filename"]

    /// The protobuf JSON mapping writes 64-bit integers as strings; Triton's HTTP API writes numbers.
    static func numbersUnquoted(_ value: Any, key: String? = nil) -> Any {
        if let object = value as? [String: Any] {
            return object.reduce(into: [String: Any]()) { $0[$1.key] = numbersUnquoted($1.value, key: $1.key) }
        }
        if let array = value as? [Any] { return array.map { numbersUnquoted($0, key: key) } }
        if let text = value as? String, let key, !textFields.contains(key), let n = Int64(text) { return NSNumber(value: n) }
        return value
    }
}
