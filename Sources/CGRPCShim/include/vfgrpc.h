// vfgrpc.h — a small C surface over grpc++ 1.51 for VisionFleet's Swift RPC layer.
//
// Every exported symbol starts with `vfg_`. Messages cross the boundary as opaque bytes
// (serialized protobuf); the shim never parses them.
//
// Threading: event callbacks run on grpc's own threads and must not block. Functions marked
// BLOCKING must not be called from a grpc thread or from Swift's cooperative pool.
//
// Ownership: objects returned by `*_create` / delivered in a "new call" event are released
// with the matching `*_release` / `*_destroy`. Byte buffers handed to callbacks as
// `vfg_bytes` are owned by the receiver and must be freed with `vfg_bytes_free`.
//
// Flow control: a call has one bounded write queue. `vfg_*_write` always accepts the message
// and answers VFG_WRITE_OK (room left) or VFG_WRITE_FULL (queued; do not write again until
// exactly one VFG_EVENT_WRITABLE arrives). Reads are demand driven: a message is read from the
// network only after `vfg_*_request_read`, so a slow reader holds the sender back through
// HTTP/2 flow control instead of buffering without bound.
#ifndef VFGRPC_H
#define VFGRPC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - Shared types

/// A heap buffer owned by whoever receives it; free with `vfg_bytes_free`.
typedef struct vfg_bytes {
  uint8_t *data;
  size_t length;
} vfg_bytes;

void vfg_bytes_free(vfg_bytes bytes);

/// One metadata entry. Keys ending in "-bin" carry raw bytes; others carry ASCII text.
typedef struct vfg_metadata_entry {
  const char *key;
  size_t key_length;
  const uint8_t *value;
  size_t value_length;
} vfg_metadata_entry;

/// Metadata list handed to a callback: valid only during the callback.
typedef struct vfg_metadata {
  const vfg_metadata_entry *entries;
  size_t count;
} vfg_metadata;

/// Final status of a call. `details` is the binary `grpc-status-details-bin` payload.
typedef struct vfg_status {
  int code;
  const char *message;
  size_t message_length;
  const uint8_t *details;
  size_t details_length;
} vfg_status;

typedef enum vfg_write_result {
  VFG_WRITE_OK = 0,        // queued, more room left
  VFG_WRITE_FULL = 1,      // queued; wait for one VFG_EVENT_WRITABLE before the next write
  VFG_WRITE_CLOSED = 2,    // the call is finished or cancelled; the message was dropped
} vfg_write_result;

typedef enum vfg_event_kind {
  VFG_EVENT_MESSAGE = 1,           // `message` holds one received message (owned by receiver)
  VFG_EVENT_END_OF_STREAM = 2,     // the peer half-closed, or the call ended; no more messages
  VFG_EVENT_WRITABLE = 3,          // the write queue drained below its bound (or the call closed)
  VFG_EVENT_INITIAL_METADATA = 4,  // client side: the server's initial metadata arrived
  VFG_EVENT_CANCELLED = 5,         // server side: the client cancelled or the deadline passed
  VFG_EVENT_DONE = 6,              // the call is over; `status` and `metadata` (trailers)
  VFG_EVENT_RELEASE = 7,           // very last event: the context will never be used again
} vfg_event_kind;

/// An event delivered to a call's callback. Pointers are valid only during the callback,
/// except `message`, which the receiver owns.
typedef struct vfg_event {
  vfg_event_kind kind;
  vfg_bytes message;
  vfg_status status;
  vfg_metadata metadata;
} vfg_event;

typedef void (*vfg_event_callback)(void *context, const vfg_event *event);

/// Write-queue bound used when a config leaves it at zero.
#define VFG_DEFAULT_WRITE_QUEUE_BYTES (4u * 1024u * 1024u)
#define VFG_DEFAULT_WRITE_QUEUE_MESSAGES 64u

// MARK: - Server

typedef struct vfg_server vfg_server;
typedef struct vfg_server_call vfg_server_call;

/// Details of a new server call, valid only during the new-call callback.
typedef struct vfg_call_info {
  const char *method;          // "/package.Service/Method"
  size_t method_length;
  const char *peer;
  size_t peer_length;
  int64_t deadline_unix_nanos; // INT64_MAX when the client set no deadline
  vfg_metadata metadata;       // the client's request metadata
} vfg_call_info;

/// Called on a grpc thread for every incoming call. The callee must call
/// `vfg_server_call_set_callback` before returning, and eventually `vfg_server_call_finish`
/// and `vfg_server_call_release`.
typedef void (*vfg_new_call_callback)(void *context, vfg_server_call *call,
                                      const vfg_call_info *info);

typedef struct vfg_server_config {
  const char *host;                // e.g. "127.0.0.1" or "0.0.0.0"
  int port;                        // 0 picks a free port; read it back with vfg_server_port
  int64_t max_receive_bytes;       // 0 = 64 MiB
  int64_t max_send_bytes;          // 0 = 64 MiB
  size_t write_queue_bytes;        // 0 = VFG_DEFAULT_WRITE_QUEUE_BYTES
  size_t write_queue_messages;     // 0 = VFG_DEFAULT_WRITE_QUEUE_MESSAGES
  // TLS: all NULL for an insecure (plaintext) port.
  const char *tls_cert_chain_pem;
  const char *tls_private_key_pem;
  const char *tls_client_ca_pem;   // with it, client certificates are requested and verified
  int tls_require_client_cert;     // nonzero: mutual TLS, a missing client cert fails the call
  // 0: grpc's callback API runs the calls on its own threads; N > 0: one completion queue
  // served by N threads of the server's own (fewer thread hand-offs per call).
  int completion_queue_threads;
} vfg_server_config;

