// oneDNN (2.x C API) training batch normalisation over the caller's channel-blocked buffers
// (nChw8c / nChw16c), optionally with ReLU fused (oneDNN keeps its mask in a workspace the
// caller owns, one per call site). See vfdnnl.h.
#include "vfdnnl.h"

#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>

extern void omp_set_num_threads(int);

struct vf_dnnl_bnorm {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    int threads, relu;
    dnnl_primitive_t fwd, bwd;
    // Memory objects over the caller's buffers, pointed at them per call.
    dnnl_memory_t src, dst, diff_dst, diff_src, mean, variance, scale, shift, diff_scale, diff_shift, workspace;
    dnnl_memory_t fwd_scratchpad, bwd_scratchpad;
    size_t workspace_bytes;
    char fwd_impl[64], bwd_impl[64];
    char error[256];
};

#define CHECK(call)                                                                            \
    do {                                                                                       \
        dnnl_status_t s_ = (call);                                                             \
        if (s_ != dnnl_success) {                                                              \
            snprintf(bn->error, sizeof bn->error, "%s failed: status %d", #call, (int)s_);     \
            return -1;                                                                         \
        }                                                                                      \
    } while (0)

static int user_memory(vf_dnnl_bnorm *bn, dnnl_memory_t *mem, const dnnl_memory_desc_t *md) {
    CHECK(dnnl_memory_create(mem, md, bn->engine, DNNL_MEMORY_NONE));
    return 0;
}

static int finish(vf_dnnl_bnorm *bn, dnnl_primitive_desc_t pd, dnnl_primitive_t *prim, dnnl_memory_t *scratchpad, char *impl) {
    const char *name = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name);
    snprintf(impl, 64, "%s", name ? name : "?");
    CHECK(dnnl_primitive_create(prim, pd));
    CHECK(dnnl_memory_create(scratchpad, dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0), bn->engine, DNNL_MEMORY_ALLOCATE));
    return 0;
}

static int build(vf_dnnl_bnorm *bn, int n, int c, int h, int w, float eps, int block) {
    dnnl_memory_desc_t data, stats;
    dnnl_dims_t dims = {n, c, h, w}, cdims = {c};
    CHECK(dnnl_memory_desc_init_by_tag(&data, 4, dims, dnnl_f32, block == 16 ? dnnl_nChw16c : dnnl_nChw8c));
    CHECK(dnnl_memory_desc_init_by_tag(&stats, 1, cdims, dnnl_f32, dnnl_x));
    unsigned flags = dnnl_use_scale | dnnl_use_shift | (bn->relu ? dnnl_fuse_norm_relu : 0);
    dnnl_batch_normalization_desc_t fd, bd;
    CHECK(dnnl_batch_normalization_forward_desc_init(&fd, dnnl_forward_training, &data, eps, flags));
    CHECK(dnnl_batch_normalization_backward_desc_init(&bd, dnnl_backward, &data, &data, eps, flags));
    dnnl_primitive_attr_t attr = NULL;
    CHECK(dnnl_primitive_attr_create(&attr));
    dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    dnnl_primitive_desc_t fpd = NULL, bpd = NULL;
    int failed = dnnl_primitive_desc_create(&fpd, &fd, attr, bn->engine, NULL) != dnnl_success ||
                 dnnl_primitive_desc_create(&bpd, &bd, attr, bn->engine, fpd) != dnnl_success;
    dnnl_primitive_attr_destroy(attr);
    if (failed) {
        snprintf(bn->error, sizeof bn->error, "no oneDNN batch normalisation for %dx%dx%dx%d (block %d)", n, c, h, w, block);
    } else {
        const dnnl_memory_desc_t *ws = dnnl_primitive_desc_query_md(fpd, dnnl_query_workspace_md, 0);
        bn->workspace_bytes = ws ? dnnl_memory_desc_get_size(ws) : 0;
        failed = finish(bn, fpd, &bn->fwd, &bn->fwd_scratchpad, bn->fwd_impl) || finish(bn, bpd, &bn->bwd, &bn->bwd_scratchpad, bn->bwd_impl) ||
                 user_memory(bn, &bn->src, &data) || user_memory(bn, &bn->dst, &data) || user_memory(bn, &bn->diff_dst, &data) ||
                 user_memory(bn, &bn->diff_src, &data) || user_memory(bn, &bn->mean, &stats) || user_memory(bn, &bn->variance, &stats) ||
                 user_memory(bn, &bn->scale, &stats) || user_memory(bn, &bn->shift, &stats) || user_memory(bn, &bn->diff_scale, &stats) ||
                 user_memory(bn, &bn->diff_shift, &stats) || (ws && bn->workspace_bytes && user_memory(bn, &bn->workspace, ws));
    }
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (bpd) dnnl_primitive_desc_destroy(bpd);
    return failed ? -1 : 0;
}

