"""The Python grpcio peer for `vf bench rpc --target`: visionfleet.v1.EchoService (Unary and
ServerStream) over raw bytes. Run with the test venv:
    $(scripts/python-venv.sh) scripts/grpcio-echo-server.py 50099
    swift run -c release vf bench rpc --target 127.0.0.1:50099
"""
import sys
from concurrent import futures

import grpc


def read_varint(data, i):
    shift = result = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, i


def varint(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def fields(data):
    out, i = {}, 0
    while i < len(data):
        key, i = read_varint(data, i)
        if key & 7 == 0:
            out[key >> 3], i = read_varint(data, i)
        else:
            n, i = read_varint(data, i)
            out[key >> 3], i = data[i:i + n], i + n
    return out


def unary(request, context):
    f = fields(request)
    out = b""
    for number in (1, 2):
        if number in f:
            out += bytes([number << 3 | 2]) + varint(len(f[number])) + f[number]
    return out


def server_stream(request, context):
    f = fields(request)
    body = unary(request, context)
    for i in range(f.get(3, 0)):
        yield body + b"\x18" + varint(i) if i else body


def main():
    port = sys.argv[1] if len(sys.argv) > 1 else "50099"
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("visionfleet.v1.EchoService", handlers),))
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print(f"grpcio echo server on 127.0.0.1:{port}", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