/// Builds, binds and starts a server. On failure returns NULL and writes a message into
/// `error` (up to `error_capacity` bytes, NUL terminated).
vfg_server *vfg_server_start(const vfg_server_config *config, vfg_new_call_callback on_call,
                             void *context, char *error, size_t error_capacity);

/// The bound port (useful after binding port 0).
int vfg_server_port(const vfg_server *server);

/// Sets the `grpc.health.v1.Health` status of `service` ("" is the whole server).
void vfg_server_set_serving(vfg_server *server, const char *service, int serving);

/// BLOCKING. Stops accepting calls, lets running calls finish for `grace_seconds`, then
/// cancels the rest (each cancelled call is finished with CANCELLED by the shim, so a handler
/// that never returns cannot hold shutdown). Idempotent.
void vfg_server_shutdown(vfg_server *server, double grace_seconds);

/// Frees the server; call after vfg_server_shutdown.
void vfg_server_destroy(vfg_server *server);

/// Registers the call's event callback; call it inside the new-call callback.
void vfg_server_call_set_callback(vfg_server_call *call, vfg_event_callback callback,
                                  void *context);

/// Asks for the next request message: exactly one MESSAGE or END_OF_STREAM event follows.
void vfg_server_call_request_read(vfg_server_call *call);

/// Adds response initial metadata; only effective before the first write or finish.
void vfg_server_call_add_initial_metadata(vfg_server_call *call, const char *key,
                                          size_t key_length, const uint8_t *value,
                                          size_t value_length);

/// Queues one response message (copied before returning).
vfg_write_result vfg_server_call_write(vfg_server_call *call, const uint8_t *data,
                                       size_t length);

/// Finishes the call after the queued writes with `status` and trailing metadata. If
/// `final_message` is non-NULL it is sent first (one round for unary responses). Later
/// finishes are ignored. DONE follows once grpc is done with the call.
void vfg_server_call_finish(vfg_server_call *call, const uint8_t *final_message,
                            size_t final_length, const vfg_status *status,
                            const vfg_metadata *trailing);

/// Drops the caller's reference. The call stays valid for grpc until it is done.
void vfg_server_call_release(vfg_server_call *call);

// MARK: - Client

typedef struct vfg_channel vfg_channel;
typedef struct vfg_client_call vfg_client_call;

typedef struct vfg_channel_config {
  const char *target;              // "host:port"
  int64_t max_receive_bytes;       // 0 = 64 MiB
  int64_t max_send_bytes;          // 0 = 64 MiB
  size_t write_queue_bytes;        // 0 = VFG_DEFAULT_WRITE_QUEUE_BYTES
  size_t write_queue_messages;     // 0 = VFG_DEFAULT_WRITE_QUEUE_MESSAGES
  int use_tls;
  const char *tls_root_ca_pem;     // NULL: the system roots
  const char *tls_cert_chain_pem;  // client certificate for mutual TLS (optional)
  const char *tls_private_key_pem;
  const char *tls_server_name_override;  // when the certificate lacks the dialed name
} vfg_channel_config;

vfg_channel *vfg_channel_create(const vfg_channel_config *config, char *error,
                                size_t error_capacity);
void vfg_channel_destroy(vfg_channel *channel);

/// Options of one call.
typedef struct vfg_call_options {
  const char *method;              // "/package.Service/Method"
  int64_t timeout_nanos;           // <= 0: no deadline
  const vfg_metadata_entry *metadata;
  size_t metadata_count;
  int wait_for_ready;              // nonzero: wait for the channel to connect instead of failing
} vfg_call_options;

/// Starts a unary call. `callback` receives INITIAL_METADATA (maybe), then MESSAGE (on success)
/// and DONE. The request bytes are copied before returning.
vfg_client_call *vfg_client_unary(vfg_channel *channel, const vfg_call_options *options,
                                  const uint8_t *request, size_t request_length,
                                  vfg_event_callback callback, void *context);

/// Starts a streaming call of any kind (the caller enforces client/server/bidi semantics).
/// Events: INITIAL_METADATA, MESSAGE / END_OF_STREAM (one per request_read), WRITABLE, DONE.
vfg_client_call *vfg_client_stream(vfg_channel *channel, const vfg_call_options *options,
                                   vfg_event_callback callback, void *context);

/// Queues one request message (copied before returning).
vfg_write_result vfg_client_call_write(vfg_client_call *call, const uint8_t *data,
                                       size_t length);

/// Half-closes the request side after the queued writes.
void vfg_client_call_writes_done(vfg_client_call *call);

/// Asks for the next response message: exactly one MESSAGE or END_OF_STREAM event follows.
void vfg_client_call_request_read(vfg_client_call *call);

/// Cancels the call (thread safe, idempotent). DONE follows with CANCELLED unless the call
/// had already finished.
void vfg_client_call_cancel(vfg_client_call *call);

/// Drops the caller's reference; a call that has not finished is cancelled first.
void vfg_client_call_release(vfg_client_call *call);

// MARK: - Load generation (benchmarks)

/// Keeps `concurrency` unary calls of `method` with the same request in flight on `channel` for
/// `seconds`, each re-issued from the last one's completion (a closed loop, as Triton's
/// perf_analyzer runs). Writes the latency of each successful call, in milliseconds, to
/// `latencies_ms` (up to `latency_capacity` of them) and the counts to `completed` / `failed`.
/// Returns 0, or -1 for bad arguments. Blocks until the last call in flight completes.
int vfg_load_unary(vfg_channel *channel, const char *method, const uint8_t *request,
                   size_t request_length, int concurrency, double seconds, double *latencies_ms,
                   size_t latency_capacity, uint64_t *completed, uint64_t *failed);

#ifdef __cplusplus
}
#endif

#endif  // VFGRPC_H
