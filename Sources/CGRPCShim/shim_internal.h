// Internal helpers shared by the server and client halves of the shim.
#ifndef VFGRPC_INTERNAL_H
#define VFGRPC_INTERNAL_H

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/byte_buffer.h>

#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "vfgrpc.h"

namespace vfg {

constexpr int64_t kDefaultMaxMessageBytes = 64ll * 1024 * 1024;

inline int64_t OrDefault(int64_t value, int64_t fallback) { return value > 0 ? value : fallback; }

/// Copies a grpc ByteBuffer into one malloc'd block that the receiver owns.
inline vfg_bytes TakeBytes(const grpc::ByteBuffer &buffer) {
  vfg_bytes out{nullptr, 0};
  grpc::Slice single;
  if (buffer.TrySingleSlice(&single).ok()) {
    out.length = single.size();
    out.data = static_cast<uint8_t *>(std::malloc(out.length ? out.length : 1));
    if (out.length) std::memcpy(out.data, single.begin(), out.length);
    return out;
  }
  std::vector<grpc::Slice> slices;
  (void)buffer.Dump(&slices);
  size_t total = 0;
  for (auto &s : slices) total += s.size();
  out.length = total;
  out.data = static_cast<uint8_t *>(std::malloc(total ? total : 1));
  size_t at = 0;
  for (auto &s : slices) {
    std::memcpy(out.data + at, s.begin(), s.size());
    at += s.size();
  }
  return out;
}

/// The MESSAGE event for a completed read: the buffer's bytes, taken (the buffer is cleared for
/// the next read).
inline vfg_event TakeMessageEvent(grpc::ByteBuffer &buffer) {
  vfg_event e{};
  e.kind = VFG_EVENT_MESSAGE;
  e.message = TakeBytes(buffer);
  buffer.Clear();
  return e;
}

inline grpc::ByteBuffer MakeBuffer(const uint8_t *data, size_t length) {
  grpc::Slice slice(data, length);
  return grpc::ByteBuffer(&slice, 1);
}

/// Owns the entry array of a vfg_metadata built from a grpc multimap (the strings stay in
/// the multimap, which must outlive this view).
struct MetadataView {
  std::vector<vfg_metadata_entry> entries;
  vfg_metadata view() const { return vfg_metadata{entries.data(), entries.size()}; }

  template <typename Multimap>
  static MetadataView From(const Multimap &map) {
    MetadataView out;
    out.entries.reserve(map.size());
    for (const auto &kv : map) {
      out.entries.push_back(vfg_metadata_entry{
          kv.first.data(), kv.first.size(),
          reinterpret_cast<const uint8_t *>(kv.second.data()), kv.second.size()});
    }
    return out;
  }
};

inline std::string Key(const vfg_metadata_entry &e) { return std::string(e.key, e.key_length); }
inline std::string Value(const vfg_metadata_entry &e) {
  return std::string(reinterpret_cast<const char *>(e.value), e.value_length);
}

/// A bounded FIFO of outgoing messages with one write in flight at a time.
/// Not thread safe: the owning call guards it with its mutex.
class WriteQueue {
 public:
  WriteQueue(size_t max_bytes, size_t max_messages)
      : max_bytes_(max_bytes ? max_bytes : VFG_DEFAULT_WRITE_QUEUE_BYTES),
        max_messages_(max_messages ? max_messages : VFG_DEFAULT_WRITE_QUEUE_MESSAGES) {}

  /// Adds a message; returns true when it should be started right away.
  bool Push(grpc::ByteBuffer &&buffer, size_t length) {
    pending_.emplace_back(std::move(buffer), length);
    bytes_ += length;
    if (in_flight_) return false;
    return true;
  }

  /// Moves the next pending message into the in-flight slot and returns it.
  grpc::ByteBuffer *StartNext() {
    if (pending_.empty()) return nullptr;
    current_ = std::move(pending_.front().first);
    current_length_ = pending_.front().second;
    pending_.pop_front();
    in_flight_ = true;
    return &current_;
  }

  /// Marks the in-flight write complete.
  void Completed() {
    in_flight_ = false;
    bytes_ -= current_length_;
    current_length_ = 0;
    current_.Clear();
  }

  void DropPending() {
    for (auto &p : pending_) bytes_ -= p.second;
    pending_.clear();
  }

  bool Full() const { return bytes_ >= max_bytes_ || Count() >= max_messages_; }
  bool BelowLowWater() const { return bytes_ < max_bytes_ / 2 && Count() < (max_messages_ + 1) / 2; }
  bool Idle() const { return !in_flight_ && pending_.empty(); }
  bool InFlight() const { return in_flight_; }
  size_t Count() const { return pending_.size() + (in_flight_ ? 1 : 0); }

 private:
  size_t max_bytes_;
  size_t max_messages_;
  std::deque<std::pair<grpc::ByteBuffer, size_t>> pending_;
  grpc::ByteBuffer current_;
  size_t current_length_ = 0;
  size_t bytes_ = 0;
  bool in_flight_ = false;
};

/// Hands a channel reference to the reaper thread, which drops it shortly (see channel_reaper.cpp).
void RetireChannel(std::shared_ptr<grpc::Channel> channel);

/// A channel reference that is retired, not dropped, when destroyed.
class ChannelRef {
 public:
  ChannelRef() = default;
  explicit ChannelRef(std::shared_ptr<grpc::Channel> channel) : channel_(std::move(channel)) {}
  ChannelRef(const ChannelRef &) = delete;
  ChannelRef &operator=(const ChannelRef &) = delete;
  ~ChannelRef() { RetireChannel(std::move(channel_)); }
  void Set(std::shared_ptr<grpc::Channel> channel) { channel_ = std::move(channel); }

 private:
  std::shared_ptr<grpc::Channel> channel_;
};

inline void WriteError(char *error, size_t capacity, const std::string &message) {
  if (!error || capacity == 0) return;
  size_t n = std::min(capacity - 1, message.size());
  std::memcpy(error, message.data(), n);
  error[n] = '\0';
}

inline grpc::Status MakeStatus(const vfg_status *status) {
  if (!status) return grpc::Status::OK;
  std::string message(status->message ? status->message : "", status->message ? status->message_length : 0);
  std::string details(reinterpret_cast<const char *>(status->details ? status->details : nullptr),
                      status->details ? status->details_length : 0);
  return grpc::Status(static_cast<grpc::StatusCode>(status->code), message, details);
}

inline void Deliver(vfg_event_callback cb, void *ctx, vfg_event_kind kind) {
  if (!cb) return;
  vfg_event e{};
  e.kind = kind;
  cb(ctx, &e);
}

}  // namespace vfg

/// A client channel: the grpc channel, the generic stub every call goes through, and the
/// write-queue bounds its streams get (client.cpp, load_generator.cpp).
struct vfg_channel {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::GenericStub> stub;
  size_t queue_bytes = 0;
  size_t queue_messages = 0;
};

#endif  // VFGRPC_INTERNAL_H
