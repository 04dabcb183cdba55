"""Checks vf-serve's Open Inference Protocol over HTTP/REST with the real tritonclient.http (and
plain urllib for the raw JSON). Usage: http_checks.py HOST:PORT MODEL PNG_PATH.
Prints a JSON object of named booleans on its last line."""
import gzip
import json
import sys
import urllib.error
import urllib.request

import numpy as np
import tritonclient.http as triton
from check_status import status_of

url, model, png_path = sys.argv[1:4]
png = open(png_path, "rb").read()
client = triton.InferenceServerClient(url=url)
checks = {}


def post(path, body, headers=None):
    request = urllib.request.Request(f"http://{url}{path}", data=body, headers=headers or {}, method="POST")
    try:
        with urllib.request.urlopen(request) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


checks["server_live"] = client.is_server_live()
checks["server_ready"] = client.is_server_ready()
meta = client.get_server_metadata()
checks["server_metadata"] = meta["name"] == "visionfleet" and "binary_tensor_data" in meta["extensions"]
checks["model_ready"] = client.is_model_ready(model) and client.is_model_ready(model, "1")
checks["unknown_model_not_ready"] = not client.is_model_ready("no-such-model")

m = client.get_model_metadata(model)
inputs = {i["name"]: i for i in m["inputs"]}
checks["metadata"] = inputs["images"]["shape"] == [-1, 3, 32, 32] and inputs["image_bytes"]["shape"] == [-1, 1] \
    and m["outputs"][0]["name"] == "probabilities" and m["outputs"][0]["shape"] == [-1, 3]
cfg = client.get_model_config(model)
checks["config"] = cfg["max_batch_size"] == 8 and [i["dims"] for i in cfg["input"] if i["name"] == "images"] == [[3, 32, 32]] \
    and "dynamic_batching" in cfg

batch = np.random.default_rng(9).standard_normal((2, 3, 32, 32)).astype(np.float32)

# Binary tensor data both ways (tritonclient's default for numpy inputs).
inp = triton.InferInput("images", list(batch.shape), "FP32")
inp.set_data_from_numpy(batch)
res = client.infer(model, [inp], request_id="h1")
probs = res.as_numpy("probabilities")
checks["infer_binary"] = probs.shape == (2, 3) and np.allclose(probs.sum(axis=1), 1, atol=1e-5) and res.get_response()["id"] == "h1"

# JSON data both ways.
jin = triton.InferInput("images", list(batch.shape), "FP32")
jin.set_data_from_numpy(batch, binary_data=False)
jres = client.infer(model, [jin], outputs=[triton.InferRequestedOutput("probabilities", binary_data=False)])
checks["infer_json"] = np.allclose(jres.as_numpy("probabilities"), probs, atol=1e-5)

# An encoded image through image_bytes, and the classification extension.
img = triton.InferInput("image_bytes", [1, 1], "BYTES")
img.set_data_from_numpy(np.array([[png]], dtype=np.object_))
checks["infer_image_bytes"] = client.infer(model, [img]).as_numpy("probabilities").shape == (1, 3)
top = client.infer(model, [inp], outputs=[triton.InferRequestedOutput("probabilities", class_count=2)]).as_numpy("probabilities")
parts = [s.decode().split(":") for s in top[0]]
checks["classification"] = top.shape == (2, 2) and int(parts[0][1]) == int(np.argmax(probs[0]))

# Plain JSON, as curl would send it.
status, body, _ = post(f"/v2/models/{model}/infer", json.dumps(
    {"inputs": [{"name": "images", "shape": [1, 3, 32, 32], "datatype": "FP32", "data": batch[0].tolist()}]}).encode())
out = json.loads(body)["outputs"][0] if status == 200 else {}
checks["plain_json"] = status == 200 and out.get("shape") == [1, 3] and np.allclose(out["data"], probs[0], atol=1e-5)

# Compressed request bodies (tritonclient's request_compression_algorithm), and a bomb refused.
for algorithm in ("gzip", "deflate"):
    zres = client.infer(model, [inp], request_compression_algorithm=algorithm).as_numpy("probabilities")
    checks[f"infer_{algorithm}_body"] = np.allclose(zres, probs, atol=1e-6)
