// oneDNN (2.x C API) training convolutions: forward, backward data, backward weights over the
// caller's buffers, activations plain (NCHW) or channel-blocked (nChw8c / nChw16c). See vfdnnl.h.
#include "vfdnnl.h"
#include "dnnl_shared.h"

#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern void omp_set_num_threads(int);

// One argument of a primitive: the caller's plain memory and, when oneDNN wants another
// layout, its own memory and the reorder between the two.
typedef struct {
    dnnl_memory_t user, inner;
    dnnl_primitive_t reorder;  // user → inner for inputs, inner → user for outputs
} port_t;

typedef struct {
    dnnl_primitive_t prim;
    dnnl_memory_t scratchpad;  // the primitive's own, allocated once (not per call by the library)
    char impl[64];
} step_t;

// An activation argument in the caller's two layouts: [0] plain NCHW, [1] channel-blocked.
typedef port_t layouts_t[2];

struct vf_dnnl_conv {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    int threads, has_bias, block;
    int blocked_src, blocked_dst;  // the forward reads / writes the blocked layout itself (no reorder)
    step_t fwd, bwd_data, bwd_weights;
    layouts_t fwd_src, fwd_dst, bd_diff_dst, bd_diff_src, bw_src, bw_diff_dst;
    port_t fwd_weights, fwd_bias, bd_weights, bw_diff_weights, bw_diff_bias;
    char error[256];
};

#define CHECK(call) VF_DNNL_CHECK(conv->error, call)

static int port_init(vf_dnnl_conv *conv, port_t *p, const dnnl_memory_desc_t *user_md, const dnnl_memory_desc_t *inner_md, int output) {
    CHECK(dnnl_memory_create(&p->user, user_md, conv->engine, DNNL_MEMORY_NONE));
    if (dnnl_memory_desc_equal(user_md, inner_md)) return 0;
    CHECK(dnnl_memory_create(&p->inner, inner_md, conv->engine, DNNL_MEMORY_ALLOCATE));
    dnnl_primitive_desc_t pd;
    if (output) {
        CHECK(dnnl_reorder_primitive_desc_create(&pd, inner_md, conv->engine, user_md, conv->engine, NULL));
    } else {
        CHECK(dnnl_reorder_primitive_desc_create(&pd, user_md, conv->engine, inner_md, conv->engine, NULL));
    }
    dnnl_status_t s = dnnl_primitive_create(&p->reorder, pd);
    dnnl_primitive_desc_destroy(pd);
    CHECK(s);
    return 0;
}

static void port_free(port_t *p) {
    if (p->reorder) dnnl_primitive_destroy(p->reorder);
    if (p->inner) dnnl_memory_destroy(p->inner);
    if (p->user) dnnl_memory_destroy(p->user);
}

static int layouts_init(vf_dnnl_conv *conv, layouts_t l, const dnnl_memory_desc_t *plain, const dnnl_memory_desc_t *blocked,
                        const dnnl_memory_desc_t *inner, int output) {
    return port_init(conv, &l[0], plain, inner, output) || port_init(conv, &l[1], blocked, inner, output);
}

// The memory a primitive reads: the caller's buffer, reordered when needed.
static int port_in(vf_dnnl_conv *conv, port_t *p, const void *data, dnnl_memory_t *mem) {
    CHECK(dnnl_memory_set_data_handle(p->user, (void *)data));
    if (!p->reorder) {
        *mem = p->user;
        return 0;
    }
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, p->user}, {DNNL_ARG_TO, p->inner}};
    CHECK(dnnl_primitive_execute(p->reorder, conv->stream, 2, args));
    *mem = p->inner;
    return 0;
}

// The memory a primitive writes; `port_out_finish` moves it into the caller's buffer.
static int port_out(vf_dnnl_conv *conv, port_t *p, void *data, dnnl_memory_t *mem) {
    CHECK(dnnl_memory_set_data_handle(p->user, data));
    *mem = p->reorder ? p->inner : p->user;
    return 0;
}

static int port_out_finish(vf_dnnl_conv *conv, port_t *p) {
    if (!p->reorder) return 0;
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, p->inner}, {DNNL_ARG_TO, p->user}};
    CHECK(dnnl_primitive_execute(p->reorder, conv->stream, 2, args));
    return 0;
}

static int make_step(vf_dnnl_conv *conv, step_t *step, dnnl_primitive_desc_t pd) {
    CHECK(vf_dnnl_make_primitive(conv->engine, pd, &step->prim, &step->scratchpad, step->impl));
    return 0;
}

