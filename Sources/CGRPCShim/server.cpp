// Server half of the shim: a CallbackGenericService whose reactor turns every call into
// events for Swift and enforces bounded writes, demand-driven reads and a guaranteed Finish.
#include <grpcpp/ext/health_check_service_server_builder_option.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>

#include "shim_internal.h"

struct vfg_server_call final : public grpc::ServerGenericBidiReactor {
  vfg_server_call(grpc::GenericCallbackServerContext *ctx, size_t queue_bytes, size_t queue_messages)
      : ctx_(ctx), queue_(queue_bytes, queue_messages) {}

  grpc::GenericCallbackServerContext *ctx_;
  std::mutex mu_;
  vfg_event_callback callback_ = nullptr;
  void *callback_context_ = nullptr;
  std::atomic<int> refs_{2};  // grpc's (until OnDone) + the Swift side's

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

  ~vfg_server_call() override { vfg::Deliver(callback_, callback_context_, VFG_EVENT_RELEASE); }

  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  /// What to start once mu_ is released. grpc may run a reaction inline inside StartWrite /
  /// StartRead / Finish, so those are never called with mu_ held.
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
      if (a.write) StartWrite(a.write);
      if (a.read) StartRead(&read_buffer_);
      if (a.write_and_finish) StartWriteAndFinish(&final_message_, grpc::WriteOptions(), final_status_);
      if (a.finish) Finish(final_status_);
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

  void OnReadDone(bool ok) override {
    vfg_event e{};
    {
      std::lock_guard<std::mutex> lock(mu_);
      reading_ = false;
      if (ok) {
        e.kind = VFG_EVENT_MESSAGE;
        e.message = vfg::TakeBytes(read_buffer_);
        read_buffer_.Clear();
      } else {
        reads_ended_ = true;
        e.kind = VFG_EVENT_END_OF_STREAM;
      }
    }
    if (callback_) callback_(callback_context_, &e);
    else if (e.message.data) std::free(e.message.data);
  }

