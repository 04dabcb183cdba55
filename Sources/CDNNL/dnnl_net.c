// oneDNN (2.x C API) forward networks for the engine's fused inference plans. See vfdnnl.h.
#include "vfdnnl.h"
#include "dnnl_shared.h"

#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern void omp_set_num_threads(int);

enum { MAX_ARGS = 6 };

typedef struct {
    dnnl_memory_desc_t md;
    dnnl_memory_t mem;
} slot_t;

enum { OP_PRIMITIVE = 0, OP_SPACE_TO_DEPTH, OP_FLATTEN_LEVELS, OP_WINOGRAD, OP_CONCAT_BLOCKED };
enum { MAX_INPUTS = 8 };

typedef struct {
    int kind;
    dnnl_primitive_t prim;
    dnnl_exec_arg_t args[MAX_ARGS];
    int nargs;
    // Custom data movement (kind != OP_PRIMITIVE): inputs plain (or, for the Winograd and
    // blocked concat ops, channel-blocked), outputs as each op's md says.
    dnnl_memory_t inputs[MAX_INPUTS], output;
    int ninputs;
    dnnl_dim_t dims[MAX_INPUTS][4];
    vf_winograd *winograd;  // OP_WINOGRAD: inputs[0] → output, both nChw8c
    int accumulate;
    char name[96];
    char impl[64];
    double seconds;
} op_t;

struct vf_dnnl_net {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    slot_t *slots;
    int nslots, cap_slots;
    op_t *ops;
    int nops, cap_ops;
    dnnl_memory_t *owned;  // weights and other memory the ops hold
    int nowned, cap_owned;
    int output;
    dnnl_memory_t output_mem;  // plain, over the caller's buffer
    int reorders;
    float *winograd_scratch;  // shared by the Winograd ops, which run one at a time
    size_t winograd_scratch_bytes;
    int profiling;
    int threads;
    char error[256];
};

#define CHECK(call) VF_DNNL_CHECK(net->error, call)

static int grow(void **items, int *cap, int count, size_t size) {
    if (count < *cap) return 0;
    int n = *cap ? *cap * 2 : 16;
    void *p = realloc(*items, (size_t)n * size);
    if (!p) return -1;
    *items = p;
    *cap = n;
    return 0;
}

static int keep(vf_dnnl_net *net, dnnl_memory_t mem) {
    if (grow((void **)&net->owned, &net->cap_owned, net->nowned, sizeof(dnnl_memory_t))) {
        snprintf(net->error, sizeof net->error, "out of memory");
        return -1;
    }
    net->owned[net->nowned++] = mem;
    return 0;
}

static int new_slot(vf_dnnl_net *net, const dnnl_memory_desc_t *md, dnnl_memory_t mem) {
    if (grow((void **)&net->slots, &net->cap_slots, net->nslots, sizeof(slot_t))) {
        snprintf(net->error, sizeof net->error, "out of memory");
        return -1;
    }
    net->slots[net->nslots].md = *md;
    net->slots[net->nslots].mem = mem;
    return net->nslots++;
}

// The next operation's record, zeroed, with its kind, name and implementation; counted in
// `nops` by the caller once it is complete. NULL (the error set) when out of memory.
static op_t *next_op(vf_dnnl_net *net, int kind, const char *name, const char *impl) {
    if (grow((void **)&net->ops, &net->cap_ops, net->nops, sizeof(op_t))) {
        snprintf(net->error, sizeof net->error, "out of memory");
        return NULL;
    }
    op_t *op = &net->ops[net->nops];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    snprintf(op->name, sizeof op->name, "%s", name);
    snprintf(op->impl, sizeof op->impl, "%s", impl);
    return op;
}

// Appends an operation; `pd` is consumed (the primitive keeps what it needs).
static int add_op(vf_dnnl_net *net, dnnl_primitive_desc_t pd, const dnnl_exec_arg_t *args, int nargs, const char *name) {
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    op_t *op = next_op(net, OP_PRIMITIVE, name, impl ? impl : "?");
    if (!op) {
        dnnl_primitive_desc_destroy(pd);
        return -1;
    }
    dnnl_status_t s = dnnl_primitive_create(&op->prim, pd);
    dnnl_primitive_desc_destroy(pd);
    if (s != dnnl_success) {
        snprintf(net->error, sizeof net->error, "dnnl_primitive_create(%s) failed: status %d", name, (int)s);
        return -1;
    }
    memcpy(op->args, args, (size_t)nargs * sizeof *args);
    op->nargs = nargs;
    net->nops++;
    return 0;
}

// Memory allocated by oneDNN in layout `md`, owned by the network.
static int allocate(vf_dnnl_net *net, const dnnl_memory_desc_t *md, dnnl_memory_t *mem) {
    CHECK(dnnl_memory_create(mem, md, net->engine, DNNL_MEMORY_ALLOCATE));
    return keep(net, *mem);
}

// `slot`'s value in layout `md`: its own memory when the layouts agree, else a reorder op into
// new memory.
static int in_layout(vf_dnnl_net *net, int slot, const dnnl_memory_desc_t *md, dnnl_memory_t *out) {
    slot_t *s = &net->slots[slot];
    if (dnnl_memory_desc_equal(&s->md, md)) {
        *out = s->mem;
        return 0;
    }
    dnnl_memory_t mem;
    if (allocate(net, md, &mem)) return -1;
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_reorder_primitive_desc_create(&pd, &s->md, net->engine, md, net->engine, NULL));
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, s->mem}, {DNNL_ARG_TO, mem}};
    if (add_op(net, pd, args, 2, "reorder")) return -1;
    net->reorders++;
    *out = mem;
    return 0;
}

