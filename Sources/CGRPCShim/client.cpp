// Client half of the shim: channels, unary calls over GenericStub::UnaryCall, and every
// streaming kind over one ClientBidiReactor with a bounded write queue and demand-driven reads.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>

#include "shim_internal.h"

namespace {

void Configure(grpc::ClientContext &ctx, const vfg_call_options *options) {
  if (options->timeout_nanos > 0) {
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::duration_cast<std::chrono::system_clock::duration>(
                         std::chrono::nanoseconds(options->timeout_nanos)));
  }
  for (size_t i = 0; i < options->metadata_count; i++) {
    ctx.AddMetadata(vfg::Key(options->metadata[i]), vfg::Value(options->metadata[i]));
  }
  if (options->wait_for_ready) ctx.set_wait_for_ready(true);
}

void DeliverInitialMetadata(vfg_event_callback cb, void *context, const grpc::ClientContext &ctx) {
  auto md = vfg::MetadataView::From(ctx.GetServerInitialMetadata());
  vfg_event e{};
  e.kind = VFG_EVENT_INITIAL_METADATA;
  e.metadata = md.view();
  cb(context, &e);
}

void DeliverDone(vfg_event_callback cb, void *context, const grpc::ClientContext &ctx,
                 const grpc::Status &status) {
  auto md = vfg::MetadataView::From(ctx.GetServerTrailingMetadata());
  const std::string message = status.error_message();
  const std::string details = status.error_details();
  vfg_event e{};
  e.kind = VFG_EVENT_DONE;
  e.status.code = static_cast<int>(status.error_code());
  e.status.message = message.data();
  e.status.message_length = message.size();
  e.status.details = reinterpret_cast<const uint8_t *>(details.data());
  e.status.details_length = details.size();
  e.metadata = md.view();
  cb(context, &e);
}

}  // namespace

/// Base of both client call kinds: a context, the callback, and two references
/// (grpc's until the call completes, the Swift side's until vfg_client_call_release).
struct vfg_client_call {
  virtual ~vfg_client_call() { vfg::Deliver(callback_, callback_context_, VFG_EVENT_RELEASE); }
  virtual vfg_write_result Write(const uint8_t *, size_t) { return VFG_WRITE_CLOSED; }
  virtual void WritesDone() {}
  virtual void RequestRead() { vfg::Deliver(callback_, callback_context_, VFG_EVENT_END_OF_STREAM); }
  virtual void Close() {}  // the Swift side will start no more operations

  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // Declared before ctx_ so it is destroyed after it: the context's call must be released
  // while its channel still exists. Retired, never dropped here (this may run on a grpc thread).
  vfg::ChannelRef channel_;
  grpc::ClientContext ctx_;
  std::string method_;
  vfg_event_callback callback_ = nullptr;
  void *callback_context_ = nullptr;
  std::atomic<int> refs_{2};
};

namespace {

class UnaryCall final : public vfg_client_call {
 public:
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;

  void Start(grpc::GenericStub &stub) {
    stub.UnaryCall(&ctx_, method_, grpc::StubOptions(), &request_, &response_, [this](grpc::Status status) {
      DeliverInitialMetadata(callback_, callback_context_, ctx_);
      if (status.ok()) {
        vfg_event e{};
        e.kind = VFG_EVENT_MESSAGE;
        e.message = vfg::TakeBytes(response_);
        callback_(callback_context_, &e);
      }
      DeliverDone(callback_, callback_context_, ctx_, status);
      Unref();
    });
  }
};

class StreamCall final : public vfg_client_call, public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  StreamCall(size_t queue_bytes, size_t queue_messages) : queue_(queue_bytes, queue_messages) {}

  std::mutex mu_;
  vfg::WriteQueue queue_;
  bool owe_writable_ = false;
  bool writes_done_requested_ = false;
  bool writes_done_started_ = false;
  bool reading_ = false;
  bool closed_ = false;  // no new operations will start; the hold is (being) removed
  grpc::ByteBuffer read_buffer_;

