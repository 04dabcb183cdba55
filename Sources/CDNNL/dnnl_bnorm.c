// oneDNN (2.x C API) training batch normalisation over the caller's channel-blocked buffers
// (nChw8c / nChw16c), optionally with ReLU fused (oneDNN keeps its mask in a workspace the
// caller owns, one per call site). See vfdnnl.h.
#include "vfdnnl.h"
#include "dnnl_shared.h"

#include <stdlib.h>

struct vf_dnnl_bnorm {
    vf_dnnl_pair pair;
    // Memory objects over the caller's buffers, pointed at them per call.
    dnnl_memory_t src, dst, diff_dst, diff_src, mean, variance, scale, shift, diff_scale, diff_shift, workspace;
    size_t workspace_bytes;
};

#define CHECK(call) VF_DNNL_CHECK(bn->pair.error, call)

static int build(vf_dnnl_bnorm *bn, int n, int c, int h, int w, float eps, int relu, int block) {
    dnnl_memory_desc_t data, stats;
    dnnl_dims_t dims = {n, c, h, w}, cdims = {c};
    CHECK(dnnl_memory_desc_init_by_tag(&data, 4, dims, dnnl_f32, block == 16 ? dnnl_nChw16c : dnnl_nChw8c));
    CHECK(dnnl_memory_desc_init_by_tag(&stats, 1, cdims, dnnl_f32, dnnl_x));
    unsigned flags = dnnl_use_scale | dnnl_use_shift | (relu ? dnnl_fuse_norm_relu : 0);
    dnnl_batch_normalization_desc_t fd, bd;
    CHECK(dnnl_batch_normalization_forward_desc_init(&fd, dnnl_forward_training, &data, eps, flags));
    CHECK(dnnl_batch_normalization_backward_desc_init(&bd, dnnl_backward, &data, &data, eps, flags));
    char what[96];
    snprintf(what, sizeof what, "batch normalisation for %dx%dx%dx%d (block %d)", n, c, h, w, block);
    dnnl_primitive_desc_t fpd, bpd;
    int failed = vf_dnnl_pair_build(&bn->pair, &fd, &bd, what, &fpd, &bpd);
    if (!failed) {
        const dnnl_memory_desc_t *ws = dnnl_primitive_desc_query_md(fpd, dnnl_query_workspace_md, 0);
        bn->workspace_bytes = ws ? dnnl_memory_desc_get_size(ws) : 0;
        dnnl_memory_t *over_data[4] = {&bn->src, &bn->dst, &bn->diff_dst, &bn->diff_src};
        dnnl_memory_t *over_stats[6] = {&bn->mean, &bn->variance, &bn->scale, &bn->shift, &bn->diff_scale, &bn->diff_shift};
        for (int i = 0; i < 4 && !failed; i++) failed = dnnl_memory_create(over_data[i], &data, bn->pair.engine, DNNL_MEMORY_NONE) != dnnl_success;
        for (int i = 0; i < 6 && !failed; i++) failed = dnnl_memory_create(over_stats[i], &stats, bn->pair.engine, DNNL_MEMORY_NONE) != dnnl_success;
        if (!failed && bn->workspace_bytes) failed = dnnl_memory_create(&bn->workspace, ws, bn->pair.engine, DNNL_MEMORY_NONE) != dnnl_success;
        if (failed) snprintf(bn->pair.error, sizeof bn->pair.error, "cannot create oneDNN memory");
    }
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (bpd) dnnl_primitive_desc_destroy(bpd);
    return failed ? -1 : 0;
}

vf_dnnl_bnorm *vf_dnnl_bnorm_create(int batch, int channels, int height, int width, float eps, int relu, int block, int threads) {
    vf_dnnl_bnorm *bn = calloc(1, sizeof *bn);
    if (!bn) return NULL;
    if (block != 8 && block != 16) {
        snprintf(bn->pair.error, sizeof bn->pair.error, "block %d is not 8 or 16", block);
        return bn;
    }
    if (vf_dnnl_pair_init(&bn->pair, threads) == 0) build(bn, batch, channels, height, width, eps, relu, block);
    return bn;
}

