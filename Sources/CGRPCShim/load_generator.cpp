// A closed-loop unary load generator (what Triton's C++ perf_analyzer does): `concurrency`
// calls in flight on one channel, each re-issued from its completion until the deadline. It runs
// on the calling thread over its own completion queue (grpc's async API, as perf_analyzer's
// async mode), so no Swift, task or grpc callback-thread switches sit between calls and the
// client's own cost on a shared machine stays small.
#include <chrono>
#include <memory>

#include "shim_internal.h"

namespace {

using Clock = std::chrono::steady_clock;

/// One call in flight: its own context and buffers (a ClientContext serves one call).
struct LoadCall {
  grpc::ClientContext context;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
  grpc::ByteBuffer response;
  grpc::Status status;
  Clock::time_point started = Clock::now();
};

void Issue(grpc::GenericStub *stub, const std::string &method, const grpc::ByteBuffer &request,
           grpc::CompletionQueue *cq) {
  auto *call = new LoadCall;
  call->reader = stub->PrepareUnaryCall(&call->context, method, request, cq);
  call->reader->StartCall();
  call->reader->Finish(&call->response, &call->status, call);
}

}  // namespace

extern "C" int vfg_load_unary(vfg_channel *channel, const char *method, const uint8_t *request,
                              size_t request_length, int concurrency, double seconds,
                              double *latencies_ms, size_t latency_capacity,
                              uint64_t *completed, uint64_t *failed) {
  if (channel == nullptr || method == nullptr || concurrency <= 0 || seconds <= 0) return -1;
  const std::string name = method;
  const grpc::ByteBuffer message = vfg::MakeBuffer(request, request_length);  // calls share its slices
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  grpc::CompletionQueue cq;
  uint64_t ok_count = 0, failed_count = 0;
  for (int i = 0; i < concurrency; i++) Issue(channel->stub.get(), name, message, &cq);
  int active = concurrency;
  void *tag = nullptr;
  bool ok = false;
  while (active > 0 && cq.Next(&tag, &ok)) {
    std::unique_ptr<LoadCall> call(static_cast<LoadCall *>(tag));
    const auto now = Clock::now();
    if (ok && call->status.ok()) {
      if (ok_count < latency_capacity) {
        latencies_ms[ok_count] = std::chrono::duration<double, std::milli>(now - call->started).count();
      }
      ok_count++;
    } else {
      failed_count++;
    }
    if (now < deadline) Issue(channel->stub.get(), name, message, &cq);
    else active--;
  }
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) delete static_cast<LoadCall *>(tag);
  *completed = ok_count;
  *failed = failed_count;
  return 0;
}
