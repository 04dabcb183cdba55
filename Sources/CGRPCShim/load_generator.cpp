// A closed-loop unary load generator (what Triton's C++ perf_analyzer does): `concurrency`
// calls in flight on one channel, each re-issued from its completion until the deadline, with
// no Swift or task switches between calls. Benchmarks measure a server with it so the
// client's own cost on a shared machine stays small.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "shim_internal.h"

namespace {

using Clock = std::chrono::steady_clock;

struct LoadRun {
  grpc::GenericStub *stub = nullptr;
  std::string method;
  grpc::ByteBuffer request;
  Clock::time_point deadline;
  double *latencies_ms = nullptr;
  size_t latency_capacity = 0;
  std::atomic<uint64_t> completed{0};
  std::atomic<uint64_t> failed{0};
  std::mutex mu;
  std::condition_variable finished;
  int active = 0;
};

/// One call: its own context and buffers, freed once both the issuer (after UnaryCall returns)
/// and the completion are done with it.
struct LoadCall {
  explicit LoadCall(LoadRun *r) : run(r), request(r->request) {}  // the request shares its slices
  LoadRun *run;
  grpc::ClientContext context;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
  Clock::time_point started = Clock::now();
  std::atomic<int> refs{2};
  void Unref() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
};

void Completed(LoadCall *call, const grpc::Status &status);

// A completion that runs inline inside UnaryCall (a call failing at once) must not issue the
// next call from there, or a dead server would grow the stack by a frame per call: it is
// counted here and issued by the loop of the Issue already on this thread.
thread_local bool tl_issuing = false;
thread_local int tl_deferred = 0;

/// Starts the next call of a slot.
void Issue(LoadRun *run) {
  if (tl_issuing) {
    tl_deferred++;
    return;
  }
  tl_issuing = true;
  for (int pending = 1; pending > 0; pending += tl_deferred, tl_deferred = 0) {
    pending--;
    auto *call = new LoadCall(run);
    run->stub->UnaryCall(&call->context, run->method, grpc::StubOptions(), &call->request, &call->response,
                         [call](grpc::Status status) {
                           Completed(call, status);
                           call->Unref();
                         });
    call->Unref();
  }
  tl_issuing = false;
}

void Completed(LoadCall *call, const grpc::Status &status) {
  LoadRun *run = call->run;
  const auto now = Clock::now();
  if (status.ok()) {
    const uint64_t index = run->completed.fetch_add(1, std::memory_order_relaxed);
    if (index < run->latency_capacity) {
      run->latencies_ms[index] = std::chrono::duration<double, std::milli>(now - call->started).count();
    }
  } else {
    run->failed.fetch_add(1, std::memory_order_relaxed);
  }
  if (now < run->deadline) {
    Issue(run);
    return;
  }
  std::lock_guard<std::mutex> lock(run->mu);
  if (--run->active == 0) run->finished.notify_all();
}

}  // namespace

extern "C" int vfg_load_unary(vfg_channel *channel, const char *method, const uint8_t *request,
                              size_t request_length, int concurrency, double seconds,
                              double *latencies_ms, size_t latency_capacity,
                              uint64_t *completed, uint64_t *failed) {
  if (channel == nullptr || method == nullptr || concurrency <= 0 || seconds <= 0) return -1;
  LoadRun run;
  run.stub = channel->stub.get();
  run.method = method;
  run.request = vfg::MakeBuffer(request, request_length);
  run.deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  run.latencies_ms = latencies_ms;
  run.latency_capacity = latency_capacity;
  run.active = concurrency;
  for (int i = 0; i < concurrency; i++) Issue(&run);
  {
    std::unique_lock<std::mutex> lock(run.mu);
    run.finished.wait(lock, [&] { return run.active == 0; });
  }
  *completed = run.completed.load();
  *failed = run.failed.load();
  return 0;
}
