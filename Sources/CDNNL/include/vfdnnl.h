// A compiled forward network on oneDNN primitives for the engine's fused inference plans:
// convolutions with their epilogue as post-ops (bias, residual sum, activation), pooling and
// inner products, activations kept in the layouts oneDNN chooses (blocked), reorders only at
// the input, where a primitive wants another layout, and at the output. One network per batch
// size; every call returns -1 on failure and vf_dnnl_net_error says why.
#pragma once

#include <stddef.h>

typedef struct vf_dnnl_net vf_dnnl_net;

// Activations, in the order of the engine's `Activation` cases.
enum { VF_ACT_IDENTITY = 0, VF_ACT_RELU, VF_ACT_RELU6, VF_ACT_SILU, VF_ACT_LEAKY_RELU, VF_ACT_SIGMOID, VF_ACT_GELU };

// A network whose slot 0 is a plain NCHW float input of this shape; `threads` sets oneDNN's
// (OpenMP) thread count. NULL only when out of memory.
vf_dnnl_net *vf_dnnl_net_create(int batch, int channels, int height, int width, int threads);
void vf_dnnl_net_destroy(vf_dnnl_net *net);
const char *vf_dnnl_net_error(const vf_dnnl_net *net);

// act(conv(src) + bias (+ residual)): weight (Cout, Cin/groups, kh, kw), bias (Cout). With
// `residual_dies` the output overwrites the residual's buffer when the layouts agree. Returns
// the output's slot.
int vf_dnnl_net_conv(vf_dnnl_net *net, int src, int residual, int residual_dies, const float *weight, const float *bias,
                     int out_channels, int kh, int kw, int stride, int padding, int dilation, int groups, int activation,
                     float leaky_slope, int residual_after_activation);
// a + b, in a's layout.
int vf_dnnl_net_add(vf_dnnl_net *net, int a, int b);
// Channel concatenation of values of one spatial size (at most 5).
int vf_dnnl_net_concat(vf_dnnl_net *net, const int *parts, int count);
int vf_dnnl_net_upsample2x(vf_dnnl_net *net, int src);
// `src` in a channel-blocked layout: nChw8c (block 8) or nChw16c (block 16), or plain NCHW
// (block 0) — a reordered copy, or `src` itself when it is in that layout already. The plans never need it (oneDNN's primitives choose); the tests reach every
// layout a primitive may choose on some CPU through it.
int vf_dnnl_net_relayout(vf_dnnl_net *net, int src, int block);
// YOLOX's Focus phases: (N, C, H, W) → (N, 4C, H/2, W/2), plain.
int vf_dnnl_net_space_to_depth(vf_dnnl_net *net, int src);
// Detection levels (N, K, H, W) → (N, Σ H·W, K), plain.
int vf_dnnl_net_flatten_levels(vf_dnnl_net *net, const int *levels, int count);
// Mean over each channel's plane: (N, C, 1, 1).
int vf_dnnl_net_global_avg_pool(vf_dnnl_net *net, int src);
int vf_dnnl_net_max_pool(vf_dnnl_net *net, int src, int kernel, int stride, int padding);
// src (N, C, 1, 1) or (N, C) → (N, out_features); weight (out_features, C).
int vf_dnnl_net_linear(vf_dnnl_net *net, int src, const float *weight, const float *bias, int out_features);
// Makes `slot` the output, delivered in plain layout (NCHW, or NC for 2-D values).
int vf_dnnl_net_set_output(vf_dnnl_net *net, int slot);
// Runs on `input` (plain NCHW) and writes the output slot to `output` (plain).
int vf_dnnl_net_run(vf_dnnl_net *net, const float *input, float *output);

// Introspection for profiles: operations in run order, each one's description and the
// implementation oneDNN chose (e.g. "jit:avx2"), the time of its last run in seconds when
// profiling is on, and the number of reorders.
int vf_dnnl_net_op_count(const vf_dnnl_net *net);
const char *vf_dnnl_net_op_name(const vf_dnnl_net *net, int op);
const char *vf_dnnl_net_op_impl(const vf_dnnl_net *net, int op);
double vf_dnnl_net_op_seconds(const vf_dnnl_net *net, int op);
void vf_dnnl_net_set_profiling(vf_dnnl_net *net, int on);
int vf_dnnl_net_reorder_count(const vf_dnnl_net *net);