// Copies user data in layout `user` (plain) into new network memory in layout `md`, now.
static int import_constant(vf_dnnl_net *net, const float *data, const dnnl_memory_desc_t *user, const dnnl_memory_desc_t *md,
                           dnnl_memory_t *out) {
    if (allocate(net, md, out)) return -1;
    dnnl_memory_t src;
    CHECK(dnnl_memory_create(&src, user, net->engine, (void *)data));
    dnnl_primitive_desc_t pd;
    dnnl_status_t s = dnnl_reorder_primitive_desc_create(&pd, user, net->engine, md, net->engine, NULL);
    if (s != dnnl_success) {
        dnnl_memory_destroy(src);
        snprintf(net->error, sizeof net->error, "weight reorder: status %d", (int)s);
        return -1;
    }
    dnnl_primitive_t reorder;
    s = dnnl_primitive_create(&reorder, pd);
    dnnl_primitive_desc_destroy(pd);
    if (s == dnnl_success) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, *out}};
        s = dnnl_primitive_execute(reorder, net->stream, 2, args);
        if (s == dnnl_success) s = dnnl_stream_wait(net->stream);
        dnnl_primitive_destroy(reorder);
    }
    dnnl_memory_destroy(src);
    if (s != dnnl_success) {
        snprintf(net->error, sizeof net->error, "weight reorder: status %d", (int)s);
        return -1;
    }
    return 0;
}

vf_dnnl_net *vf_dnnl_net_create(int batch, int channels, int height, int width, int threads) {
    vf_dnnl_net *net = calloc(1, sizeof *net);
    if (!net) return NULL;
    net->output = -1;
    net->threads = threads;
    if (dnnl_engine_create(&net->engine, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&net->stream, net->engine, dnnl_stream_default_flags) != dnnl_success) {
        snprintf(net->error, sizeof net->error, "cannot create the oneDNN CPU engine");
        return net;
    }
    dnnl_dims_t dims = {batch, channels, height, width};
    dnnl_memory_desc_t md;
    dnnl_memory_t mem;
    if (dnnl_memory_desc_init_by_tag(&md, 4, dims, dnnl_f32, dnnl_nchw) != dnnl_success ||
        dnnl_memory_create(&mem, &md, net->engine, DNNL_MEMORY_NONE) != dnnl_success || keep(net, mem) ||
        new_slot(net, &md, mem) != 0) {
        snprintf(net->error, sizeof net->error, "cannot describe the input");
    }
    return net;
}

void vf_dnnl_net_destroy(vf_dnnl_net *net) {
    if (!net) return;
    for (int i = 0; i < net->nops; i++) {
        if (net->ops[i].prim) dnnl_primitive_destroy(net->ops[i].prim);
        vf_winograd_destroy(net->ops[i].winograd);
    }
    for (int i = 0; i < net->nowned; i++) dnnl_memory_destroy(net->owned[i]);
    if (net->output_mem) dnnl_memory_destroy(net->output_mem);
    if (net->stream) dnnl_stream_destroy(net->stream);
    if (net->engine) dnnl_engine_destroy(net->engine);
    free(net->winograd_scratch);
    free(net->slots);
    free(net->ops);
    free(net->owned);
    free(net);
}

const char *vf_dnnl_net_error(const vf_dnnl_net *net) { return net->error[0] ? net->error : NULL; }

static int valid_slot(vf_dnnl_net *net, int slot) {
    if (net->error[0]) return 0;
    if (slot < 0 || slot >= net->nslots) {
        snprintf(net->error, sizeof net->error, "slot %d does not exist", slot);
        return 0;
    }
    return 1;
}

static int append_activation(vf_dnnl_net *net, dnnl_post_ops_t ops, int activation, float slope) {
    if (activation == VF_ACT_IDENTITY) return 0;
    float alpha, beta;
    dnnl_alg_kind_t alg = vf_dnnl_activation(activation, slope, &alpha, &beta);
    if (!alg) {
        snprintf(net->error, sizeof net->error, "unknown activation %d", activation);
        return -1;
    }
    CHECK(dnnl_post_ops_append_eltwise(ops, 1.f, alg, alpha, beta));
    return 0;
}

// Whether a 3×3 stride-1 convolution oneDNN would run as `jit:avx2` over nChw8c takes our
// Winograd kernel instead (VISIONFLEET_WINOGRAD=0 keeps oneDNN's). Its transformed weights are
// 4× the plain ones, so on a small output (under 256 pixels over the batch) it is taken only
// when those are about L2's size (C·K ≤ 4096, 590 KB): otherwise reading them from memory costs more than
// the multiplies saved (YOLOX-tiny's 96→96 at 8×8, batch 1: 240 µs against oneDNN's 150 µs;
// transforming the weights on each run instead only drew level with oneDNN).
static int winograd_fits(const_dnnl_primitive_desc_t pd, const dnnl_memory_desc_t *src, const dnnl_memory_desc_t *dst, int kh,
                         int kw, int stride, int padding, int dilation, int groups) {
    const char *env = getenv("VISIONFLEET_WINOGRAD");
    if ((env && strcmp(env, "0") == 0) || kh != 3 || kw != 3 || stride != 1 || padding != 1 || dilation != 1 || groups != 1 ||
        src->dims[1] % 8 || dst->dims[1] % 8 || !vf_winograd_available())
        return 0;
    if (dst->dims[0] * dst->dims[2] * dst->dims[3] < 256 && src->dims[1] * dst->dims[1] > 4096) return 0;
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    if (!impl || strcmp(impl, "jit:avx2") != 0) return 0;
    dnnl_memory_desc_t blocked_src, blocked_dst;
    if (dnnl_memory_desc_init_by_tag(&blocked_src, 4, src->dims, dnnl_f32, dnnl_nChw8c) != dnnl_success ||
        dnnl_memory_desc_init_by_tag(&blocked_dst, 4, dst->dims, dnnl_f32, dnnl_nChw8c) != dnnl_success)
        return 0;
    return dnnl_memory_desc_equal(src, &blocked_src) && dnnl_memory_desc_equal(dst, &blocked_dst);
}