static const dnnl_memory_desc_t *md_of(dnnl_primitive_desc_t pd, dnnl_query_t what) {
    return dnnl_primitive_desc_query_md(pd, what, 0);
}

static int build(vf_dnnl_conv *conv, int n, int c, int h, int w, int oc, int kh, int kw, int sh, int sw, int ph, int pw,
                 int dh, int dw, int groups) {
    int oh = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1;
    int ow = (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
    dnnl_memory_desc_t src_any, dst_any, weights_any, bias_md, src_plain, dst_plain, weights_plain;
    dnnl_dims_t src_dims = {n, c, h, w}, dst_dims = {n, oc, oh, ow}, bias_dims = {oc};
    CHECK(dnnl_memory_desc_init_by_tag(&src_any, 4, src_dims, dnnl_f32, dnnl_format_tag_any));
    CHECK(dnnl_memory_desc_init_by_tag(&dst_any, 4, dst_dims, dnnl_f32, dnnl_format_tag_any));
    CHECK(dnnl_memory_desc_init_by_tag(&src_plain, 4, src_dims, dnnl_f32, dnnl_nchw));
    CHECK(dnnl_memory_desc_init_by_tag(&dst_plain, 4, dst_dims, dnnl_f32, dnnl_nchw));
    // The blocked layouts the caller may hand over (plain again where the channels do not divide).
    dnnl_memory_desc_t src_blocked = src_plain, dst_blocked = dst_plain;
    dnnl_format_tag_t blocked = conv->block == 16 ? dnnl_nChw16c : dnnl_nChw8c;
    if (conv->block && c % conv->block == 0) CHECK(dnnl_memory_desc_init_by_tag(&src_blocked, 4, src_dims, dnnl_f32, blocked));
    if (conv->block && oc % conv->block == 0) CHECK(dnnl_memory_desc_init_by_tag(&dst_blocked, 4, dst_dims, dnnl_f32, blocked));
    CHECK(dnnl_memory_desc_init_by_tag(&bias_md, 1, bias_dims, dnnl_f32, dnnl_x));
    CHECK(vf_dnnl_conv_weights_mds(groups, oc, c, kh, kw, &weights_any, &weights_plain));
    dnnl_dims_t strides = {sh, sw}, dilates = {dh - 1, dw - 1}, pad = {ph, pw};
    // Right padding that gives exactly (oh, ow), as the engine's geometry computes them.
    dnnl_dims_t pad_r = {(oh - 1) * sh + dh * (kh - 1) + 1 - h - ph, (ow - 1) * sw + dw * (kw - 1) + 1 - w - pw};
    const dnnl_memory_desc_t *bias = conv->has_bias ? &bias_md : NULL;

    dnnl_convolution_desc_t fd, bdd, bwd;
    dnnl_primitive_desc_t fpd = NULL, bdpd = NULL, bwpd = NULL;
    CHECK(dnnl_dilated_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &src_any, &weights_any,
                                                     bias, &dst_any, strides, dilates, pad, pad_r));
    dnnl_primitive_attr_t attr = vf_dnnl_user_scratchpad();
    if (!attr) {
        snprintf(conv->error, sizeof conv->error, "out of memory");
        return -1;
    }
    int failed = dnnl_primitive_desc_create(&fpd, &fd, attr, conv->engine, NULL) != dnnl_success ||
                 dnnl_dilated_convolution_backward_data_desc_init(&bdd, dnnl_convolution_direct, &src_any, &weights_any, &dst_any, strides,
                                                                  dilates, pad, pad_r) != dnnl_success ||
                 dnnl_primitive_desc_create(&bdpd, &bdd, attr, conv->engine, fpd) != dnnl_success ||
                 dnnl_dilated_convolution_backward_weights_desc_init(&bwd, dnnl_convolution_direct, &src_any, &weights_any, bias, &dst_any,
                                                                     strides, dilates, pad, pad_r) != dnnl_success ||
                 dnnl_primitive_desc_create(&bwpd, &bwd, attr, conv->engine, fpd) != dnnl_success;
    dnnl_primitive_attr_destroy(attr);
    if (!failed) {
        failed = make_step(conv, &conv->fwd, fpd) || make_step(conv, &conv->bwd_data, bdpd) || make_step(conv, &conv->bwd_weights, bwpd) ||
                 layouts_init(conv, conv->fwd_src, &src_plain, &src_blocked, md_of(fpd, dnnl_query_src_md), 0) ||
                 port_init(conv, &conv->fwd_weights, &weights_plain, md_of(fpd, dnnl_query_weights_md), 0) ||
                 port_init(conv, &conv->fwd_bias, &bias_md, &bias_md, 0) ||
                 layouts_init(conv, conv->fwd_dst, &dst_plain, &dst_blocked, md_of(fpd, dnnl_query_dst_md), 1) ||
                 layouts_init(conv, conv->bd_diff_dst, &dst_plain, &dst_blocked, md_of(bdpd, dnnl_query_diff_dst_md), 0) ||
                 port_init(conv, &conv->bd_weights, &weights_plain, md_of(bdpd, dnnl_query_weights_md), 0) ||
                 layouts_init(conv, conv->bd_diff_src, &src_plain, &src_blocked, md_of(bdpd, dnnl_query_diff_src_md), 1) ||
                 layouts_init(conv, conv->bw_src, &src_plain, &src_blocked, md_of(bwpd, dnnl_query_src_md), 0) ||
                 layouts_init(conv, conv->bw_diff_dst, &dst_plain, &dst_blocked, md_of(bwpd, dnnl_query_diff_dst_md), 0) ||
                 port_init(conv, &conv->bw_diff_weights, &weights_plain, md_of(bwpd, dnnl_query_diff_weights_md), 1) ||
                 port_init(conv, &conv->bw_diff_bias, &bias_md, &bias_md, 1);
    if (!failed) {
        conv->blocked_src = conv->block && c % conv->block == 0 && dnnl_memory_desc_equal(&src_blocked, md_of(fpd, dnnl_query_src_md));
        conv->blocked_dst = conv->block && oc % conv->block == 0 && dnnl_memory_desc_equal(&dst_blocked, md_of(fpd, dnnl_query_dst_md));
    }
    } else if (!conv->error[0]) {
        snprintf(conv->error, sizeof conv->error, "no oneDNN backward convolution for %dx%d/%d groups %d", kh, kw, sh, groups);
    }
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (bdpd) dnnl_primitive_desc_destroy(bdpd);
    if (bwpd) dnnl_primitive_desc_destroy(bwpd);
    return failed ? -1 : 0;
}

