"""A real outside client: Python grpcio calls a VisionFleet (Swift) server for every call kind
and checks health with grpcio-health-checking. Prints one JSON object of results.

EchoRequest/EchoResponse are encoded by hand (fields: 1 text, 2 payload, 3 count / index),
so no generated Python code is needed."""
import json
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def encode(text="", payload=b"", count=0):
    out = b""
    if text:
        t = text.encode()
        out += b"\x0a" + varint(len(t)) + t
    if payload:
        out += b"\x12" + varint(len(payload)) + payload
    if count:
        out += b"\x18" + varint(count)
    return out


def decode(data):
    fields, i = {}, 0
    while i < len(data):
        key, i = read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = read_varint(data, i)
        elif wire == 2:
            n, i = read_varint(data, i)
            value, i = data[i:i + n], i + n
        else:
            raise ValueError(f"unexpected wire type {wire}")
        fields[number] = value
    return {"text": fields.get(1, b"").decode(), "payload": fields.get(2, b""), "index": fields.get(3, 0)}


def read_varint(data, i):
    shift = result = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, i


def main():
    port = sys.argv[1]
    down_service = sys.argv[2]
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    ident = lambda b: b
    svc = "/visionfleet.v1.EchoService/"
    results = {}

    unary = channel.unary_unary(svc + "Unary", request_serializer=ident, response_deserializer=ident)
    r = decode(unary(encode("from-python", b"\x00\x01\x02"), timeout=10))
    results["unary"] = r["text"] == "from-python" and r["payload"] == b"\x00\x01\x02"

    stream = channel.unary_stream(svc + "ServerStream", request_serializer=ident, response_deserializer=ident)
    items = [decode(m) for m in stream(encode("s", count=25), timeout=10)]
    results["server_stream"] = [m["index"] for m in items] == list(range(25)) and all(m["text"] == "s" for m in items)

    client_stream = channel.stream_unary(svc + "ClientStream", request_serializer=ident, response_deserializer=ident)
    r = decode(client_stream(iter([encode(f"c{i}") for i in range(10)]), timeout=10))
    results["client_stream"] = r["text"] == ",".join(f"c{i}" for i in range(10)) and r["index"] == 10

    bidi = channel.stream_stream(svc + "Bidi", request_serializer=ident, response_deserializer=ident)
    items = [decode(m) for m in bidi(iter([encode(f"b{i}") for i in range(10)]), timeout=10)]
    results["bidi"] = [m["text"] for m in items] == [f"b{i}" for i in range(10)]

    try:
        # field 5, fail_with_code = 5 (NOT_FOUND)
        unary(encode("x") + b"\x28" + varint(grpc.StatusCode.NOT_FOUND.value[0]), timeout=10)
        results["error_status"] = False
    except grpc.RpcError as e:
        results["error_status"] = e.code() == grpc.StatusCode.NOT_FOUND and "echo failure" in e.details()

    try:
        channel.unary_unary("/visionfleet.v1.EchoService/Nope", request_serializer=ident,
                            response_deserializer=ident)(b"", timeout=10)
        results["unimplemented"] = False
    except grpc.RpcError as e:
        results["unimplemented"] = e.code() == grpc.StatusCode.UNIMPLEMENTED

    health = health_pb2_grpc.HealthStub(channel)
    ok = health.Check(health_pb2.HealthCheckRequest(service="visionfleet.v1.EchoService"), timeout=10)
    results["health_serving"] = ok.status == health_pb2.HealthCheckResponse.SERVING
    down = health.Check(health_pb2.HealthCheckRequest(service=down_service), timeout=10)
    results["health_not_serving"] = down.status == health_pb2.HealthCheckResponse.NOT_SERVING
    watch = health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=10)
    results["health_watch"] = next(watch).status == health_pb2.HealthCheckResponse.SERVING
    watch.cancel()

    print(json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    main()
