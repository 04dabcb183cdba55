"""Checks vf-serve's Open Inference Protocol with the real tritonclient.grpc (and its raw stubs
for typed contents and malformed bytes). Usage: triton_checks.py HOST:PORT MODEL PNG_PATH PIXELS_PATH
TRACE_FILE (the PNG's 32×32×3 pixels, raw; the server's --trace-file).
Prints a JSON object of named booleans on its last line."""
import json
import queue
import sys

import grpc
import numpy as np
import tritonclient.grpc as triton
from tritonclient.grpc import service_pb2, service_pb2_grpc
from check_status import status_of

url, model, png_path, pixels_path, trace_file = sys.argv[1:6]
png = open(png_path, "rb").read()
pixels = np.fromfile(pixels_path, dtype=np.uint8).reshape(32, 32, 3)
client = triton.InferenceServerClient(url=url)
checks = {}


checks["server_live"] = client.is_server_live()
checks["server_ready"] = client.is_server_ready()
meta = client.get_server_metadata(as_json=True)
checks["server_metadata"] = meta["name"] == "visionfleet" and "statistics" in meta.get("extensions", [])
checks["model_ready"] = client.is_model_ready(model)
checks["unknown_model_not_ready"] = not client.is_model_ready("no-such-model")

m = client.get_model_metadata(model, as_json=True)
inputs = {i["name"]: i for i in m["inputs"]}
checks["metadata_inputs"] = inputs["images"]["datatype"] == "FP32" and inputs["images"]["shape"] == ["-1", "3", "32", "32"] \
    and inputs["image_bytes"]["datatype"] == "BYTES" and inputs["image_bytes"]["shape"] == ["-1", "1"]
checks["metadata_outputs"] = [o["name"] for o in m["outputs"]] == ["probabilities"] and m["outputs"][0]["shape"] == ["-1", "3"]

cfg = client.get_model_config(model, as_json=True)["config"]
checks["config_batching"] = int(cfg["max_batch_size"]) == 8 and "dynamic_batching" in cfg \
    and [i["dims"] for i in cfg["input"] if i["name"] == "images"] == [["3", "32", "32"]]

# The PNG as the preprocessed tensor (exact size, no resize): (pixel/255 - 0.5) / 0.25, CHW.
tensor = ((pixels.astype(np.float32) / 255.0 - 0.5) / 0.25).transpose(2, 0, 1)[None].copy()
batch = np.concatenate([tensor, tensor * 0.5], axis=0)

inp = triton.InferInput("images", list(batch.shape), "FP32")
inp.set_data_from_numpy(batch)
res = client.infer(model, [inp], request_id="r1")
probs = res.as_numpy("probabilities")
checks["infer_raw_fp32"] = probs.shape == (2, 3) and np.allclose(probs.sum(axis=1), 1, atol=1e-5) \
    and res.get_response().id == "r1" and res.get_response().model_version != ""

img = triton.InferInput("image_bytes", [1], "BYTES")
img.set_data_from_numpy(np.array([png], dtype=np.object_))
by_image = client.infer(model, [img]).as_numpy("probabilities")
checks["infer_image_bytes_matches_tensor"] = by_image.shape == (1, 3) and np.allclose(by_image[0], probs[0], atol=1e-4)

top = client.infer(model, [inp], outputs=[triton.InferRequestedOutput("probabilities", class_count=2)]).as_numpy("probabilities")
parts = [s.decode().split(":") for s in top[0]]
checks["classification_parameter"] = top.shape == (2, 2) and int(parts[0][1]) == int(np.argmax(probs[0])) \
    and abs(float(parts[0][0]) - probs[0].max()) < 1e-4 and parts[0][2] in ("circle", "square", "triangle")

# gRPC message compression, as tritonclient offers it.
for algorithm in ("gzip", "deflate"):
    zres = client.infer(model, [inp], compression_algorithm=algorithm).as_numpy("probabilities")
    checks[f"infer_{algorithm}_compressed"] = np.allclose(zres, probs, atol=1e-6)