vf_dnnl_conv *vf_dnnl_conv_create(int batch, int in_channels, int height, int width, int out_channels, int kh, int kw,
                                  int stride_h, int stride_w, int pad_h, int pad_w, int dilation_h, int dilation_w,
                                  int groups, int has_bias, int threads, int block) {
    vf_dnnl_conv *conv = calloc(1, sizeof *conv);
    if (!conv) return NULL;
    conv->threads = threads;
    conv->block = block == 8 || block == 16 ? block : 0;
    conv->has_bias = has_bias;
    if (dnnl_engine_create(&conv->engine, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&conv->stream, conv->engine, dnnl_stream_default_flags) != dnnl_success) {
        snprintf(conv->error, sizeof conv->error, "cannot create the oneDNN CPU engine");
        return conv;
    }
    if (threads > 0) omp_set_num_threads(threads);
    build(conv, batch, in_channels, height, width, out_channels, kh, kw, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups);
    return conv;
}

void vf_dnnl_conv_destroy(vf_dnnl_conv *conv) {
    if (!conv) return;
    step_t *steps[3] = {&conv->fwd, &conv->bwd_data, &conv->bwd_weights};
    for (int i = 0; i < 3; i++) {
        if (steps[i]->prim) dnnl_primitive_destroy(steps[i]->prim);
        if (steps[i]->scratchpad) dnnl_memory_destroy(steps[i]->scratchpad);
    }
    port_t *ports[17] = {&conv->fwd_src[0], &conv->fwd_src[1], &conv->fwd_dst[0], &conv->fwd_dst[1], &conv->bd_diff_dst[0],
                         &conv->bd_diff_dst[1], &conv->bd_diff_src[0], &conv->bd_diff_src[1], &conv->bw_src[0], &conv->bw_src[1],
                         &conv->bw_diff_dst[0], &conv->bw_diff_dst[1], &conv->fwd_weights, &conv->fwd_bias, &conv->bd_weights,
                         &conv->bw_diff_weights, &conv->bw_diff_bias};
    for (int i = 0; i < 17; i++) port_free(ports[i]);
    if (conv->stream) dnnl_stream_destroy(conv->stream);
    if (conv->engine) dnnl_engine_destroy(conv->engine);
    free(conv);
}

const char *vf_dnnl_conv_error(const vf_dnnl_conv *conv) { return conv->error[0] ? conv->error : NULL; }