// Winograd F(4×4, 3×3) for 3×3 / stride 1 / padding 1 convolutions whose channels are
// multiples of 8, over nChw8c activations, on AVX2 + FMA (what oneDNN 2.6 lacks below AVX-512;
// the inference networks use it in place of `jit:avx2`). Weights (K, C, 3, 3) are transformed
// once; NULL for an unsupported shape or when out of memory.
typedef struct vf_winograd vf_winograd;
int vf_winograd_available(void);
// The activation fused into the output transform (any other runs after it, as its own op).
enum { VF_WINOGRAD_NONE = 0, VF_WINOGRAD_RELU = 1, VF_WINOGRAD_SILU = 2 };
vf_winograd *vf_winograd_create(int in_channels, int out_channels, int height, int width, const float *weight,
                                const float *bias, int activation, int threads);
void vf_winograd_destroy(vf_winograd *plan);
// Bytes of working memory a run at `batch` needs (plans run one at a time can share it).
size_t vf_winograd_scratch_size(const vf_winograd *plan, int batch);
// How a run adds the residual dst holds on entry: not at all (0), before the activation, or after it.
enum { VF_WINOGRAD_ADD_BEFORE = 1, VF_WINOGRAD_ADD_AFTER = 2 };
// dst = act(conv(src) + bias [+ dst]) or act(conv(src) + bias) + dst, as `accumulate` says;
// `scratch` holds vf_winograd_scratch_size bytes.
void vf_winograd_run(const vf_winograd *plan, int batch, const float *src, float *dst, int accumulate, float *scratch);

// A training convolution on oneDNN: forward (training), backward data and backward weights for
// one geometry. Weights are the caller's OIHW / GOIHW; each activation argument is plain NCHW
// or, with its `*_blocked` flag, channel-blocked in `block` (8: nChw8c, 16: nChw16c; 0: none)
// — the layout oneDNN's direct convolutions use on AVX2 / AVX-512, so a chain of them needs no
// reorders. Anything else is reordered into and out of the layouts oneDNN picks.
typedef struct vf_dnnl_conv vf_dnnl_conv;

// NULL only when out of memory; otherwise check vf_dnnl_conv_error (NULL when usable).
vf_dnnl_conv *vf_dnnl_conv_create(int batch, int in_channels, int height, int width, int out_channels, int kh, int kw,
                                  int stride_h, int stride_w, int pad_h, int pad_w, int dilation_h, int dilation_w,
                                  int groups, int has_bias, int threads, int block);
void vf_dnnl_conv_destroy(vf_dnnl_conv *conv);
const char *vf_dnnl_conv_error(const vf_dnnl_conv *conv);
// The implementation oneDNN chose: 0 forward, 1 backward data, 2 backward weights.
const char *vf_dnnl_conv_impl(const vf_dnnl_conv *conv, int which);
// 1 when the forward reads its source (which = 0) / writes its destination (1) in the blocked
// layout itself, so passing blocked buffers there costs no reorder.
int vf_dnnl_conv_blocked(const vf_dnnl_conv *conv, int which);
// dst = conv(src, weight) + bias (bias may be NULL when created without one).
int vf_dnnl_conv_forward(vf_dnnl_conv *conv, const float *src, int src_blocked, const float *weight, const float *bias, float *dst,
                         int dst_blocked);
// diff_src = convᵀ(diff_dst) (overwritten).
int vf_dnnl_conv_backward_data(vf_dnnl_conv *conv, const float *diff_dst, int diff_dst_blocked, const float *weight, float *diff_src,
                               int diff_src_blocked);
// diff_weight (and diff_bias when created with one) overwritten with this batch's gradients.
int vf_dnnl_conv_backward_weights(vf_dnnl_conv *conv, const float *src, int src_blocked, const float *diff_dst, int diff_dst_blocked,
                                  float *diff_weight, float *diff_bias);
// The channel block (16, 8) oneDNN's training convolution picks on this CPU, 0 when neither.
int vf_dnnl_preferred_block(int threads);

