// The completion-queue transport: grpc's AsyncGenericService with one queue, served by the
// server's own threads. A request that arrives on a thread already polling is read, handed to
// Swift and (for an inline handler) answered without waking another grpc thread — the callback
// API instead passes each of a call's steps to its next-ing threads through a second queue.
#include <grpcpp/generic/async_generic_service.h>
#include <pthread.h>

#include "server_call.h"

namespace {

/// One call on the completion-queue transport. Each operation's tag comes back from the queue;
/// the call is over (Done) once grpc has reported it finished or cancelled, its Finish has
/// completed and no read or write is outstanding.
class QueuedCall final : public vfg_server_call {
 public:
  enum class Kind { accepted, read, write, finish, over };
  struct Tag {
    QueuedCall *call;
    Kind kind;
  };

  QueuedCall(vfg::QueuedServer *server, size_t queue_bytes, size_t queue_messages)
      : vfg_server_call(&context_, queue_bytes, queue_messages), server_(server) {}

  /// Asks grpc for the next incoming call.
  void Post(grpc::AsyncGenericService &service, grpc::ServerCompletionQueue *cq) {
    context_.AsyncNotifyWhenDone(&over_);
    service.RequestCall(&context_, &stream_, cq, cq, &accepted_);
  }

  /// A tag of this call came back from the queue.
  void Complete(Kind kind, bool ok) {
    switch (kind) {
      case Kind::accepted:
        if (!ok) {  // the server is shutting down: no call, and no other tag will come
          auto *server = server_;
          delete this;
          server->Retire();
          return;
        }
        server_->Accept();
        server_->Announce(this, context_.method());
        return;
      case Kind::read:
        ReadDone(ok);
        break;
      case Kind::write:
        WriteDone(ok);
        break;
      case Kind::finish:
        break;
      case Kind::over:
        if (context_.IsCancelled()) Cancelled();
        break;
    }
    Settle();
  }

  void StartReadOp(grpc::ByteBuffer *into) override {
    pending_.fetch_add(1, std::memory_order_relaxed);
    stream_.Read(into, &read_);
  }
  void StartWriteOp(grpc::ByteBuffer *message) override {
    pending_.fetch_add(1, std::memory_order_relaxed);
    stream_.Write(*message, &write_);
  }
  void StartWriteAndFinishOp(grpc::ByteBuffer *message, const grpc::Status &status) override {
    stream_.WriteAndFinish(*message, grpc::WriteOptions(), status, &finish_);
  }
  void StartFinishOp(const grpc::Status &status) override { stream_.Finish(status, &finish_); }

 private:
  /// One completion fewer to wait for; the call is over when none remains.
  void Settle() {
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    auto *server = server_;
    Done();  // may free this call
    server->Retire();
  }

  vfg::QueuedServer *server_;
  grpc::GenericServerContext context_;
  grpc::GenericServerAsyncReaderWriter stream_{&context_};
  Tag accepted_{this, Kind::accepted};
  Tag read_{this, Kind::read};
  Tag write_{this, Kind::write};
  Tag finish_{this, Kind::finish};
  Tag over_{this, Kind::over};
  // The finish and the over notification, plus each read and write in flight.
  std::atomic<int> pending_{2};
};

/// Accepts posted ahead, so a burst of new calls finds one waiting for each.
constexpr int kAcceptsAhead = 16;

/// Hands each tag that comes back from `cq` to its call, until the queue is shut down and drained.
void Serve(grpc::ServerCompletionQueue *cq) {
  void *tag = nullptr;
  bool ok = false;
  while (cq->Next(&tag, &ok)) {
    auto *t = static_cast<QueuedCall::Tag *>(tag);
    t->call->Complete(t->kind, ok);
  }
}

}  // namespace

namespace vfg {

QueuedServer::~QueuedServer() { Stop(); }

void QueuedServer::Register(grpc::ServerBuilder &builder) {
  builder.RegisterAsyncGenericService(&service_);
  cq_ = builder.AddCompletionQueue();
}

void QueuedServer::Start(int threads) {
  for (int i = 0; i < kAcceptsAhead; i++) Accept();
  for (int i = 0; i < threads; i++) {
    threads_.emplace_back([this] {
      pthread_setname_np(pthread_self(), "vf-grpc-cq");  // for top -H, perf and the tests
      Serve(cq_.get());
    });
  }
}

void QueuedServer::Accept() {
  std::lock_guard<std::mutex> lock(accept_mu_);
  if (stopping_) return;
  live_++;
  auto *call = new QueuedCall(this, queue_bytes_, queue_messages_);
  call->Post(service_, cq_.get());
}

void QueuedServer::Retire() {
  std::lock_guard<std::mutex> lock(accept_mu_);
  if (--live_ == 0) all_retired_.notify_all();
}

void QueuedServer::Stop() {
  std::unique_lock<std::mutex> lock(accept_mu_);
  if (stopping_) return;
  stopping_ = true;
  if (!cq_) return;
  // The server has shut down, so every call is ending; one that ends after the queue shut down
  // would start its Finish on a dead queue. Wait for the last (a bounded wait: a call that never
  // ends leaves the queue and its threads running rather than hanging shutdown).
  if (!threads_.empty() && !all_retired_.wait_for(lock, std::chrono::seconds(10), [this] { return live_ == 0; })) {
    for (auto &t : threads_) t.detach();
    threads_.clear();
    (void)cq_.release();
    return;
  }
  lock.unlock();
  cq_->Shutdown();  // Next drains every tag still due, then ends the threads
  if (threads_.empty()) Serve(cq_.get());  // never started: drain here
  for (auto &t : threads_) t.join();
  threads_.clear();
}

}  // namespace vfg
