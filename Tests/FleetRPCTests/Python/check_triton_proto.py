"""Compares Protos/inference/*.proto (compiled by protoc into a descriptor set) with the
descriptors that the installed tritonclient package was generated from: every message, field
(name, number, type, label, message type), enum value and RPC must match. Prints JSON."""
import json
import sys

from google.protobuf import descriptor_pb2
from tritonclient.grpc import model_config_pb2, service_pb2


def index(files):
    messages, enums, methods = {}, {}, {}

    def walk(prefix, msg):
        name = f"{prefix}.{msg.name}"
        messages[name] = {f.name: (f.number, f.type, f.label, f.type_name.lstrip(".")) for f in msg.field}
        for e in msg.enum_type:
            enums[f"{name}.{e.name}"] = {v.name: v.number for v in e.value}
        for nested in msg.nested_type:
            walk(name, nested)

    for fd in files:
        for msg in fd.message_type:
            walk(fd.package, msg)
        for e in fd.enum_type:
            enums[f"{fd.package}.{e.name}"] = {v.name: v.number for v in e.value}
        for svc in fd.service:
            for m in svc.method:
                methods[f"{fd.package}.{svc.name}/{m.name}"] = (
                    m.input_type.lstrip("."), m.output_type.lstrip("."), m.client_streaming, m.server_streaming)
    return messages, enums, methods


def main():
    ours = descriptor_pb2.FileDescriptorSet()
    with open(sys.argv[1], "rb") as f:
        ours.ParseFromString(f.read())
    theirs = []
    for module in (service_pb2, model_config_pb2):
        fd = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(fd)
        theirs.append(fd)
    ours_files = [fd for fd in ours.file if fd.package == "inference"]
    a, b = index(ours_files), index(theirs)
    problems = []
    for kind, mine, ref in zip(("message", "enum", "rpc"), a, b):
        for name, value in ref.items():
            if name not in mine:
                problems.append(f"{kind} {name} missing")
            elif mine[name] != value:
                problems.append(f"{kind} {name} differs: ours {mine[name]} triton {value}")
    counts = {"messages": len(b[0]), "enums": len(b[1]), "rpcs": len(b[2])}
    print(json.dumps({"problems": problems, "checked": counts}))


if __name__ == "__main__":
    main()
