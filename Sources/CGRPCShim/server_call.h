// A server call as Swift sees it: bounded writes, demand-driven reads and a guaranteed Finish,
// turned into events. The transport underneath is one of two grpc server APIs (server.cpp):
// the callback API (`ReactorCall`) or the completion-queue API (`QueuedCall`,
// queued_server.cpp), which supplies only the four operations and reports their completions.
#ifndef VFGRPC_SERVER_CALL_H
#define VFGRPC_SERVER_CALL_H

#include <grpcpp/generic/async_generic_service.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "shim_internal.h"

struct vfg_server_call {
  vfg_server_call(grpc::ServerContextBase *ctx, size_t queue_bytes, size_t queue_messages)
      : ctx_(ctx), queue_(queue_bytes, queue_messages) {}
  virtual ~vfg_server_call() { vfg::Deliver(callback_, callback_context_, VFG_EVENT_RELEASE); }

  grpc::ServerContextBase *ctx_;
  std::mutex mu_;
  vfg_event_callback callback_ = nullptr;
  void *callback_context_ = nullptr;
  std::atomic<int> refs_{2};  // the transport's (until Done) + the Swift side's

  vfg::WriteQueue queue_;
  bool owe_writable_ = false;  // a FULL answer was given; one WRITABLE event is owed
  bool reading_ = false;
  bool reads_ended_ = false;
  grpc::ByteBuffer read_buffer_;

  // Finish state: requested by Swift (or forced by cancel), started once writes drained.
  bool finish_requested_ = false;
  bool finish_started_ = false;
  bool cancelled_ = false;
  bool done_ = false;
  grpc::Status final_status_;
  bool has_final_message_ = false;
  grpc::ByteBuffer final_message_;

  bool initial_metadata_sent_ = false;

  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // MARK: the transport's four operations (never called with mu_ held: grpc may complete
  // them inline).
  virtual void StartReadOp(grpc::ByteBuffer *into) = 0;
  virtual void StartWriteOp(grpc::ByteBuffer *message) = 0;
  virtual void StartWriteAndFinishOp(grpc::ByteBuffer *message, const grpc::Status &status) = 0;
  virtual void StartFinishOp(const grpc::Status &status) = 0;

  /// What to start once mu_ is released.
  /// Ops being started outside mu_ are counted in `starting_`: Finish waits for them, because
  /// once Finish completes grpc may end the call, and an op started after that is invalid.
  struct Actions {
    grpc::ByteBuffer *write = nullptr;
    bool read = false;
    bool finish = false;
    bool write_and_finish = false;
    bool notify_writable = false;
    int started = 0;  // how many of write/read were counted in starting_
  };
  int starting_ = 0;

  void PlanWriteLocked(Actions &a, grpc::ByteBuffer *next) {
    if (!next) return;
    a.write = next;
    a.started++;
    starting_++;
  }

  // Plans Finish if it was requested and the queue is idle. Caller holds mu_.
  void PlanFinishLocked(Actions &a) {
    if (!finish_requested_ || finish_started_ || !queue_.Idle() || starting_ > 0) return;
    finish_started_ = true;
    initial_metadata_sent_ = true;
    if (has_final_message_ && final_status_.ok() && !cancelled_) a.write_and_finish = true;
    else a.finish = true;
  }

  void Run(Actions a) {
    while (true) {
      if (a.write) StartWriteOp(a.write);
      if (a.read) StartReadOp(&read_buffer_);
      if (a.write_and_finish) StartWriteAndFinishOp(&final_message_, final_status_);
      if (a.finish) StartFinishOp(final_status_);
      if (a.notify_writable) vfg::Deliver(callback_, callback_context_, VFG_EVENT_WRITABLE);
      if (a.started == 0) return;
      Actions next;
      {
        std::lock_guard<std::mutex> lock(mu_);
        starting_ -= a.started;
        PlanFinishLocked(next);  // a finish that waited for these starts
      }
      a = next;
    }
  }

  // MARK: completions, reported by the transport.

  void ReadDone(bool ok) {
    vfg_event e{};
    {
      std::lock_guard<std::mutex> lock(mu_);
      reading_ = false;
      if (ok) {
        e = vfg::TakeMessageEvent(read_buffer_);
      } else {
        reads_ended_ = true;
        e.kind = VFG_EVENT_END_OF_STREAM;
      }
    }
    if (callback_) callback_(callback_context_, &e);
    else if (e.message.data) std::free(e.message.data);
  }