void vf_dnnl_bnorm_destroy(vf_dnnl_bnorm *bn) {
    if (!bn) return;
    dnnl_memory_t mems[11] = {bn->src, bn->dst, bn->diff_dst, bn->diff_src, bn->mean, bn->variance, bn->scale, bn->shift,
                              bn->diff_scale, bn->diff_shift, bn->workspace};
    for (int i = 0; i < 11; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    vf_dnnl_pair_free(&bn->pair);
    free(bn);
}

const char *vf_dnnl_bnorm_error(const vf_dnnl_bnorm *bn) { return bn->pair.error[0] ? bn->pair.error : NULL; }
const char *vf_dnnl_bnorm_impl(const vf_dnnl_bnorm *bn, int which) { return which == 0 ? bn->pair.fwd_impl : bn->pair.bwd_impl; }
size_t vf_dnnl_bnorm_workspace_bytes(const vf_dnnl_bnorm *bn) { return bn->workspace_bytes; }

#define POINT(mem, ptr) CHECK(dnnl_memory_set_data_handle(bn->mem, (void *)(ptr)))

int vf_dnnl_bnorm_forward(vf_dnnl_bnorm *bn, const float *src, const float *scale, const float *shift, float *dst, float *mean,
                          float *variance, void *workspace) {
    if (bn->pair.error[0]) return -1;
    POINT(src, src); POINT(scale, scale); POINT(shift, shift); POINT(dst, dst); POINT(mean, mean); POINT(variance, variance);
    if (bn->workspace) POINT(workspace, workspace);
    dnnl_exec_arg_t args[8] = {{DNNL_ARG_SRC, bn->src}, {DNNL_ARG_SCALE, bn->scale}, {DNNL_ARG_SHIFT, bn->shift}, {DNNL_ARG_DST, bn->dst},
                               {DNNL_ARG_MEAN, bn->mean}, {DNNL_ARG_VARIANCE, bn->variance},
                               {DNNL_ARG_SCRATCHPAD, bn->pair.fwd_scratchpad}, {DNNL_ARG_WORKSPACE, bn->workspace}};
    return vf_dnnl_pair_run(&bn->pair, 0, bn->workspace ? 8 : 7, args);
}

int vf_dnnl_bnorm_backward(vf_dnnl_bnorm *bn, const float *src, const float *diff_dst, const float *scale, const float *shift,
                           const float *mean, const float *variance, const void *workspace, float *diff_src, float *diff_scale,
                           float *diff_shift) {
    if (bn->pair.error[0]) return -1;
    POINT(src, src); POINT(diff_dst, diff_dst); POINT(scale, scale); POINT(shift, shift); POINT(mean, mean); POINT(variance, variance);
    POINT(diff_src, diff_src); POINT(diff_scale, diff_scale); POINT(diff_shift, diff_shift);
    if (bn->workspace) POINT(workspace, workspace);
    // The shift is no input of the maths, but oneDNN 2.6 requires it with dnnl_use_shift.
    dnnl_exec_arg_t args[11] = {{DNNL_ARG_SRC, bn->src}, {DNNL_ARG_DIFF_DST, bn->diff_dst}, {DNNL_ARG_SCALE, bn->scale},
                                {DNNL_ARG_SHIFT, bn->shift}, {DNNL_ARG_MEAN, bn->mean}, {DNNL_ARG_VARIANCE, bn->variance},
                                {DNNL_ARG_DIFF_SRC, bn->diff_src}, {DNNL_ARG_DIFF_SCALE, bn->diff_scale},
                                {DNNL_ARG_DIFF_SHIFT, bn->diff_shift}, {DNNL_ARG_SCRATCHPAD, bn->pair.bwd_scratchpad},
                                {DNNL_ARG_WORKSPACE, bn->workspace}};
    return vf_dnnl_pair_run(&bn->pair, 1, bn->workspace ? 11 : 10, args);
}