  /// What to start once mu_ is released: grpc may run a reaction inline inside a Start*
  /// call, so none is made with mu_ held.
  /// Ops being started outside mu_ are counted in `starting_`; the hold (which keeps grpc from
  /// ending the call) is removed only once none is being started.
  struct Actions {
    grpc::ByteBuffer *write = nullptr;
    bool writes_done = false;
    bool read = false;
    bool remove_hold = false;
    bool notify_writable = false;
    int started = 0;
  };
  int starting_ = 0;
  bool hold_removal_pending_ = false;

  void Run(Actions a) {
    while (true) {
      if (a.write) StartWrite(a.write);
      if (a.writes_done) StartWritesDone();
      if (a.read) StartRead(&read_buffer_);
      if (a.notify_writable) vfg::Deliver(callback_, callback_context_, VFG_EVENT_WRITABLE);
      if (a.remove_hold) RemoveHold();
      if (a.started == 0) return;
      Actions next;
      {
        std::lock_guard<std::mutex> lock(mu_);
        starting_ -= a.started;
        if (starting_ == 0 && hold_removal_pending_) {
          hold_removal_pending_ = false;
          next.remove_hold = true;
        }
      }
      a = next;
    }
  }

  void Count(Actions &a) {
    a.started++;
    starting_++;
  }

  // Marks the call closed: no operation starts after this. Holds mu_.
  void CloseLocked(Actions &a) {
    if (closed_) return;
    closed_ = true;
    queue_.DropPending();
    if (starting_ > 0) hold_removal_pending_ = true;
    else a.remove_hold = true;
    if (owe_writable_) {
      owe_writable_ = false;
      a.notify_writable = true;
    }
  }

  void PlanWritesDoneLocked(Actions &a) {
    if (writes_done_requested_ && !writes_done_started_ && queue_.Idle() && !closed_) {
      writes_done_started_ = true;
      a.writes_done = true;
      Count(a);
    }
  }

  vfg_write_result Write(const uint8_t *data, size_t length) override {
    grpc::ByteBuffer buffer = vfg::MakeBuffer(data, length);
    Actions a;
    vfg_write_result result = VFG_WRITE_OK;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_ || writes_done_requested_) return VFG_WRITE_CLOSED;
      if (queue_.Push(std::move(buffer), length)) {
        a.write = queue_.StartNext();
        Count(a);
      }
      if (queue_.Full()) {
        owe_writable_ = true;
        result = VFG_WRITE_FULL;
      }
    }
    Run(a);
    return result;
  }

  void WritesDone() override {
    Actions a;
    {
      std::lock_guard<std::mutex> lock(mu_);
      writes_done_requested_ = true;
      PlanWritesDoneLocked(a);
    }
    Run(a);
  }

  void RequestRead() override {
    Actions a;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (reading_) return;
      reading_ = a.read = !closed_;
      if (a.read) Count(a);
    }
    if (a.read) Run(a);
    else vfg::Deliver(callback_, callback_context_, VFG_EVENT_END_OF_STREAM);
  }

  void Close() override {
    Actions a;
    {
      std::lock_guard<std::mutex> lock(mu_);
      CloseLocked(a);
    }
    Run(a);
  }

  void OnReadInitialMetadataDone(bool ok) override {
    if (ok) DeliverInitialMetadata(callback_, callback_context_, ctx_);
  }

  void OnReadDone(bool ok) override {
    vfg_event e{};
    Actions a;
    {
      std::lock_guard<std::mutex> lock(mu_);
      reading_ = false;
      if (ok) {
        e = vfg::TakeMessageEvent(read_buffer_);
      } else {
        // The server finished (or the call failed): nothing more will be read or written.
        e.kind = VFG_EVENT_END_OF_STREAM;
        CloseLocked(a);
      }
    }
    callback_(callback_context_, &e);
    Run(a);
  }

  void OnWriteDone(bool ok) override {
    Actions a;
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.Completed();
      if (!ok) {
        queue_.DropPending();
        writes_done_requested_ = true;
        writes_done_started_ = true;  // the stream is broken; no half-close to send
      } else if (!closed_) {
        a.write = queue_.StartNext();
        if (a.write) Count(a);
      }
      if (owe_writable_ && (queue_.BelowLowWater() || !ok || closed_)) {
        owe_writable_ = false;
        a.notify_writable = true;
      }
      PlanWritesDoneLocked(a);
    }
    Run(a);
  }

  void OnDone(const grpc::Status &status) override {
    bool notify = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
      if (owe_writable_) {
        owe_writable_ = false;
        notify = true;
      }
    }
    if (notify) vfg::Deliver(callback_, callback_context_, VFG_EVENT_WRITABLE);
    DeliverDone(callback_, callback_context_, ctx_, status);
    Unref();
  }
};

}  // namespace