status, body, _ = post(f"/v2/models/{model}/infer", b"\x1f\x8b\x08\x00garbage", {"Content-Encoding": "gzip"})
checks["damaged_gzip_400"] = status == 400 and "gzip" in json.loads(body)["error"]
bomb = gzip.compress(b"[" + b"0," * (40 << 20) + b"0]")
status, body, _ = post(f"/v2/models/{model}/infer", bomb, {"Content-Encoding": "gzip"})
checks["gzip_bomb_413"] = status == 413 and "limit" in json.loads(body)["error"]

stats = client.get_inference_statistics(model)["model_stats"][0]
checks["statistics"] = stats["inference_stats"]["success"]["count"] >= 5 and isinstance(stats["execution_count"], int)
index = client.get_model_repository_index()
checks["repository_index"] = any(e["name"] == model and e["state"] == "READY" for e in index)

# Bad input: each a clear status and an {"error": ...} body.
bad = triton.InferInput("images", [1, 3, 16, 16], "FP32")
bad.set_data_from_numpy(np.zeros((1, 3, 16, 16), dtype=np.float32))
checks["wrong_shape_400"] = status_of(lambda: client.infer(model, [bad])) == "400"
checks["unknown_model_404"] = status_of(lambda: client.infer("no-such-model", [inp])) == "404"
status, body, _ = post(f"/v2/models/{model}/infer", b"{not json")
checks["malformed_json_400"] = status == 400 and "error" in json.loads(body)
status, body, _ = post(f"/v2/models/{model}/infer", b'{"inputs": []}', {"Inference-Header-Content-Length": "500"})
checks["header_length_past_body_400"] = status == 400 and "Inference-Header-Content-Length" in json.loads(body)["error"]
status, body, _ = post(f"/v2/models/{model}/infer", json.dumps(
    {"inputs": [{"name": "images", "shape": [1, 3, 32, 32], "datatype": "FP32", "parameters": {"binary_data_size": 12288}}]}).encode())
checks["missing_binary_400"] = status == 400 and "binary_data_size" in json.loads(body)["error"]

# What vf-serve does not serve answers as Triton does: a status and an {"error": ...} body.
status, body, _ = post("/v2/no/such/endpoint", b"{}")
checks["unknown_endpoint_json_404"] = status == 404

# Trace settings (GET/POST /v2/trace/setting, /v2/models/NAME/trace/setting): this server has no
# trace file, so tracing cannot be switched on; rates and counts can still be set and cleared.
ts = client.get_trace_settings()
checks["trace_settings_read"] = ts.get("trace_level") == ["OFF"] and ts.get("trace_rate") == "1000" and ts.get("trace_file") == ""
changed = client.update_trace_settings(model_name=model, settings={"trace_rate": "10", "trace_count": "5"})
checks["trace_settings_update"] = changed.get("trace_rate") == "10" and changed.get("trace_count") == "5" \
    and client.get_trace_settings().get("trace_rate") == "1000" and client.get_trace_settings(model_name=model).get("trace_rate") == "10"
checks["trace_settings_refused"] = status_of(lambda: client.update_trace_settings(settings={"trace_level": ["TIMESTAMPS"]})) == "400" \
    and status_of(lambda: client.update_trace_settings(settings={"trace_rate": ["1", "2"]})) == "400" \
    and status_of(lambda: client.get_trace_settings(model_name="no-such-model")) == "404"
checks["trace_settings_clear"] = client.update_trace_settings(model_name=model, settings={"trace_rate": None}).get("trace_rate") == "1000"

# Log settings (GET/POST /v2/logging): read, change, refuse, restore.
logs = client.get_log_settings()
checks["log_settings_read"] = logs.get("log_info") is True and logs.get("log_format") == "default" and logs.get("log_file") == ""
changed = client.update_log_settings({"log_verbose_level": 2, "log_warning": False})
checks["log_settings_update"] = changed.get("log_verbose_level") == 2 and changed.get("log_warning") is False \
    and client.get_log_settings().get("log_verbose_level") == 2
checks["log_settings_refused"] = status_of(lambda: client.update_log_settings({"log_info": "yes"})) == "400" \
    and status_of(lambda: client.update_log_settings({"log_format": "ISO8601"})) == "400"
client.update_log_settings({"log_verbose_level": 0, "log_warning": True})

client.unload_model(model)
checks["unload"] = not client.is_model_ready(model)
client.load_model(model)
checks["load"] = client.is_model_ready(model)

print(json.dumps(checks))