// Appends the Winograd op src → dst (dst holding the residual when `accumulate`, added before
// or after the activation), then the activation in place unless it is ReLU or SiLU (fused) or
// identity (with the residual added after it, only those).
static int add_winograd(vf_dnnl_net *net, dnnl_memory_t src, int in_channels, dnnl_memory_t dst, const dnnl_memory_desc_t *dst_md,
                        int accumulate, const float *weight, const float *bias, int activation, float leaky_slope, const char *name) {
    const dnnl_dim_t *d = dst_md->dims;
    int fused = activation == VF_ACT_RELU ? VF_WINOGRAD_RELU : activation == VF_ACT_SILU ? VF_WINOGRAD_SILU : VF_WINOGRAD_NONE;
    vf_winograd *plan = vf_winograd_create(in_channels, (int)d[1], (int)d[2], (int)d[3], weight, bias, fused, net->threads);
    if (!plan) {
        snprintf(net->error, sizeof net->error, "out of memory");
        return -1;
    }
    size_t need = vf_winograd_scratch_size(plan, (int)d[0]);
    if (need > net->winograd_scratch_bytes) {
        void *scratch = NULL;
        if (posix_memalign(&scratch, 64, need)) {
            vf_winograd_destroy(plan);
            snprintf(net->error, sizeof net->error, "out of memory");
            return -1;
        }
        free(net->winograd_scratch);
        net->winograd_scratch = scratch;
        net->winograd_scratch_bytes = need;
    }
    op_t *op = next_op(net, OP_WINOGRAD, name, "visionfleet:winograd_avx2");
    if (!op) {
        vf_winograd_destroy(plan);
        return -1;
    }
    op->winograd = plan;
    op->accumulate = accumulate;
    op->ninputs = 1;
    op->inputs[0] = src;
    op->output = dst;
    memcpy(op->dims[0], d, sizeof op->dims[0]);
    net->nops++;
    if (fused || activation == VF_ACT_IDENTITY) return 0;
    float alpha, beta;
    dnnl_alg_kind_t alg = vf_dnnl_activation(activation, leaky_slope, &alpha, &beta);
    if (!alg) {
        snprintf(net->error, sizeof net->error, "unknown activation %d", activation);
        return -1;
    }
    dnnl_eltwise_desc_t desc;
    CHECK(dnnl_eltwise_forward_desc_init(&desc, dnnl_forward_inference, alg, dst_md, alpha, beta));
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_primitive_desc_create(&pd, &desc, NULL, net->engine, NULL));
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, dst}, {DNNL_ARG_DST, dst}};
    return add_op(net, pd, args, 2, "activation (after winograd)");
}

// An inference convolution's descriptor over `in` into `dst_md` (format `any` lets oneDNN pick),
// with the weight descriptors it wants (`weights_md`) and the caller's OIHW / GOIHW
// (`user_weights_md`) and the bias's.
static int conv_desc(vf_dnnl_net *net, const dnnl_memory_desc_t *in, const dnnl_memory_desc_t *dst_md, int out_channels, int kh, int kw,
                     int stride, int padding, int dilation, int groups, dnnl_convolution_desc_t *desc, dnnl_memory_desc_t *weights_md,
                     dnnl_memory_desc_t *user_weights_md, dnnl_memory_desc_t *bias_md) {
    dnnl_memory_desc_t src_md;
    dnnl_dims_t src_dims = {in->dims[0], in->dims[1], in->dims[2], in->dims[3]}, bias_dims = {out_channels};
    CHECK(dnnl_memory_desc_init_by_tag(&src_md, 4, src_dims, dnnl_f32, dnnl_format_tag_any));
    CHECK(dnnl_memory_desc_init_by_tag(bias_md, 1, bias_dims, dnnl_f32, dnnl_x));
    CHECK(vf_dnnl_conv_weights_mds(groups, out_channels, (int)in->dims[1], kh, kw, weights_md, user_weights_md));
    dnnl_dims_t strides = {stride, stride}, dilates = {dilation - 1, dilation - 1}, pad = {padding, padding};
    CHECK(dnnl_dilated_convolution_forward_desc_init(desc, dnnl_forward_inference, dnnl_convolution_direct, &src_md, weights_md,
                                                     bias_md, dst_md, strides, dilates, pad, pad));
    return 0;
}

// An inference convolution's primitive over `in` into `dst_md`, its post-ops in order: a sum
// of what dst holds (`sum_before`), the activation, a binary add of `add_after` (its operand, in
// the layout dst takes). 0, or -1 with the error set when oneDNN has none.
static int conv_pd(vf_dnnl_net *net, const dnnl_memory_desc_t *in, const dnnl_memory_desc_t *dst_md, int out_channels, int kh, int kw,
                   int stride, int padding, int dilation, int groups, int sum_before, const dnnl_memory_desc_t *add_after, int activation,
                   float leaky_slope, dnnl_primitive_desc_t *pd, dnnl_memory_desc_t *user_weights_md, dnnl_memory_desc_t *bias_md) {
    dnnl_memory_desc_t weights_md;
    dnnl_convolution_desc_t desc;
    if (conv_desc(net, in, dst_md, out_channels, kh, kw, stride, padding, dilation, groups, &desc, &weights_md, user_weights_md, bias_md))
        return -1;
    dnnl_post_ops_t post;
    CHECK(dnnl_post_ops_create(&post));
    int failed = (sum_before && dnnl_post_ops_append_sum(post, 1.f) != dnnl_success) || append_activation(net, post, activation, leaky_slope) ||
                 (add_after && dnnl_post_ops_append_binary(post, dnnl_binary_add, add_after) != dnnl_success);
    *pd = NULL;
    if (!failed) {
        dnnl_primitive_attr_t attr;
        CHECK(dnnl_primitive_attr_create(&attr));
        dnnl_primitive_attr_set_post_ops(attr, post);
        dnnl_status_t s = dnnl_primitive_desc_create(pd, &desc, attr, net->engine, NULL);
        dnnl_primitive_attr_destroy(attr);
        if (s != dnnl_success) {
            snprintf(net->error, sizeof net->error, "no oneDNN convolution for %dx%d/%d groups %d: status %d", kh, kw, stride, groups, (int)s);
            *pd = NULL;
            failed = 1;
        }
    }
    dnnl_post_ops_destroy(post);
    return failed ? -1 : 0;
}

// Whether oneDNN runs `pd` with generated code (`jit:…`, or `brgconv:…` on AVX-512), not its
// slow reference kernel.
static int is_jit(const_dnnl_primitive_desc_t pd) {
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    return impl && !strstr(impl, "ref");
}

