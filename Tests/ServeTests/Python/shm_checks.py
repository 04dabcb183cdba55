"""Checks vf-serve's system shared-memory extension with the real tritonclient.grpc and its
tritonclient.utils.shared_memory. Usage: shm_checks.py HOST:PORT MODEL ALLOWED (1 when vf-serve
runs with --allow-client-shm). Prints a JSON object of named booleans on its last line."""
import json
import os
import sys

import numpy as np
import tritonclient.grpc as triton
import tritonclient.utils.shared_memory as shm
from check_status import status_of

url, model, allowed = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
client = triton.InferenceServerClient(url=url)
checks = {}
tag = str(os.getpid())


batch = np.random.default_rng(5).standard_normal((2, 3, 32, 32)).astype(np.float32)
plain_input = triton.InferInput("images", list(batch.shape), "FP32")
plain_input.set_data_from_numpy(batch)
plain = client.infer(model, [plain_input]).as_numpy("probabilities")

checks["extension_listed"] = "system_shared_memory" in client.get_server_metadata(as_json=True).get("extensions", [])
checks["cuda_register_unimplemented"] = status_of(
    lambda: client.register_cuda_shared_memory("gpu", b"\0" * 64, 0, 64)) == "StatusCode.UNIMPLEMENTED"

# The input region holds the batch after 128 bytes of something else (an offset); the output
# region takes the probabilities.
in_handle = shm.create_shared_memory_region("in" + tag, "/vf_in_" + tag, 128 + batch.nbytes)
out_handle = shm.create_shared_memory_region("out" + tag, "/vf_out_" + tag, plain.nbytes)
try:
    shm.set_shared_memory_region(in_handle, [batch], offset=128)
    register = lambda: client.register_system_shared_memory("in", "/vf_in_" + tag, 128 + batch.nbytes)
    if not allowed:
        checks["register_refused_when_off"] = status_of(register) == "StatusCode.UNIMPLEMENTED"
    else:
        register()
        client.register_system_shared_memory("out", "/vf_out_" + tag, plain.nbytes)
        status = client.get_system_shared_memory_status(as_json=True)
        regions = {r["name"]: r for r in status.get("regions", {}).values()}
        checks["status_lists_regions"] = set(regions) == {"in", "out"} and int(regions["out"]["byte_size"]) == plain.nbytes
        checks["register_twice_already_exists"] = status_of(register) == "StatusCode.ALREADY_EXISTS"
        checks["register_missing_object_invalid"] = status_of(
            lambda: client.register_system_shared_memory("x", "/vf_no_such_" + tag, 64)) == "StatusCode.INVALID_ARGUMENT"
        checks["register_past_end_invalid"] = status_of(
            lambda: client.register_system_shared_memory("y", "/vf_out_" + tag, plain.nbytes + 1)) == "StatusCode.INVALID_ARGUMENT"

        inp = triton.InferInput("images", list(batch.shape), "FP32")
        inp.set_shared_memory("in", batch.nbytes, offset=128)
        out = triton.InferRequestedOutput("probabilities")
        out.set_shared_memory("out", plain.nbytes)
        result = client.infer(model, [inp], outputs=[out])
        meta = result.get_output("probabilities")
        got = shm.get_contents_as_numpy(out_handle, np.float32, list(meta.shape))
        checks["infer_through_shared_memory"] = list(meta.shape) == [2, 3] and np.allclose(got, plain, atol=1e-6)

        # Input in shared memory, output in the response.
        mixed = client.infer(model, [inp]).as_numpy("probabilities")
        checks["shm_input_raw_output"] = np.allclose(mixed, plain, atol=1e-6)

        small = triton.InferRequestedOutput("probabilities")
        small.set_shared_memory("out", 8)
        checks["output_region_too_small_invalid"] = status_of(lambda: client.infer(model, [inp], outputs=[small])) == "StatusCode.INVALID_ARGUMENT"
        wrong = triton.InferInput("images", list(batch.shape), "FP32")
        wrong.set_shared_memory("in", batch.nbytes - 4, offset=128)
        checks["input_size_mismatch_invalid"] = status_of(lambda: client.infer(model, [wrong])) == "StatusCode.INVALID_ARGUMENT"
        outside = triton.InferInput("images", list(batch.shape), "FP32")
        outside.set_shared_memory("in", batch.nbytes, offset=256)
        checks["input_outside_region_invalid"] = status_of(lambda: client.infer(model, [outside])) == "StatusCode.INVALID_ARGUMENT"
        unknown = triton.InferInput("images", list(batch.shape), "FP32")
        unknown.set_shared_memory("nope", batch.nbytes)
        checks["unknown_region_not_found"] = status_of(lambda: client.infer(model, [unknown])) == "StatusCode.NOT_FOUND"

        # A client that shrinks its object after registering gets an error, never a crashed server.
        fd = os.open("/dev/shm/vf_cut_" + tag, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            os.ftruncate(fd, batch.nbytes)
            client.register_system_shared_memory("cut", "/vf_cut_" + tag, batch.nbytes)
            os.ftruncate(fd, 0)
            cut = triton.InferInput("images", list(batch.shape), "FP32")
            cut.set_shared_memory("cut", batch.nbytes)
            checks["truncated_object_invalid"] = status_of(lambda: client.infer(model, [cut])) == "StatusCode.INVALID_ARGUMENT" \
                and client.is_server_live()
        finally:
            os.close(fd)
            os.unlink("/dev/shm/vf_cut_" + tag)

        client.unregister_system_shared_memory("in")
        checks["unregistered_region_gone"] = status_of(lambda: client.infer(model, [inp])) == "StatusCode.NOT_FOUND"
        client.unregister_system_shared_memory()
        checks["unregister_all"] = client.get_system_shared_memory_status(as_json=True).get("regions", {}) == {}
finally:
    shm.destroy_shared_memory_region(in_handle)
    shm.destroy_shared_memory_region(out_handle)

print(json.dumps(checks))
