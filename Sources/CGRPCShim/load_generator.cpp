// A closed-loop unary load generator (what Triton's C++ perf_analyzer does): `concurrency`
// calls in flight on one channel, each re-issued from its completion until the deadline, with
// no Swift, allocation of messages or task switches between calls. Benchmarks measure a server
// with it so the client's own cost on a shared machine stays small.
#include <grpcpp/generic/generic_stub.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

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

/// One call in flight: issues the next call from the completion of the last.
struct LoadSlot {
  LoadRun *run = nullptr;
  std::unique_ptr<grpc::ClientContext> context;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
  Clock::time_point started;

  void Issue() {
    context = std::make_unique<grpc::ClientContext>();
    request = run->request;  // shares the slices
    response.Clear();
    started = Clock::now();
    run->stub->UnaryCall(context.get(), run->method, grpc::StubOptions(), &request, &response,
                         [this](grpc::Status status) { Completed(status); });
  }

  void Completed(const grpc::Status &status) {
    const auto now = Clock::now();
    if (status.ok()) {
      const uint64_t index = run->completed.fetch_add(1, std::memory_order_relaxed);
      if (index < run->latency_capacity) {
        run->latencies_ms[index] = std::chrono::duration<double, std::milli>(now - started).count();
      }
    } else {
      run->failed.fetch_add(1, std::memory_order_relaxed);
    }
    if (now < run->deadline) {
      Issue();
      return;
    }
    std::lock_guard<std::mutex> lock(run->mu);
    if (--run->active == 0) run->finished.notify_all();
  }
};

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
  std::vector<LoadSlot> slots(static_cast<size_t>(concurrency));
  for (auto &slot : slots) slot.run = &run;
  for (auto &slot : slots) slot.Issue();
  {
    std::unique_lock<std::mutex> lock(run.mu);
    run.finished.wait(lock, [&] { return run.active == 0; });
  }
  *completed = run.completed.load();
  *failed = run.failed.load();
  return 0;
}