// Appends the convolution `pd` (consumed) from slot `src` into `dst_mem`, its weights and bias
// imported in the layouts it wants; `binary`, when set, is the operand of its binary post-op
// number `binary_index`. The new slot, or -1.
static int add_conv(vf_dnnl_net *net, dnnl_primitive_desc_t pd, int src, const float *weight, const float *bias,
                    const dnnl_memory_desc_t *user_weights_md, const dnnl_memory_desc_t *bias_md, dnnl_memory_t dst_mem,
                    dnnl_memory_t binary, int binary_index, const char *name) {
    const dnnl_memory_desc_t *want_src = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *want_weights = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dnnl_memory_desc_t want_dst = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    dnnl_memory_t src_mem, weights_mem, bias_mem;
    if (in_layout(net, src, want_src, &src_mem) || import_constant(net, weight, user_weights_md, want_weights, &weights_mem) ||
        import_constant(net, bias, bias_md, bias_md, &bias_mem)) {
        dnnl_primitive_desc_destroy(pd);
        return -1;
    }
    dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, src_mem}, {DNNL_ARG_WEIGHTS, weights_mem}, {DNNL_ARG_BIAS, bias_mem}, {DNNL_ARG_DST, dst_mem},
                               {DNNL_ARG_ATTR_MULTIPLE_POST_OP(binary_index) | DNNL_ARG_SRC_1, binary}};
    if (add_op(net, pd, args, binary ? 5 : 4, name)) return -1;
    return new_slot(net, &want_dst, dst_mem);
}

int vf_dnnl_net_conv(vf_dnnl_net *net, int src, int residual, int residual_dies, const float *weight, const float *bias,
                     int out_channels, int kh, int kw, int stride, int padding, int dilation, int groups, int activation,
                     float leaky_slope, int residual_after) {
    if (!valid_slot(net, src) || (residual >= 0 && !valid_slot(net, residual))) return -1;
    // act(conv) + residual: our Winograd kernel adds it after the activation; elsewhere a binary
    // post-op after the eltwise (oneDNN 2.6 has no jit kernel with a sum post-op there), or a
    // binary add op after the convolution where that has no jit kernel either.
    int after = residual >= 0 && residual_after;
    const dnnl_memory_desc_t *in = &net->slots[src].md;
    if (in->ndims != 4) {
        snprintf(net->error, sizeof net->error, "convolution input must be 4-D");
        return -1;
    }
    dnnl_dim_t n = in->dims[0], c = in->dims[1], h = in->dims[2], w = in->dims[3];
    dnnl_dim_t oh = (h + 2 * padding - dilation * (kh - 1) - 1) / stride + 1;
    dnnl_dim_t ow = (w + 2 * padding - dilation * (kw - 1) - 1) / stride + 1;
    dnnl_memory_desc_t bias_md, dst_md, user_weights_md;
    dnnl_dims_t dst_dims = {n, out_channels, oh, ow};
    CHECK(dnnl_memory_desc_init_by_tag(&dst_md, 4, dst_dims, dnnl_f32, dnnl_format_tag_any));
    dnnl_primitive_desc_t pd;
    if (conv_pd(net, in, &dst_md, out_channels, kh, kw, stride, padding, dilation, groups, residual >= 0 && !after, NULL, activation,
                leaky_slope, &pd, &user_weights_md, &bias_md))
        return -1;
    const dnnl_memory_desc_t *want_src = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    dnnl_memory_desc_t want_dst = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    dnnl_memory_t dst_mem;
    int winograd = winograd_fits(pd, want_src, &want_dst, kh, kw, stride, padding, dilation, groups) &&
                   (!after || activation == VF_ACT_RELU || activation == VF_ACT_SILU || activation == VF_ACT_IDENTITY);
    char name[96];
    snprintf(name, sizeof name, "conv%dx%d/%d %d→%d @%dx%d%s", kh, kw, stride, (int)c, out_channels, (int)oh, (int)ow,
             groups > 1 ? " dw" : "");
    if (after && !winograd) {
        // One convolution with the residual's add as a post-op, into the residual's layout,
        // where a jit kernel has it; else this plain convolution, then an add op. (The weight and
        // bias descriptors do not depend on the post-ops: the plain primitive's serve both.)
        dnnl_memory_desc_t res_md = net->slots[residual].md;
        dnnl_primitive_desc_t fused;
        if (conv_pd(net, in, &res_md, out_channels, kh, kw, stride, padding, dilation, groups, 0, &res_md, activation, leaky_slope, &fused,
                    &user_weights_md, &bias_md) == 0) {
            if (is_jit(fused)) {
                dnnl_primitive_desc_destroy(pd);
                if (allocate(net, dnnl_primitive_desc_query_md(fused, dnnl_query_dst_md, 0), &dst_mem)) {
                    dnnl_primitive_desc_destroy(fused);
                    return -1;
                }
                strcat(name, " +res");
                return add_conv(net, fused, src, weight, bias, &user_weights_md, &bias_md, dst_mem, net->slots[residual].mem,
                                activation == VF_ACT_IDENTITY ? 0 : 1, name);
            }
            dnnl_primitive_desc_destroy(fused);
        }
        if (allocate(net, &want_dst, &dst_mem)) {
            dnnl_primitive_desc_destroy(pd);
            return -1;
        }
        int y = add_conv(net, pd, src, weight, bias, &user_weights_md, &bias_md, dst_mem, NULL, 0, name);
        return y < 0 ? -1 : vf_dnnl_net_add(net, y, residual);
    }
    if (residual >= 0) {
        strcat(name, " +res");
        // The sum post-op (or the Winograd kernel) adds what dst holds: the residual, in dst's layout.
        slot_t *r = &net->slots[residual];
        if (residual_dies && residual != 0 && residual != src && dnnl_memory_desc_equal(&r->md, &want_dst)) {
            dst_mem = r->mem;
        } else {
            if (allocate(net, &want_dst, &dst_mem)) { dnnl_primitive_desc_destroy(pd); return -1; }
            dnnl_primitive_desc_t copy;
            CHECK(dnnl_reorder_primitive_desc_create(&copy, &r->md, net->engine, &want_dst, net->engine, NULL));
            dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, r->mem}, {DNNL_ARG_TO, dst_mem}};
            if (add_op(net, copy, args, 2, "residual copy")) { dnnl_primitive_desc_destroy(pd); return -1; }
            net->reorders++;
        }
    } else if (allocate(net, &want_dst, &dst_mem)) {
        dnnl_primitive_desc_destroy(pd);
        return -1;
    }
    if (winograd) {
        dnnl_memory_t src_mem;
        if (in_layout(net, src, want_src, &src_mem)) { dnnl_primitive_desc_destroy(pd); return -1; }
        dnnl_primitive_desc_destroy(pd);
        int accumulate = after ? VF_WINOGRAD_ADD_AFTER : residual >= 0 ? VF_WINOGRAD_ADD_BEFORE : 0;
        if (add_winograd(net, src_mem, (int)c, dst_mem, &want_dst, accumulate, weight, bias, activation, leaky_slope, name)) return -1;
        return new_slot(net, &want_dst, dst_mem);
    }
    return add_conv(net, pd, src, weight, bias, &user_weights_md, &bias_md, dst_mem, NULL, 0, name);
}

