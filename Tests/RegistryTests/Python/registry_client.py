"""A real outside client of vf-registry: Python grpcio with stubs generated from Protos/ by
grpc_tools. Uploads a package (header, then 256 KiB chunks), resolves an alias, downloads and
checks digests, reads the event stream, and checks a bad upload's status.
usage: registry_client.py PROTOS_DIR PORT PACKAGE_DIR
Prints one JSON object of named checks last."""
import hashlib, importlib, json, os, sys, tempfile
from grpc_tools import protoc
import grpc

protos, port, package = sys.argv[1], sys.argv[2], sys.argv[3]
out = tempfile.mkdtemp(prefix="vf_stubs_")
files = ["visionfleet/v1/common.proto", "visionfleet/v1/registry.proto"]
well_known = os.path.join(os.path.dirname(protoc.__file__), "_proto")
rc = protoc.main(["protoc", f"-I{protos}", f"-I{well_known}", f"--python_out={out}", f"--grpc_python_out={out}", *files])
assert rc == 0, f"protoc failed: {rc}"
sys.path.insert(0, out)
pb = importlib.import_module("visionfleet.v1.registry_pb2")
common = importlib.import_module("visionfleet.v1.common_pb2")
rpc = importlib.import_module("visionfleet.v1.registry_pb2_grpc")

channel = grpc.insecure_channel(f"127.0.0.1:{port}")
stub = rpc.RegistryServiceStub(channel)
checks = {}

manifest = open(os.path.join(package, "manifest.json")).read()
names = sorted(json.loads(manifest)["files"])

def requests(model, corrupt=False):
    yield pb.UploadVersionRequest(header=pb.UploadVersionHeader(model=model, manifest_json=manifest, aliases=["production"]))
    for name in names:
        data = open(os.path.join(package, name), "rb").read()
        if corrupt:
            data = data[::-1]
        step = 256 << 10
        for offset in range(0, max(len(data), 1), step):
            part = data[offset:offset + step]
            last = offset + step >= len(data)
            chunk = common.FileChunk(path=name if offset == 0 else "", data=part, offset=offset, last=last)
            if last:
                chunk.digest = "sha256:" + hashlib.sha256(data).hexdigest()
                chunk.total_size = len(data)
            yield pb.UploadVersionRequest(chunk=chunk)

version = stub.UploadVersion(requests("py-model"))
checks["upload"] = version.version == 1 and version.model == "py-model" and "production" in list(version.aliases)

resolved = stub.GetModelVersion(pb.GetModelVersionRequest(ref=common.ModelRef(name="py-model", alias="production")))
checks["resolve_alias"] = resolved.version == 1 and resolved.manifest_json == manifest

got, digests, current = {}, {}, None
for chunk in stub.DownloadVersion(pb.DownloadVersionRequest(ref=common.ModelRef(name="py-model", version=1))):
    if chunk.offset == 0:
        current = chunk.path
        got[current] = bytearray()
    got[current] += chunk.data
    if chunk.last:
        digests[current] = chunk.digest
checks["download"] = all(
    digests[p] == "sha256:" + hashlib.sha256(bytes(got[p])).hexdigest() for p in got
) and bytes(got["manifest.json"]).decode() == manifest and set(got) == set(names) | {"manifest.json"}

events = []
for event in stub.WatchEvents(pb.WatchEventsRequest(from_sequence=0), timeout=5):
    events.append(event)
    if len(events) == 3:
        break
checks["watch_events"] = [e.sequence for e in events] == [1, 2, 3] and events[1].WhichOneof("event") == "version_created"

try:
    stub.UploadVersion(requests("py-model", corrupt=True))
    checks["bad_upload_invalid_argument"] = False
except grpc.RpcError as e:
    checks["bad_upload_invalid_argument"] = e.code() == grpc.StatusCode.INVALID_ARGUMENT and "weights" in e.details()

try:
    stub.GetModel(pb.GetModelRequest(name="absent"))
    checks["not_found"] = False
except grpc.RpcError as e:
    checks["not_found"] = e.code() == grpc.StatusCode.NOT_FOUND

print(json.dumps(checks))