vf_dnnl_bnorm *vf_dnnl_bnorm_create(int batch, int channels, int height, int width, float eps, int relu, int block, int threads) {
    vf_dnnl_bnorm *bn = calloc(1, sizeof *bn);
    if (!bn) return NULL;
    bn->threads = threads;
    bn->relu = relu != 0;
    if (block != 8 && block != 16) {
        snprintf(bn->error, sizeof bn->error, "block %d is not 8 or 16", block);
        return bn;
    }
    if (dnnl_engine_create(&bn->engine, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&bn->stream, bn->engine, dnnl_stream_default_flags) != dnnl_success) {
        snprintf(bn->error, sizeof bn->error, "cannot create the oneDNN CPU engine");
        return bn;
    }
    if (threads > 0) omp_set_num_threads(threads);
    build(bn, batch, channels, height, width, eps, block);
    return bn;
}

void vf_dnnl_bnorm_destroy(vf_dnnl_bnorm *bn) {
    if (!bn) return;
    dnnl_primitive_t prims[2] = {bn->fwd, bn->bwd};
    for (int i = 0; i < 2; i++)
        if (prims[i]) dnnl_primitive_destroy(prims[i]);
    dnnl_memory_t mems[13] = {bn->src, bn->dst, bn->diff_dst, bn->diff_src, bn->mean, bn->variance, bn->scale, bn->shift,
                              bn->diff_scale, bn->diff_shift, bn->workspace, bn->fwd_scratchpad, bn->bwd_scratchpad};
    for (int i = 0; i < 13; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    if (bn->stream) dnnl_stream_destroy(bn->stream);
    if (bn->engine) dnnl_engine_destroy(bn->engine);
    free(bn);
}

const char *vf_dnnl_bnorm_error(const vf_dnnl_bnorm *bn) { return bn->error[0] ? bn->error : NULL; }
const char *vf_dnnl_bnorm_impl(const vf_dnnl_bnorm *bn, int which) { return which == 0 ? bn->fwd_impl : bn->bwd_impl; }
size_t vf_dnnl_bnorm_workspace_bytes(const vf_dnnl_bnorm *bn) { return bn->workspace_bytes; }

#define POINT(mem, ptr) CHECK(dnnl_memory_set_data_handle(bn->mem, (void *)(ptr)))

int vf_dnnl_bnorm_forward(vf_dnnl_bnorm *bn, const float *src, const float *scale, const float *shift, float *dst, float *mean,
                          float *variance, void *workspace) {
    if (bn->error[0]) return -1;
    if (bn->threads > 0) omp_set_num_threads(bn->threads);
    POINT(src, src); POINT(scale, scale); POINT(shift, shift); POINT(dst, dst); POINT(mean, mean); POINT(variance, variance);
    dnnl_exec_arg_t args[8] = {{DNNL_ARG_SRC, bn->src}, {DNNL_ARG_SCALE, bn->scale}, {DNNL_ARG_SHIFT, bn->shift}, {DNNL_ARG_DST, bn->dst},
                               {DNNL_ARG_MEAN, bn->mean}, {DNNL_ARG_VARIANCE, bn->variance}, {DNNL_ARG_SCRATCHPAD, bn->fwd_scratchpad},
                               {DNNL_ARG_WORKSPACE, bn->workspace}};
    int count = 7;
    if (bn->workspace) {
        POINT(workspace, workspace);
        count = 8;
    }
    CHECK(dnnl_primitive_execute(bn->fwd, bn->stream, count, args));
    CHECK(dnnl_stream_wait(bn->stream));
    return 0;
}

int vf_dnnl_bnorm_backward(vf_dnnl_bnorm *bn, const float *src, const float *diff_dst, const float *scale, const float *shift,
                           const float *mean, const float *variance, const void *workspace, float *diff_src, float *diff_scale,
                           float *diff_shift) {
    if (bn->error[0]) return -1;
    if (bn->threads > 0) omp_set_num_threads(bn->threads);
    POINT(src, src); POINT(diff_dst, diff_dst); POINT(scale, scale); POINT(shift, shift); POINT(mean, mean); POINT(variance, variance);
    POINT(diff_src, diff_src); POINT(diff_scale, diff_scale); POINT(diff_shift, diff_shift);
    // The shift is no input of the maths, but oneDNN 2.6 requires it with dnnl_use_shift.
    dnnl_exec_arg_t args[11] = {{DNNL_ARG_SRC, bn->src}, {DNNL_ARG_DIFF_DST, bn->diff_dst}, {DNNL_ARG_SCALE, bn->scale},
                                {DNNL_ARG_SHIFT, bn->shift},
                                {DNNL_ARG_MEAN, bn->mean}, {DNNL_ARG_VARIANCE, bn->variance}, {DNNL_ARG_DIFF_SRC, bn->diff_src},
                                {DNNL_ARG_DIFF_SCALE, bn->diff_scale}, {DNNL_ARG_DIFF_SHIFT, bn->diff_shift},
                                {DNNL_ARG_SCRATCHPAD, bn->bwd_scratchpad}, {DNNL_ARG_WORKSPACE, bn->workspace}};
    int count = 10;
    if (bn->workspace) {
        POINT(workspace, workspace);
        count = 11;
    }
    CHECK(dnnl_primitive_execute(bn->bwd, bn->stream, count, args));
    CHECK(dnnl_stream_wait(bn->stream));
    return 0;
}