int vf_dnnl_net_add(vf_dnnl_net *net, int a, int b) {
    if (!valid_slot(net, a) || !valid_slot(net, b)) return -1;
    // A copy: new_slot may move the slots array.
    dnnl_memory_desc_t md = net->slots[a].md;
    dnnl_memory_t a_mem = net->slots[a].mem, b_mem;
    if (in_layout(net, b, &md, &b_mem)) return -1;
    dnnl_binary_desc_t desc;
    CHECK(dnnl_binary_desc_init(&desc, dnnl_binary_add, &md, &md, &md));
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_primitive_desc_create(&pd, &desc, NULL, net->engine, NULL));
    dnnl_memory_t dst;
    if (allocate(net, &md, &dst)) { dnnl_primitive_desc_destroy(pd); return -1; }
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC_0, a_mem}, {DNNL_ARG_SRC_1, b_mem}, {DNNL_ARG_DST, dst}};
    if (add_op(net, pd, args, 3, "add")) return -1;
    return new_slot(net, &md, dst);
}

int vf_dnnl_net_relayout(vf_dnnl_net *net, int src, int block) {
    if (!valid_slot(net, src)) return -1;
    // A copy: new_slot may move the slots array.
    dnnl_memory_desc_t from = net->slots[src].md, md;
    if (from.ndims != 4 || (block != 0 && block != 8 && block != 16)) {
        snprintf(net->error, sizeof net->error, "relayout takes a 4-D value and block 0, 8 or 16, got %d-D and %d", from.ndims, block);
        return -1;
    }
    dnnl_format_tag_t tag = block == 16 ? dnnl_nChw16c : block == 8 ? dnnl_nChw8c : dnnl_nchw;
    CHECK(dnnl_memory_desc_init_by_tag(&md, 4, from.dims, dnnl_f32, tag));
    if (dnnl_memory_desc_equal(&from, &md)) return src;  // already there
    dnnl_memory_t mem;
    if (in_layout(net, src, &md, &mem)) return -1;
    return new_slot(net, &md, mem);
}

// The channel-blocked layout (nChw8c on AVX2, nChw16c on AVX-512) `md` has with whole blocks,
// or 0: such tensors concatenate along channels by copying each image's part whole (its blocks
// are contiguous, in channel order).
static dnnl_format_tag_t whole_blocks(const dnnl_memory_desc_t *md) {
    const dnnl_format_tag_t tags[2] = {dnnl_nChw8c, dnnl_nChw16c};
    const int sizes[2] = {8, 16};
    for (int i = 0; i < 2; i++) {
        dnnl_memory_desc_t blocked;
        if (md->ndims != 4 || md->dims[1] % sizes[i] ||
            dnnl_memory_desc_init_by_tag(&blocked, 4, md->dims, dnnl_f32, tags[i]) != dnnl_success)
            continue;
        if (dnnl_memory_desc_equal(md, &blocked)) return tags[i];
    }
    return dnnl_format_tag_undef;
}

// The concat of parts in one channel-blocked layout `tag` with whole blocks: one contiguous copy
// per image and part (oneDNN's generic concat walks them block by block, several times slower).
static int concat_blocked(vf_dnnl_net *net, const int *parts, int count, dnnl_format_tag_t tag) {
    dnnl_dims_t dims;
    memcpy(dims, net->slots[parts[0]].md.dims, sizeof dims);
    dims[1] = 0;
    for (int i = 0; i < count; i++) dims[1] += net->slots[parts[i]].md.dims[1];
    dnnl_memory_desc_t md;
    CHECK(dnnl_memory_desc_init_by_tag(&md, 4, dims, dnnl_f32, tag));
    dnnl_memory_t out;
    if (allocate(net, &md, &out)) return -1;
    op_t *op = next_op(net, OP_CONCAT_BLOCKED, "concat", "visionfleet:c");
    if (!op) return -1;
    op->ninputs = count;
    for (int i = 0; i < count; i++) {
        op->inputs[i] = net->slots[parts[i]].mem;
        memcpy(op->dims[i], net->slots[parts[i]].md.dims, sizeof op->dims[i]);
    }
    op->output = out;
    net->nops++;
    return new_slot(net, &md, out);
}

int vf_dnnl_net_concat(vf_dnnl_net *net, const int *parts, int count) {
    if (count < 1 || count > MAX_ARGS - 1) {  // the op's argument list holds the inputs and dst
        snprintf(net->error, sizeof net->error, "concat takes 1 to %d values, got %d", MAX_ARGS - 1, count);
        return -1;
    }
    dnnl_memory_desc_t mds[MAX_ARGS - 1];
    dnnl_format_tag_t tag = dnnl_format_tag_undef;
    int blocked = 1;
    for (int i = 0; i < count; i++) {
        if (!valid_slot(net, parts[i])) return -1;
        mds[i] = net->slots[parts[i]].md;
        const dnnl_dim_t *d = mds[i].dims, *first = mds[0].dims;
        dnnl_format_tag_t part = whole_blocks(&mds[i]);
        if (i == 0) tag = part;
        blocked = blocked && part && part == tag && d[0] == first[0] && d[2] == first[2] && d[3] == first[3];
    }
    if (blocked) return concat_blocked(net, parts, count, tag);
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_concat_primitive_desc_create(&pd, NULL, count, 1, mds, NULL, net->engine));
    dnnl_memory_desc_t want_dst = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    dnnl_memory_t dst;
    if (allocate(net, &want_dst, &dst)) { dnnl_primitive_desc_destroy(pd); return -1; }
    dnnl_exec_arg_t args[MAX_ARGS];
    for (int i = 0; i < count; i++) args[i] = (dnnl_exec_arg_t){DNNL_ARG_MULTIPLE_SRC + i, net->slots[parts[i]].mem};
    args[count] = (dnnl_exec_arg_t){DNNL_ARG_DST, dst};
    if (add_op(net, pd, args, count + 1, "concat")) return -1;
    return new_slot(net, &want_dst, dst);
}