extern "C" {

vfg_channel *vfg_channel_create(const vfg_channel_config *config, char *error, size_t error_capacity) {
  try {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(
        static_cast<int>(std::min<int64_t>(vfg::OrDefault(config->max_receive_bytes, vfg::kDefaultMaxMessageBytes), INT32_MAX)));
    args.SetMaxSendMessageSize(
        static_cast<int>(std::min<int64_t>(vfg::OrDefault(config->max_send_bytes, vfg::kDefaultMaxMessageBytes), INT32_MAX)));
    std::shared_ptr<grpc::ChannelCredentials> creds;
    if (config->use_tls) {
      grpc::SslCredentialsOptions options;
      if (config->tls_root_ca_pem) options.pem_root_certs = config->tls_root_ca_pem;
      if (config->tls_cert_chain_pem) options.pem_cert_chain = config->tls_cert_chain_pem;
      if (config->tls_private_key_pem) options.pem_private_key = config->tls_private_key_pem;
      creds = grpc::SslCredentials(options);
      if (config->tls_server_name_override) args.SetSslTargetNameOverride(config->tls_server_name_override);
    } else {
      creds = grpc::InsecureChannelCredentials();
    }
    if (!creds) {
      vfg::WriteError(error, error_capacity, "could not create channel credentials");
      return nullptr;
    }
    auto *channel = new vfg_channel();
    channel->channel = grpc::CreateCustomChannel(config->target ? config->target : "", creds, args);
    channel->stub = std::make_unique<grpc::GenericStub>(channel->channel);
    channel->queue_bytes = config->write_queue_bytes;
    channel->queue_messages = config->write_queue_messages;
    return channel;
  } catch (const std::exception &ex) {
    vfg::WriteError(error, error_capacity, std::string("channel creation failed: ") + ex.what());
    return nullptr;
  }
}

void vfg_channel_destroy(vfg_channel *channel) {
  channel->stub.reset();
  vfg::RetireChannel(std::move(channel->channel));
  delete channel;
}

vfg_client_call *vfg_client_unary(vfg_channel *channel, const vfg_call_options *options,
                                  const uint8_t *request, size_t request_length,
                                  vfg_event_callback callback, void *context) {
  auto *call = new UnaryCall();
  call->channel_.Set(channel->channel);
  call->callback_ = callback;
  call->callback_context_ = context;
  call->request_ = vfg::MakeBuffer(request, request_length);
  call->method_ = options->method;
  Configure(call->ctx_, options);
  call->Start(*channel->stub);
  return call;
}

vfg_client_call *vfg_client_stream(vfg_channel *channel, const vfg_call_options *options,
                                   vfg_event_callback callback, void *context) {
  auto *call = new StreamCall(channel->queue_bytes, channel->queue_messages);
  call->channel_.Set(channel->channel);
  call->callback_ = callback;
  call->callback_context_ = context;
  call->method_ = options->method;
  Configure(call->ctx_, options);
  channel->stub->PrepareBidiStreamingCall(&call->ctx_, call->method_, grpc::StubOptions(), call);
  call->AddHold();
  call->StartCall();
  return call;
}

vfg_write_result vfg_client_call_write(vfg_client_call *call, const uint8_t *data, size_t length) {
  return call->Write(data, length);
}

void vfg_client_call_writes_done(vfg_client_call *call) { call->WritesDone(); }

void vfg_client_call_request_read(vfg_client_call *call) { call->RequestRead(); }

void vfg_client_call_cancel(vfg_client_call *call) { call->ctx_.TryCancel(); }

void vfg_client_call_release(vfg_client_call *call) {
  call->ctx_.TryCancel();  // no effect on a call that already finished
  call->Close();
  call->Unref();
}

}  // extern "C"