# Every declared input at once, as perf_analyzer sends generated data: the tensor is used.
noise = triton.InferInput("image_bytes", [2, 1], "BYTES")
noise.set_data_from_numpy(np.array([[b"random text"], [b"more"]], dtype=np.object_))
both = client.infer(model, [noise, inp]).as_numpy("probabilities")
checks["both_inputs_use_tensor"] = both.shape == (2, 3) and np.allclose(both, probs, atol=1e-5)
checks["repeated_input_invalid"] = status_of(lambda: client.infer(model, [inp, inp])) == "StatusCode.INVALID_ARGUMENT"

# Typed contents (no raw bytes), through the raw stub.
channel = grpc.insecure_channel(url)
stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
req = service_pb2.ModelInferRequest(model_name=model)
t = req.inputs.add(name="images", datatype="FP32", shape=[1, 3, 32, 32])
t.contents.fp32_contents.extend(tensor.ravel().tolist())
typed = stub.ModelInfer(req)
typed_probs = np.frombuffer(typed.raw_output_contents[0], dtype=np.float32)
checks["infer_typed_contents"] = np.allclose(typed_probs, probs[0], atol=1e-5)

# Streaming: every response arrives with its id.
got = queue.Queue()
client.start_stream(callback=lambda result, error: got.put((result, error)))
for i in range(6):
    client.async_stream_infer(model, [inp], request_id=f"s{i}")
ids = set()
for _ in range(6):
    result, error = got.get(timeout=30)
    if error is None:
        ids.add(result.get_response().id)
client.stop_stream()
checks["stream_infer"] = ids == {f"s{i}" for i in range(6)}

stats = client.get_inference_statistics(model, as_json=True)["model_stats"][0]
checks["statistics"] = int(stats["inference_stats"]["success"]["count"]) >= 10 and len(stats["batch_stats"]) >= 1 \
    and int(stats["execution_count"]) >= 1

index = client.get_model_repository_index(as_json=True)["models"]
checks["repository_index"] = any(e["name"] == model and e.get("state") == "READY" for e in index)

# Bad input: each a clear status.
bad = triton.InferInput("images", [1, 3, 32, 32], "INT32")
bad.set_data_from_numpy(np.zeros((1, 3, 32, 32), dtype=np.int32))
checks["wrong_datatype_invalid"] = status_of(lambda: client.infer(model, [bad])) == "StatusCode.INVALID_ARGUMENT"
shape = triton.InferInput("images", [1, 3, 16, 16], "FP32")
shape.set_data_from_numpy(np.zeros((1, 3, 16, 16), dtype=np.float32))
checks["wrong_shape_invalid"] = status_of(lambda: client.infer(model, [shape])) == "StatusCode.INVALID_ARGUMENT"
junk = triton.InferInput("image_bytes", [1], "BYTES")
junk.set_data_from_numpy(np.array([b"not an image"], dtype=np.object_))
checks["undecodable_image_invalid"] = status_of(lambda: client.infer(model, [junk])) == "StatusCode.INVALID_ARGUMENT"
big = triton.InferInput("images", [9, 3, 32, 32], "FP32")
big.set_data_from_numpy(np.zeros((9, 3, 32, 32), dtype=np.float32))
checks["batch_over_max_invalid"] = status_of(lambda: client.infer(model, [big])) == "StatusCode.INVALID_ARGUMENT"
checks["unknown_model_not_found"] = status_of(lambda: client.infer("no-such-model", [inp])) == "StatusCode.NOT_FOUND"
checks["empty_request_invalid"] = status_of(lambda: client.infer(model, [])) == "StatusCode.INVALID_ARGUMENT"
try:
    channel.unary_unary("/inference.GRPCInferenceService/ModelInfer")(b"\xff\xff\xff")
    checks["malformed_protobuf_invalid"] = False
except grpc.RpcError as e:
    checks["malformed_protobuf_invalid"] = e.code() == grpc.StatusCode.INVALID_ARGUMENT

# LogSettings: read, change while serving, refuse what vf-serve does not do, restore.
logs = client.get_log_settings().settings
checks["log_settings_read"] = logs["log_info"].bool_param and logs["log_error"].bool_param \
    and logs["log_format"].string_param == "default" and logs["log_file"].string_param == ""