int vf_dnnl_net_upsample2x(vf_dnnl_net *net, int src) {
    if (!valid_slot(net, src)) return -1;
    slot_t *in = &net->slots[src];
    dnnl_dims_t dims = {in->md.dims[0], in->md.dims[1], 2 * in->md.dims[2], 2 * in->md.dims[3]};
    dnnl_memory_desc_t dst_md;
    CHECK(dnnl_memory_desc_init_by_tag(&dst_md, 4, dims, dnnl_f32, dnnl_format_tag_any));
    dnnl_resampling_desc_t desc;
    CHECK(dnnl_resampling_forward_desc_init(&desc, dnnl_forward_inference, dnnl_resampling_nearest, NULL, &in->md, &dst_md));
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_primitive_desc_create(&pd, &desc, NULL, net->engine, NULL));
    dnnl_memory_desc_t want_dst = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    dnnl_memory_t dst;
    if (allocate(net, &want_dst, &dst)) { dnnl_primitive_desc_destroy(pd); return -1; }
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, in->mem}, {DNNL_ARG_DST, dst}};
    if (add_op(net, pd, args, 2, "upsample 2x")) return -1;
    return new_slot(net, &want_dst, dst);
}

// A custom data-movement op over plain inputs into new plain memory `md`.
static int custom_op(vf_dnnl_net *net, int kind, const int *inputs, int count, const dnnl_memory_desc_t *md, const char *name) {
    dnnl_memory_t plain[MAX_INPUTS];
    for (int i = 0; i < count; i++) {
        slot_t *s = &net->slots[inputs[i]];
        dnnl_memory_desc_t want;
        CHECK(dnnl_memory_desc_init_by_tag(&want, 4, s->md.dims, dnnl_f32, dnnl_nchw));
        if (in_layout(net, inputs[i], &want, &plain[i])) return -1;
    }
    dnnl_memory_t out;
    if (allocate(net, md, &out)) return -1;
    op_t *op = next_op(net, kind, name, "visionfleet:c");
    if (!op) return -1;
    op->ninputs = count;
    for (int i = 0; i < count; i++) {
        op->inputs[i] = plain[i];
        memcpy(op->dims[i], net->slots[inputs[i]].md.dims, sizeof op->dims[i]);
    }
    op->output = out;
    net->nops++;
    return new_slot(net, md, out);
}

int vf_dnnl_net_space_to_depth(vf_dnnl_net *net, int src) {
    if (!valid_slot(net, src)) return -1;
    const dnnl_dim_t *d = net->slots[src].md.dims;
    if (d[2] % 2 || d[3] % 2) {
        snprintf(net->error, sizeof net->error, "space to depth needs even height and width");
        return -1;
    }
    // Written straight in the blocked layout the convolution after it reads (YOLOX's stem), so
    // no reorder runs between them; any other reader reorders it as it would any value.
    dnnl_dims_t dims = {d[0], 4 * d[1], d[2] / 2, d[3] / 2};
    dnnl_memory_desc_t md;
    CHECK(dnnl_memory_desc_init_by_tag(&md, 4, dims, dnnl_f32, dnnl_nChw8c));
    return custom_op(net, OP_SPACE_TO_DEPTH, &src, 1, &md, "space to depth");
}

int vf_dnnl_net_flatten_levels(vf_dnnl_net *net, const int *levels, int count) {
    if (count < 1 || count > MAX_INPUTS) {
        snprintf(net->error, sizeof net->error, "flatten takes 1 to %d levels", MAX_INPUTS);
        return -1;
    }
    dnnl_dim_t anchors = 0, k = -1;
    for (int i = 0; i < count; i++) {
        if (!valid_slot(net, levels[i])) return -1;
        const dnnl_dim_t *d = net->slots[levels[i]].md.dims;
        if (k >= 0 && d[1] != k) {
            snprintf(net->error, sizeof net->error, "levels differ in channels");
            return -1;
        }
        k = d[1];
        anchors += d[2] * d[3];
    }
    dnnl_dims_t dims = {net->slots[levels[0]].md.dims[0], anchors, k};
    dnnl_memory_desc_t md;
    CHECK(dnnl_memory_desc_init_by_tag(&md, 3, dims, dnnl_f32, dnnl_abc));
    return custom_op(net, OP_FLATTEN_LEVELS, levels, count, &md, "flatten levels");
}

typedef struct {
    float *out;
    const float *in[MAX_INPUTS];
    size_t floats[MAX_INPUTS], offset[MAX_INPUTS], image;  // per image: each part's size and place, the output's size
    int parts, chunks;
    dnnl_dim_t images;
} concat_job;

// Chunk `chunk` of `job->chunks`: its share of the (image, part) copies.
static void concat_chunk(void *data, int chunk) {
    const concat_job *job = data;
    dnnl_dim_t total = job->images * job->parts;
    for (dnnl_dim_t k = total * chunk / job->chunks; k < total * (chunk + 1) / job->chunks; k++) {
        dnnl_dim_t b = k / job->parts;
        int p = (int)(k % job->parts);
        memcpy(job->out + (size_t)b * job->image + job->offset[p], job->in[p] + (size_t)b * job->floats[p], job->floats[p] * sizeof(float));
    }
}