  void WriteDone(bool ok) {
    Actions a;
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.Completed();
      if (!ok) {
        // The client is gone: drop what is queued and finish with what we know.
        queue_.DropPending();
        if (!finish_requested_) {
          finish_requested_ = true;
          final_status_ = grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
        }
        cancelled_ = true;
      } else if (!finish_started_) {
        PlanWriteLocked(a, queue_.StartNext());
      }
      if (owe_writable_ && (queue_.BelowLowWater() || cancelled_)) {
        owe_writable_ = false;
        a.notify_writable = true;
      }
      PlanFinishLocked(a);
    }
    Run(a);
  }

  void Cancelled() {
    Actions a;
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancelled_ = true;
      queue_.DropPending();
      if (!finish_requested_) {
        finish_requested_ = true;
        final_status_ = grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled");
      }
      if (owe_writable_) {
        owe_writable_ = false;
        a.notify_writable = true;
      }
      PlanFinishLocked(a);
    }
    vfg::Deliver(callback_, callback_context_, VFG_EVENT_CANCELLED);
    Run(a);
  }

  /// Every operation has completed and the call is over: the last event before RELEASE.
  void Done() {
    grpc::Status status;
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
      status = final_status_;
    }
    if (callback_) {
      const std::string message = status.error_message();
      vfg_event e{};
      e.kind = VFG_EVENT_DONE;
      e.status.code = static_cast<int>(status.error_code());
      e.status.message = message.data();
      e.status.message_length = message.size();
      callback_(callback_context_, &e);
    }
    Unref();
  }
};

namespace vfg {

/// Fills the Swift-facing description of a new call and hands it to `on_call`.
inline void AnnounceCall(vfg_new_call_callback on_call, void *context, vfg_server_call *call,
                         const std::string &method) {
  auto metadata = MetadataView::From(call->ctx_->client_metadata());
  vfg_call_info info{};
  info.method = method.data();
  info.method_length = method.size();
  std::string peer = call->ctx_->peer();
  info.peer = peer.data();
  info.peer_length = peer.size();
  auto deadline = call->ctx_->deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) {
    info.deadline_unix_nanos = INT64_MAX;
  } else {
    auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
    info.deadline_unix_nanos = static_cast<int64_t>(nanos);
  }
  info.metadata = metadata.view();
  on_call(context, call, &info);
}

/// The completion-queue transport: `threads` threads serve every call from one queue, so a
/// request's read, handling and answer need no hand-off between grpc's own threads
/// (queued_server.cpp).
class QueuedServer {
 public:
  QueuedServer(vfg_new_call_callback on_call, void *context, size_t queue_bytes, size_t queue_messages)
      : on_call_(on_call), context_(context), queue_bytes_(queue_bytes), queue_messages_(queue_messages) {}
  ~QueuedServer();

  /// Registers the service and its queue with `builder` (before BuildAndStart).
  void Register(grpc::ServerBuilder &builder);
  /// Starts `threads` threads and the pending accepts (after BuildAndStart).
  void Start(int threads);
  /// Ends the threads; call after the server has shut down.
  void Stop();

  /// Posts one accept for the next call (the queue thread calls it as each call arrives);
  /// nothing once stopping.
  void Accept();
  /// One posted accept has ended: refused at shutdown, or its call is over.
  void Retire();
  void Announce(vfg_server_call *call, const std::string &method) { AnnounceCall(on_call_, context_, call, method); }

 private:
  vfg_new_call_callback on_call_;
  void *context_;
  size_t queue_bytes_;
  size_t queue_messages_;
  grpc::AsyncGenericService service_;
  std::unique_ptr<grpc::ServerCompletionQueue> cq_;
  std::vector<std::thread> threads_;
  std::mutex accept_mu_;  // an accept is never posted to a queue that was shut down
  bool stopping_ = false;
  int live_ = 0;  // accepts posted and not yet ended (guarded by accept_mu_)
  std::condition_variable all_retired_;
};

}  // namespace vfg

#endif  // VFGRPC_SERVER_CALL_H