  void OnWriteDone(bool ok) override {
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

  void OnCancel() override {
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

  void OnDone() override {
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

namespace {

/// The generic service: every method lands here; Swift routes by name.
class GenericService final : public grpc::CallbackGenericService {
 public:
  GenericService(vfg_new_call_callback on_call, void *context, size_t queue_bytes, size_t queue_messages)
      : on_call_(on_call), context_(context), queue_bytes_(queue_bytes), queue_messages_(queue_messages) {}

  grpc::ServerGenericBidiReactor *CreateReactor(grpc::GenericCallbackServerContext *ctx) override {
    auto *call = new vfg_server_call(ctx, queue_bytes_, queue_messages_);
    auto metadata = vfg::MetadataView::From(ctx->client_metadata());
    vfg_call_info info{};
    info.method = ctx->method().data();
    info.method_length = ctx->method().size();
    std::string peer = ctx->peer();
    info.peer = peer.data();
    info.peer_length = peer.size();
    auto deadline = ctx->deadline();
    if (deadline == std::chrono::system_clock::time_point::max()) {
      info.deadline_unix_nanos = INT64_MAX;
    } else {
      auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
      info.deadline_unix_nanos = static_cast<int64_t>(nanos);
    }
    info.metadata = metadata.view();
    on_call_(context_, call, &info);
    return call;
  }

 private:
  vfg_new_call_callback on_call_;
  void *context_;
  size_t queue_bytes_;
  size_t queue_messages_;
};

}  // namespace

struct vfg_server {
  std::unique_ptr<GenericService> service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  std::once_flag shutdown_once;
};

extern "C" {

vfg_server *vfg_server_start(const vfg_server_config *config, vfg_new_call_callback on_call,
                             void *context, char *error, size_t error_capacity) {
  try {
    std::shared_ptr<grpc::ServerCredentials> creds;
    if (config->tls_cert_chain_pem && config->tls_private_key_pem) {
      grpc_ssl_client_certificate_request_type mode = GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
      if (config->tls_client_ca_pem) {
        mode = config->tls_require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                               : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
      }
      grpc::SslServerCredentialsOptions options(mode);
      if (config->tls_client_ca_pem) options.pem_root_certs = config->tls_client_ca_pem;
      options.pem_key_cert_pairs.push_back({config->tls_private_key_pem, config->tls_cert_chain_pem});
      creds = grpc::SslServerCredentials(options);
    } else {
      creds = grpc::InsecureServerCredentials();
    }

    grpc::EnableDefaultHealthCheckService(true);
    auto server = std::make_unique<vfg_server>();
    server->service = std::make_unique<GenericService>(on_call, context, config->write_queue_bytes,
                                                       config->write_queue_messages);
    grpc::ServerBuilder builder;
    std::string host = config->host && *config->host ? config->host : "0.0.0.0";
    std::string address = (host.find(':') != std::string::npos && host.front() != '[')
                              ? "[" + host + "]:" + std::to_string(config->port)
                              : host + ":" + std::to_string(config->port);
    builder.AddListeningPort(address, creds, &server->port);
    builder.RegisterCallbackGenericService(server->service.get());
    // A second server on a taken port must fail, not silently share it.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    builder.SetMaxReceiveMessageSize(
        static_cast<int>(std::min<int64_t>(vfg::OrDefault(config->max_receive_bytes, vfg::kDefaultMaxMessageBytes), INT32_MAX)));
    builder.SetMaxSendMessageSize(
        static_cast<int>(std::min<int64_t>(vfg::OrDefault(config->max_send_bytes, vfg::kDefaultMaxMessageBytes), INT32_MAX)));
    server->server = builder.BuildAndStart();
    if (!server->server || server->port == 0) {
      vfg::WriteError(error, error_capacity, "could not bind " + address);
      return nullptr;
    }
    return server.release();
  } catch (const std::exception &ex) {
    vfg::WriteError(error, error_capacity, std::string("server start failed: ") + ex.what());
    return nullptr;
  }
}

int vfg_server_port(const vfg_server *server) { return server->port; }

void vfg_server_set_serving(vfg_server *server, const char *service, int serving) {
  if (auto *health = server->server->GetHealthCheckService()) {
    health->SetServingStatus(service ? service : "", serving != 0);
  }
}

void vfg_server_shutdown(vfg_server *server, double grace_seconds) {
  std::call_once(server->shutdown_once, [&] {
    if (auto *health = server->server->GetHealthCheckService()) health->Shutdown();
    auto grace = std::chrono::duration_cast<std::chrono::system_clock::duration>(
        std::chrono::duration<double>(grace_seconds > 0 ? grace_seconds : 0));
    server->server->Shutdown(std::chrono::system_clock::now() + grace);
    server->server->Wait();
  });
}

void vfg_server_destroy(vfg_server *server) {
  vfg_server_shutdown(server, 0);
  delete server;
}

void vfg_server_call_set_callback(vfg_server_call *call, vfg_event_callback callback, void *context) {
  std::lock_guard<std::mutex> lock(call->mu_);
  call->callback_ = callback;
  call->callback_context_ = context;
}

void vfg_server_call_request_read(vfg_server_call *call) {
  vfg_server_call::Actions a;
  {
    std::lock_guard<std::mutex> lock(call->mu_);
    if (call->reading_) return;  // one read at a time: the pending one will answer
    call->reading_ = !call->reads_ended_ && !call->finish_started_ && !call->cancelled_;
    if (call->reading_) {
      a.read = true;
      a.started++;
      call->starting_++;
    }
  }
  if (a.read) {
    call->Run(a);
    return;
  }
  // Safe after DONE too: the context lives until the RELEASE event.
  vfg::Deliver(call->callback_, call->callback_context_, VFG_EVENT_END_OF_STREAM);
}

void vfg_server_call_add_initial_metadata(vfg_server_call *call, const char *key, size_t key_length,
                                          const uint8_t *value, size_t value_length) {
  std::lock_guard<std::mutex> lock(call->mu_);
  if (call->finish_requested_ || call->initial_metadata_sent_) return;
  call->ctx_->AddInitialMetadata(std::string(key, key_length),
                                 std::string(reinterpret_cast<const char *>(value), value_length));
}

vfg_write_result vfg_server_call_write(vfg_server_call *call, const uint8_t *data, size_t length) {
  grpc::ByteBuffer buffer = vfg::MakeBuffer(data, length);
  vfg_server_call::Actions a;
  vfg_write_result result = VFG_WRITE_OK;
  {
    std::lock_guard<std::mutex> lock(call->mu_);
    if (call->finish_requested_ || call->cancelled_ || call->done_) return VFG_WRITE_CLOSED;
    call->initial_metadata_sent_ = true;
    if (call->queue_.Push(std::move(buffer), length)) call->PlanWriteLocked(a, call->queue_.StartNext());
    if (call->queue_.Full()) {
      call->owe_writable_ = true;
      result = VFG_WRITE_FULL;
    }
  }
  call->Run(a);
  return result;
}

void vfg_server_call_finish(vfg_server_call *call, const uint8_t *final_message, size_t final_length,
                            const vfg_status *status, const vfg_metadata *trailing) {
  vfg_server_call::Actions a;
  {
  std::lock_guard<std::mutex> lock(call->mu_);
  if (call->finish_requested_) return;
  call->finish_requested_ = true;
  call->final_status_ = vfg::MakeStatus(status);
  if (trailing) {
    for (size_t i = 0; i < trailing->count; i++) {
      call->ctx_->AddTrailingMetadata(vfg::Key(trailing->entries[i]), vfg::Value(trailing->entries[i]));
    }
  }
  if (final_message) {
    call->has_final_message_ = true;
    call->final_message_ = vfg::MakeBuffer(final_message, final_length);
  }
  call->PlanFinishLocked(a);
  }
  call->Run(a);
}

void vfg_server_call_release(vfg_server_call *call) {
  static const char kMessage[] = "handler ended without a status";
  vfg_status status{2 /* UNKNOWN */, kMessage, sizeof(kMessage) - 1, nullptr, 0};
  vfg_server_call_finish(call, nullptr, 0, &status, nullptr);  // ignored if already finished
  call->Unref();
}

}  // extern "C"

extern "C" void vfg_bytes_free(vfg_bytes bytes) { std::free(bytes.data); }