changed = client.update_log_settings({"log_verbose_level": 1, "log_info": False}).settings
checks["log_settings_update"] = changed["log_verbose_level"].uint32_param == 1 and not changed["log_info"].bool_param \
    and client.get_log_settings().settings["log_verbose_level"].uint32_param == 1
checks["log_settings_refused"] = status_of(lambda: client.update_log_settings({"log_file": "/tmp/vf.log"})) == "StatusCode.INVALID_ARGUMENT" \
    and status_of(lambda: client.update_log_settings({"log_colour": True})) == "StatusCode.INVALID_ARGUMENT" \
    and client.get_log_settings().settings["log_verbose_level"].uint32_param == 1
client.update_log_settings({"log_verbose_level": 0, "log_info": True})

# Trace settings: read, trace one model's requests into numbered files, refuse, clear.
def trace_settings(name=None):
    return {k: v["value"] for k, v in client.get_trace_settings(model_name=name, as_json=True)["settings"].items()}
ts = trace_settings()
checks["trace_settings_read"] = ts["trace_level"] == ["OFF"] and ts["trace_rate"] == ["1000"] and ts["trace_count"] == ["-1"] \
    and ts["log_frequency"] == ["0"] and ts["trace_file"] == [trace_file] and ts["trace_mode"] == ["triton"]
changed = client.update_trace_settings(model_name=model, settings={"trace_level": ["TIMESTAMPS"], "trace_rate": "1", "log_frequency": "2"},
                                       as_json=True)["settings"]
checks["trace_settings_update_model"] = changed["trace_level"]["value"] == ["TIMESTAMPS"] and changed["trace_rate"]["value"] == ["1"] \
    and trace_settings()["trace_level"] == ["OFF"] and trace_settings(model)["log_frequency"] == ["2"]
tensor = triton.InferInput("images", [1, 3, 32, 32], "FP32")
tensor.set_data_from_numpy(np.random.default_rng(4).standard_normal((1, 3, 32, 32)).astype(np.float32))
for i in range(4):
    client.infer(model, [tensor], request_id=f"t{i}")
stamps = ["REQUEST_START", "QUEUE_START", "COMPUTE_START", "COMPUTE_INPUT_END", "COMPUTE_OUTPUT_START", "COMPUTE_END", "REQUEST_END"]
try:
    traces = json.load(open(trace_file + ".0")) + json.load(open(trace_file + ".1"))
    checks["trace_files"] = [t["request_id"] for t in traces] == ["t0", "t1", "t2", "t3"] \
        and all(t["model_name"] == model and t["model_version"] == 1 for t in traces) \
        and all([s["name"] for s in t["timestamps"]] == stamps for t in traces) \
        and all([s["ns"] for s in t["timestamps"]] == sorted(s["ns"] for s in t["timestamps"]) for t in traces)
except (OSError, ValueError, KeyError) as e:
    print("trace files:", e, file=sys.stderr)
    checks["trace_files"] = False
checks["trace_settings_refused"] = status_of(lambda: client.update_trace_settings(settings={"trace_level": ["TENSORS"]})) == "StatusCode.INVALID_ARGUMENT" \
    and status_of(lambda: client.update_trace_settings(settings={"trace_file": "/tmp/elsewhere.json"})) == "StatusCode.INVALID_ARGUMENT" \
    and status_of(lambda: client.update_trace_settings(settings={"trace_rate": "0"})) == "StatusCode.INVALID_ARGUMENT" \
    and status_of(lambda: client.update_trace_settings(model_name="no-such-model", settings={"trace_rate": "5"})) == "StatusCode.NOT_FOUND" \
    and trace_settings()["trace_rate"] == ["1000"]
cleared = client.update_trace_settings(model_name=model, settings={"trace_level": None, "trace_rate": None, "log_frequency": None}, as_json=True)
checks["trace_settings_clear"] = cleared["settings"]["trace_level"]["value"] == ["OFF"] and trace_settings(model)["trace_rate"] == ["1000"]

# Unload, then load again through the repository API.
client.unload_model(model)
checks["unload"] = not client.is_model_ready(model)
client.load_model(model)
checks["load"] = client.is_model_ready(model) and client.infer(model, [inp]).as_numpy("probabilities").shape == (2, 3)

print(json.dumps(checks))