static int run_concat_blocked(vf_dnnl_net *net, op_t *op, float *out) {
    concat_job job = {.out = out, .parts = op->ninputs, .images = op->dims[0][0]};
    for (int p = 0; p < op->ninputs; p++) {
        CHECK(dnnl_memory_get_data_handle(op->inputs[p], (void **)&job.in[p]));
        job.floats[p] = (size_t)(op->dims[p][1] * op->dims[p][2] * op->dims[p][3]);
        job.offset[p] = job.image;
        job.image += job.floats[p];
    }
    // Below about a megabyte a copy is over before a second thread would have started.
    size_t bytes = job.image * (size_t)job.images * sizeof(float);
    dnnl_dim_t copies = job.images * job.parts;
    job.chunks = bytes < (1u << 20) || net->threads < 2 ? 1 : (int)(copies < net->threads ? copies : net->threads);
    if (job.chunks == 1) concat_chunk(&job, 0);
    else vf_omp_run(job.chunks, concat_chunk, &job);
    return 0;
}

static int run_custom(vf_dnnl_net *net, op_t *op) {
    float *out = NULL;
    CHECK(dnnl_memory_get_data_handle(op->output, (void **)&out));
    if (op->kind == OP_CONCAT_BLOCKED) return run_concat_blocked(net, op, out);
    if (op->kind == OP_WINOGRAD) {
        const float *x = NULL;
        CHECK(dnnl_memory_get_data_handle(op->inputs[0], (void **)&x));
        vf_winograd_run(op->winograd, (int)op->dims[0][0], x, out, op->accumulate, net->winograd_scratch);
        return 0;
    }
    if (op->kind == OP_SPACE_TO_DEPTH) {
        const float *x = NULL;
        CHECK(dnnl_memory_get_data_handle(op->inputs[0], (void **)&x));
        dnnl_dim_t n = op->dims[0][0], c = op->dims[0][1], h = op->dims[0][2], w = op->dims[0][3], h2 = h / 2, w2 = w / 2;
        dnnl_dim_t blocks = (4 * c + 7) / 8;
        // Output channel (wOff·2 + hOff)·C + ch, as YOLOX's Focus orders the phases, in nChw8c:
        // eight channels per pixel, the padding channels of the last block zero.
        for (dnnl_dim_t b = 0; b < n; b++)
            for (dnnl_dim_t cb = 0; cb < blocks; cb++) {
                const float *from[8];
                for (int lane = 0; lane < 8; lane++) {
                    dnnl_dim_t oc = cb * 8 + lane, phase = oc / c, ch = oc % c;
                    // phase = wOff·2 + hOff: the pixel at (2i + hOff, 2j + wOff) of channel ch
                    from[lane] = oc < 4 * c ? x + (b * c + ch) * h * w + (phase % 2) * w + phase / 2 : NULL;
                }
                float *dst = out + (b * blocks + cb) * h2 * w2 * 8;
                for (dnnl_dim_t i = 0; i < h2; i++)
                    for (dnnl_dim_t j = 0; j < w2; j++, dst += 8)
                        for (int lane = 0; lane < 8; lane++) dst[lane] = from[lane] ? from[lane][2 * i * w + 2 * j] : 0.f;
            }
        return 0;
    }
    dnnl_dim_t n = op->dims[0][0], k = op->dims[0][1], total = 0;
    for (int l = 0; l < op->ninputs; l++) total += op->dims[l][2] * op->dims[l][3];
    dnnl_dim_t offset = 0;
    for (int l = 0; l < op->ninputs; l++) {
        const float *x = NULL;
        CHECK(dnnl_memory_get_data_handle(op->inputs[l], (void **)&x));
        dnnl_dim_t plane = op->dims[l][2] * op->dims[l][3];
        for (dnnl_dim_t b = 0; b < n; b++) {
            const float *src = x + b * k * plane;
            float *dst = out + (b * total + offset) * k;
            for (dnnl_dim_t a = 0; a < plane; a++)
                for (dnnl_dim_t c = 0; c < k; c++) dst[a * k + c] = src[c * plane + a];
        }
        offset += plane;
    }
    return 0;
}

static int pool(vf_dnnl_net *net, int src, dnnl_alg_kind_t alg, int kernel_h, int kernel_w, int stride, int padding,
                const char *name) {
    if (!valid_slot(net, src)) return -1;
    slot_t *in = &net->slots[src];
    dnnl_dim_t n = in->md.dims[0], c = in->md.dims[1], h = in->md.dims[2], w = in->md.dims[3];
    dnnl_dim_t oh = (h + 2 * padding - kernel_h) / stride + 1, ow = (w + 2 * padding - kernel_w) / stride + 1;
    dnnl_dims_t dst_dims = {n, c, oh, ow}, strides = {stride, stride}, kernel = {kernel_h, kernel_w}, dil = {0, 0}, pad = {padding, padding};
    dnnl_memory_desc_t dst_md;
    CHECK(dnnl_memory_desc_init_by_tag(&dst_md, 4, dst_dims, dnnl_f32, dnnl_format_tag_any));
    dnnl_pooling_v2_desc_t desc;
    CHECK(dnnl_pooling_v2_forward_desc_init(&desc, dnnl_forward_inference, alg, &in->md, &dst_md, strides, kernel, dil, pad, pad));
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_primitive_desc_create(&pd, &desc, NULL, net->engine, NULL));
    dnnl_memory_desc_t want_dst = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    dnnl_memory_t dst_mem;
    if (allocate(net, &want_dst, &dst_mem)) { dnnl_primitive_desc_destroy(pd); return -1; }
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, in->mem}, {DNNL_ARG_DST, dst_mem}};
    if (add_op(net, pd, args, 2, name)) return -1;
    return new_slot(net, &want_dst, dst_mem);
}

int vf_dnnl_net_global_avg_pool(vf_dnnl_net *net, int src) {
    if (!valid_slot(net, src)) return -1;
    const dnnl_memory_desc_t *md = &net->slots[src].md;
    return pool(net, src, dnnl_pooling_avg_exclude_padding, (int)md->dims[2], (int)md->dims[3], 1, 0, "global avg pool");
}