int vf_dnnl_preferred_block(int threads) {
    int blocks[2] = {16, 8};
    for (int i = 0; i < 2; i++) {
        vf_dnnl_conv *probe = vf_dnnl_conv_create(2, 32, 8, 8, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0, threads, blocks[i]);
        if (!probe) return 0;
        int chosen = !probe->error[0] && probe->blocked_src && probe->blocked_dst;
        vf_dnnl_conv_destroy(probe);
        if (chosen) return blocks[i];
    }
    return 0;
}

int vf_dnnl_conv_blocked(const vf_dnnl_conv *conv, int which) { return which == 0 ? conv->blocked_src : conv->blocked_dst; }

const char *vf_dnnl_conv_impl(const vf_dnnl_conv *conv, int which) {
    return which == 0 ? conv->fwd.impl : which == 1 ? conv->bwd_data.impl : conv->bwd_weights.impl;
}

int vf_dnnl_conv_forward(vf_dnnl_conv *conv, const float *src, int src_blocked, const float *weight, const float *bias, float *dst,
                         int dst_blocked) {
    if (conv->error[0]) return -1;
    // OpenMP's thread count is per calling thread: set it for whichever thread runs this.
    if (conv->threads > 0) omp_set_num_threads(conv->threads);
    dnnl_memory_t s, w, b = NULL, d;
    port_t *src_port = &conv->fwd_src[src_blocked != 0], *dst_port = &conv->fwd_dst[dst_blocked != 0];
    if (port_in(conv, src_port, src, &s) || port_in(conv, &conv->fwd_weights, weight, &w) ||
        (conv->has_bias && port_in(conv, &conv->fwd_bias, bias, &b)) || port_out(conv, dst_port, dst, &d)) return -1;
    dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, s}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, d}, {DNNL_ARG_SCRATCHPAD, conv->fwd.scratchpad},
                               {DNNL_ARG_BIAS, b}};
    CHECK(dnnl_primitive_execute(conv->fwd.prim, conv->stream, conv->has_bias ? 5 : 4, args));
    if (port_out_finish(conv, dst_port)) return -1;
    CHECK(dnnl_stream_wait(conv->stream));
    return 0;
}

int vf_dnnl_conv_backward_data(vf_dnnl_conv *conv, const float *diff_dst, int diff_dst_blocked, const float *weight, float *diff_src,
                               int diff_src_blocked) {
    if (conv->error[0]) return -1;
    if (conv->threads > 0) omp_set_num_threads(conv->threads);
    dnnl_memory_t dd, w, ds;
    port_t *diff_src_port = &conv->bd_diff_src[diff_src_blocked != 0];
    if (port_in(conv, &conv->bd_diff_dst[diff_dst_blocked != 0], diff_dst, &dd) || port_in(conv, &conv->bd_weights, weight, &w) ||
        port_out(conv, diff_src_port, diff_src, &ds)) return -1;
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_DIFF_DST, dd}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, ds},
                               {DNNL_ARG_SCRATCHPAD, conv->bwd_data.scratchpad}};
    CHECK(dnnl_primitive_execute(conv->bwd_data.prim, conv->stream, 4, args));
    if (port_out_finish(conv, diff_src_port)) return -1;
    CHECK(dnnl_stream_wait(conv->stream));
    return 0;
}

int vf_dnnl_conv_backward_weights(vf_dnnl_conv *conv, const float *src, int src_blocked, const float *diff_dst, int diff_dst_blocked,
                                  float *diff_weight, float *diff_bias) {
    if (conv->error[0]) return -1;
    if (conv->threads > 0) omp_set_num_threads(conv->threads);
    dnnl_memory_t s, dd, dw, db = NULL;
    if (port_in(conv, &conv->bw_src[src_blocked != 0], src, &s) || port_in(conv, &conv->bw_diff_dst[diff_dst_blocked != 0], diff_dst, &dd) ||
        port_out(conv, &conv->bw_diff_weights, diff_weight, &dw) ||
        (conv->has_bias && port_out(conv, &conv->bw_diff_bias, diff_bias, &db))) return -1;
    dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, s}, {DNNL_ARG_DIFF_DST, dd}, {DNNL_ARG_DIFF_WEIGHTS, dw},
                               {DNNL_ARG_SCRATCHPAD, conv->bwd_weights.scratchpad}, {DNNL_ARG_DIFF_BIAS, db}};
    CHECK(dnnl_primitive_execute(conv->bwd_weights.prim, conv->stream, conv->has_bias ? 5 : 4, args));
    if (port_out_finish(conv, &conv->bw_diff_weights)) return -1;
    CHECK(dnnl_stream_wait(conv->stream));
    return 0;
}
