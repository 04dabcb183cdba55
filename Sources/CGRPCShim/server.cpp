// Server half of the shim: every call, on either transport (grpc's callback API, or its
// completion-queue API served by our own threads), becomes a `vfg_server_call`
// (server_call.h) that turns it into events for Swift.
#include <grpcpp/ext/health_check_service_server_builder_option.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>

#include "server_call.h"

namespace {

/// A call on the callback transport: grpc's reactor, forwarding its completions.
struct ReactorCall final : public vfg_server_call, public grpc::ServerGenericBidiReactor {
  ReactorCall(grpc::GenericCallbackServerContext *ctx, size_t queue_bytes, size_t queue_messages)
      : vfg_server_call(ctx, queue_bytes, queue_messages) {}

  void StartReadOp(grpc::ByteBuffer *into) override { StartRead(into); }
  void StartWriteOp(grpc::ByteBuffer *message) override { StartWrite(message); }
  void StartWriteAndFinishOp(grpc::ByteBuffer *message, const grpc::Status &status) override {
    StartWriteAndFinish(message, grpc::WriteOptions(), status);
  }
  void StartFinishOp(const grpc::Status &status) override { Finish(status); }

  void OnReadDone(bool ok) override { ReadDone(ok); }
  void OnWriteDone(bool ok) override { WriteDone(ok); }
  void OnCancel() override { Cancelled(); }
  void OnDone() override { Done(); }
};

/// The generic service: every method lands here; Swift routes by name.
class GenericService final : public grpc::CallbackGenericService {
 public:
  GenericService(vfg_new_call_callback on_call, void *context, size_t queue_bytes, size_t queue_messages)
      : on_call_(on_call), context_(context), queue_bytes_(queue_bytes), queue_messages_(queue_messages) {}

  grpc::ServerGenericBidiReactor *CreateReactor(grpc::GenericCallbackServerContext *ctx) override {
    auto *call = new ReactorCall(ctx, queue_bytes_, queue_messages_);
    vfg::AnnounceCall(on_call_, context_, call, ctx->method());
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
  std::unique_ptr<GenericService> service;      // the callback transport, or
  std::unique_ptr<vfg::QueuedServer> queued;    // the completion-queue one (outlives `server`)
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
    if (config->completion_queue_threads > 0) {
      server->queued = std::make_unique<vfg::QueuedServer>(on_call, context, config->write_queue_bytes,
                                                           config->write_queue_messages);
    } else {
      server->service = std::make_unique<GenericService>(on_call, context, config->write_queue_bytes,
                                                         config->write_queue_messages);
    }
    grpc::ServerBuilder builder;
    std::string host = config->host && *config->host ? config->host : "0.0.0.0";
    std::string address = (host.find(':') != std::string::npos && host.front() != '[')
                              ? "[" + host + "]:" + std::to_string(config->port)
                              : host + ":" + std::to_string(config->port);
    builder.AddListeningPort(address, creds, &server->port);
    if (server->queued) server->queued->Register(builder);
    else builder.RegisterCallbackGenericService(server->service.get());
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
    if (server->queued) server->queued->Start(config->completion_queue_threads);
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
    if (server->queued) server->queued->Stop();
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