int vf_dnnl_net_max_pool(vf_dnnl_net *net, int src, int kernel, int stride, int padding) {
    return pool(net, src, dnnl_pooling_max, kernel, kernel, stride, padding, "max pool");
}

int vf_dnnl_net_linear(vf_dnnl_net *net, int src, const float *weight, const float *bias, int out_features) {
    if (!valid_slot(net, src)) return -1;
    slot_t *in = &net->slots[src];
    dnnl_dim_t n = in->md.dims[0], c = in->md.dims[1];
    for (int d = 2; d < in->md.ndims; d++) {
        if (in->md.dims[d] != 1) {
            snprintf(net->error, sizeof net->error, "linear input must be (N, C) or (N, C, 1, 1)");
            return -1;
        }
    }
    // A 4-D (N, C, 1, 1) input is taken in its own layout (blocked, from pooling) with
    // (O, C, 1, 1) weights; a 2-D one as plain (N, C).
    int four = in->md.ndims == 4;
    dnnl_memory_desc_t src_md, weights_md, user_weights, bias_md, dst_md;
    dnnl_dims_t w_dims = {out_features, c, 1, 1}, b_dims = {out_features}, d_dims = {n, out_features}, src_dims = {n, c};
    dnnl_memory_t src_mem = in->mem;
    if (four) {
        src_md = in->md;
    } else {
        CHECK(dnnl_memory_desc_init_by_tag(&src_md, 2, src_dims, dnnl_f32, dnnl_nc));
        if (in_layout(net, src, &src_md, &src_mem)) return -1;
    }
    CHECK(dnnl_memory_desc_init_by_tag(&weights_md, four ? 4 : 2, w_dims, dnnl_f32, dnnl_format_tag_any));
    CHECK(dnnl_memory_desc_init_by_tag(&user_weights, four ? 4 : 2, w_dims, dnnl_f32, four ? dnnl_oihw : dnnl_oi));
    CHECK(dnnl_memory_desc_init_by_tag(&bias_md, 1, b_dims, dnnl_f32, dnnl_x));
    CHECK(dnnl_memory_desc_init_by_tag(&dst_md, 2, d_dims, dnnl_f32, dnnl_nc));
    dnnl_inner_product_desc_t desc;
    CHECK(dnnl_inner_product_forward_desc_init(&desc, dnnl_forward_inference, &src_md, &weights_md, bias ? &bias_md : NULL, &dst_md));
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_primitive_desc_create(&pd, &desc, NULL, net->engine, NULL));
    dnnl_memory_t weights_mem, bias_mem = NULL, dst_mem;
    if (import_constant(net, weight, &user_weights, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), &weights_mem) ||
        (bias && import_constant(net, bias, &bias_md, &bias_md, &bias_mem)) || allocate(net, &dst_md, &dst_mem)) {
        dnnl_primitive_desc_destroy(pd);
        return -1;
    }
    char name[96];
    snprintf(name, sizeof name, "linear %d→%d", (int)c, out_features);
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, src_mem}, {DNNL_ARG_WEIGHTS, weights_mem}, {DNNL_ARG_DST, dst_mem}, {DNNL_ARG_BIAS, bias_mem}};
    if (add_op(net, pd, args, bias ? 4 : 3, name)) return -1;
    return new_slot(net, &dst_md, dst_mem);
}

int vf_dnnl_net_set_output(vf_dnnl_net *net, int slot) {
    if (!valid_slot(net, slot)) return -1;
    slot_t *s = &net->slots[slot];
    dnnl_memory_desc_t plain;
    dnnl_format_tag_t tag = s->md.ndims == 4 ? dnnl_nchw : s->md.ndims == 3 ? dnnl_abc : s->md.ndims == 2 ? dnnl_nc : dnnl_x;
    CHECK(dnnl_memory_desc_init_by_tag(&plain, s->md.ndims, s->md.dims, dnnl_f32, tag));
    CHECK(dnnl_memory_create(&net->output_mem, &plain, net->engine, DNNL_MEMORY_NONE));
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_reorder_primitive_desc_create(&pd, &s->md, net->engine, &plain, net->engine, NULL));
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, s->mem}, {DNNL_ARG_TO, net->output_mem}};
    if (add_op(net, pd, args, 2, "output reorder")) return -1;
    net->output = slot;
    return 0;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int vf_dnnl_net_run(vf_dnnl_net *net, const float *input, float *output) {
    if (net->error[0]) return -1;
    if (net->output < 0) {
        snprintf(net->error, sizeof net->error, "no output set");
        return -1;
    }
    // OpenMP's thread count is per calling thread: set it for whichever thread runs this.
    if (net->threads > 0) omp_set_num_threads(net->threads);
    CHECK(dnnl_memory_set_data_handle(net->slots[0].mem, (void *)input));
    CHECK(dnnl_memory_set_data_handle(net->output_mem, output));
    for (int i = 0; i < net->nops; i++) {
        op_t *op = &net->ops[i];
        double start = net->profiling ? now() : 0;
        if (op->kind != OP_PRIMITIVE) {
            CHECK(dnnl_stream_wait(net->stream));
            if (run_custom(net, op)) return -1;
        } else {
            CHECK(dnnl_primitive_execute(op->prim, net->stream, op->nargs, op->args));
        }
        if (net->profiling) {
            CHECK(dnnl_stream_wait(net->stream));
            op->seconds = now() - start;
        }
    }
    CHECK(dnnl_stream_wait(net->stream));
    return 0;
}

int vf_dnnl_net_op_count(const vf_dnnl_net *net) { return net->nops; }
const char *vf_dnnl_net_op_name(const vf_dnnl_net *net, int op) { return op >= 0 && op < net->nops ? net->ops[op].name : ""; }
const char *vf_dnnl_net_op_impl(const vf_dnnl_net *net, int op) { return op >= 0 && op < net->nops ? net->ops[op].impl : ""; }
double vf_dnnl_net_op_seconds(const vf_dnnl_net *net, int op) { return op >= 0 && op < net->nops ? net->ops[op].seconds : 0; }
void vf_dnnl_net_set_profiling(vf_dnnl_net *net, int on) { net->profiling = on; }
int vf_dnnl_net_reorder_count(const vf_dnnl_net *net) { return net->reorders; }
