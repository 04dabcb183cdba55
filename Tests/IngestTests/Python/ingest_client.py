"""A real outside client of vf-ingest: Python grpcio with stubs generated from Protos/ by
grpc_tools. Imports an ImageFolder tree (header, then each file in 64 KiB chunks), reads the
version and its items back, streams samples and checks their bytes, and checks a bad import.
usage: ingest_client.py PROTOS_DIR PORT FOLDER
Prints one JSON object of named checks last."""
import hashlib, importlib, json, os, sys, tempfile
from grpc_tools import protoc
import grpc

protos, port, folder = sys.argv[1], sys.argv[2], sys.argv[3]
out = tempfile.mkdtemp(prefix="vf_stubs_")
well_known = os.path.join(os.path.dirname(protoc.__file__), "_proto")
rc = protoc.main(["protoc", f"-I{protos}", f"-I{well_known}", f"--python_out={out}", f"--grpc_python_out={out}",
                  "visionfleet/v1/common.proto", "visionfleet/v1/dataset.proto"])
assert rc == 0, rc
sys.path.insert(0, out)
pb = importlib.import_module("visionfleet.v1.dataset_pb2")
common = importlib.import_module("visionfleet.v1.common_pb2")
rpc = importlib.import_module("visionfleet.v1.dataset_pb2_grpc")
stub = rpc.DatasetServiceStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
checks = {}

files = sorted(os.path.relpath(os.path.join(r, f), folder) for r, _, fs in os.walk(folder) for f in fs if f.endswith(".png"))

def requests(corrupt=None):
    yield pb.ImportDatasetRequest(header=pb.ImportHeader(dataset="py-data", task=common.TASK_TYPE_CLASSIFICATION,
                                                         format=pb.DATASET_FORMAT_IMAGE_FOLDER))
    for name in files:
        data = open(os.path.join(folder, name), "rb").read()
        if name == corrupt:
            data = b"garbage" + data[7:]
        step = 64 << 10
        for offset in range(0, len(data), step):
            last = offset + step >= len(data)
            yield pb.ImportDatasetRequest(chunk=common.FileChunk(path=name if offset == 0 else "", data=data[offset:offset + step],
                                                                  offset=offset, last=last))

r = stub.ImportDataset(requests())
checks["import"] = r.version.version == 1 and r.version.image_count == len(files) and r.accepted_items == len(files)
v = stub.GetDatasetVersion(pb.GetDatasetVersionRequest(ref=common.DatasetRef(name="py-data")))
checks["version"] = v.manifest_digest == r.version.manifest_digest and sum(v.split_counts.values()) == len(files)
items = list(stub.ListItems(pb.ListItemsRequest(ref=common.DatasetRef(name="py-data", version=1))))
checks["items"] = len(items) == len(files) and all(i.class_id >= 0 for i in items)
samples = [s for b in stub.StreamSamples(pb.StreamSamplesRequest(ref=common.DatasetRef(name="py-data", version=1), batch_items=4))
           for s in b.samples]
checks["samples"] = len(samples) == len(files) and all(
    "sha256:" + hashlib.sha256(s.image).hexdigest() == s.item.blob_digest for s in samples)
try:
    stub.ImportDataset(requests(corrupt=files[0]))
    checks["bad_import_invalid_argument"] = False
except grpc.RpcError as e:
    checks["bad_import_invalid_argument"] = e.code() == grpc.StatusCode.INVALID_ARGUMENT and files[0].split("/")[-1] in e.details()
print(json.dumps(checks))