// Runs fn(context, c) for c in 0..<chunks on oneDNN's OpenMP team (chunk c on thread c when
// the team is whole); returns when all are done.
typedef void (*vf_chunk_fn)(void *context, int chunk);
void vf_omp_run(int chunks, vf_chunk_fn fn, void *context);
// Sets the calling thread's OpenMP thread count (oneDNN sizes a primitive's parallel regions by
// it when the primitive is created, whatever thread later runs it); returns the previous count.
int vf_omp_swap_threads(int threads);

// Training batch normalisation (forward training, backward with scale and shift gradients) of
// one (N, C, H, W) in the channel-blocked layout nChw{block}c, ReLU fused when `relu`. The
// statistics are the batch mean and the biased variance; with ReLU the forward writes the
// mask into `workspace` (vf_dnnl_bnorm_workspace_bytes, owned by the caller per call site)
// and the backward reads it. Every call returns -1 on failure; vf_dnnl_bnorm_error says why.
typedef struct vf_dnnl_bnorm vf_dnnl_bnorm;
vf_dnnl_bnorm *vf_dnnl_bnorm_create(int batch, int channels, int height, int width, float eps, int relu, int block, int threads);
void vf_dnnl_bnorm_destroy(vf_dnnl_bnorm *bn);
const char *vf_dnnl_bnorm_error(const vf_dnnl_bnorm *bn);
// 0: forward, 1: backward.
const char *vf_dnnl_bnorm_impl(const vf_dnnl_bnorm *bn, int which);
size_t vf_dnnl_bnorm_workspace_bytes(const vf_dnnl_bnorm *bn);
int vf_dnnl_bnorm_forward(vf_dnnl_bnorm *bn, const float *src, const float *scale, const float *shift, float *dst, float *mean,
                          float *variance, void *workspace);
// diff_src, diff_scale and diff_shift overwritten.
int vf_dnnl_bnorm_backward(vf_dnnl_bnorm *bn, const float *src, const float *diff_dst, const float *scale, const float *shift,
                           const float *mean, const float *variance, const void *workspace, float *diff_src, float *diff_scale,
                           float *diff_shift);

// A pointwise activation (VF_ACT_*, identity excluded) over `count` dense floats, forward and
// backward from the source (diff_src overwritten). Every call returns -1 on failure.
typedef struct vf_dnnl_eltwise vf_dnnl_eltwise;
vf_dnnl_eltwise *vf_dnnl_eltwise_create(int activation, long count, float leaky_slope, int threads);
void vf_dnnl_eltwise_destroy(vf_dnnl_eltwise *e);
const char *vf_dnnl_eltwise_error(const vf_dnnl_eltwise *e);
// 0: forward, 1: backward.
const char *vf_dnnl_eltwise_impl(const vf_dnnl_eltwise *e, int which);
int vf_dnnl_eltwise_forward(vf_dnnl_eltwise *e, const float *src, float *dst);
int vf_dnnl_eltwise_backward(vf_dnnl_eltwise *e, const float *src, const float *diff_dst, float *diff_src);

// Training max pooling (square kernel, stride, symmetric padding; padded cells never win) of
// one (N, C, H, W) in nChw{block}c. The forward writes the argmax into `workspace`
// (vf_dnnl_maxpool_workspace_bytes, owned by the caller per call site); the backward reads it
// and overwrites diff_src. Every call returns -1 on failure.
typedef struct vf_dnnl_maxpool vf_dnnl_maxpool;
vf_dnnl_maxpool *vf_dnnl_maxpool_create(int batch, int channels, int height, int width, int kernel, int stride, int padding, int block,
                                        int threads);
void vf_dnnl_maxpool_destroy(vf_dnnl_maxpool *p);
const char *vf_dnnl_maxpool_error(const vf_dnnl_maxpool *p);
// 0: forward, 1: backward.
const char *vf_dnnl_maxpool_impl(const vf_dnnl_maxpool *p, int which);
size_t vf_dnnl_maxpool_workspace_bytes(const vf_dnnl_maxpool *p);
int vf_dnnl_maxpool_forward(vf_dnnl_maxpool *p, const float *src, float *dst, void *workspace);
int vf_dnnl_maxpool_backward(vf_dnnl_maxpool *p, const float *diff_dst, const void *workspace, float *diff_src);
