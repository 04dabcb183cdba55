// oneDNN (2.x C API) training max pooling over the caller's channel-blocked buffers
// (nChw8c / nChw16c): forward writes the argmax into a workspace the caller owns per call
// site, backward routes the gradient through it. See vfdnnl.h.
#include "vfdnnl.h"
#include "dnnl_shared.h"

#include <stdlib.h>

struct vf_dnnl_maxpool {
    vf_dnnl_pair pair;
    // Memory objects over the caller's buffers, pointed at them per call.
    dnnl_memory_t src, dst, diff_dst, diff_src, workspace;
    size_t workspace_bytes;
};

#define CHECK(call) VF_DNNL_CHECK(p->pair.error, call)

static int build(vf_dnnl_maxpool *p, int n, int c, int h, int w, int kernel, int stride, int pad, int block) {
    int oh = (h + 2 * pad - kernel) / stride + 1, ow = (w + 2 * pad - kernel) / stride + 1;
    dnnl_memory_desc_t src, dst;
    dnnl_dims_t src_dims = {n, c, h, w}, dst_dims = {n, c, oh, ow};
    dnnl_format_tag_t tag = block == 16 ? dnnl_nChw16c : dnnl_nChw8c;
    CHECK(dnnl_memory_desc_init_by_tag(&src, 4, src_dims, dnnl_f32, tag));
    CHECK(dnnl_memory_desc_init_by_tag(&dst, 4, dst_dims, dnnl_f32, tag));
    dnnl_dims_t strides = {stride, stride}, kernels = {kernel, kernel}, dilation = {0, 0}, pad_l = {pad, pad};
    // Right padding that gives exactly (oh, ow), as the engine's geometry computes them.
    dnnl_dims_t pad_r = {(oh - 1) * stride + kernel - h - pad, (ow - 1) * stride + kernel - w - pad};
    dnnl_pooling_v2_desc_t fd, bd;
    CHECK(dnnl_pooling_v2_forward_desc_init(&fd, dnnl_forward_training, dnnl_pooling_max, &src, &dst, strides, kernels, dilation, pad_l, pad_r));
    CHECK(dnnl_pooling_v2_backward_desc_init(&bd, dnnl_pooling_max, &src, &dst, strides, kernels, dilation, pad_l, pad_r));
    char what[96];
    snprintf(what, sizeof what, "max pooling %dx%d/%d for %dx%dx%dx%d", kernel, kernel, stride, n, c, h, w);
    dnnl_primitive_desc_t fpd, bpd;
    int failed = vf_dnnl_pair_build(&p->pair, &fd, &bd, what, &fpd, &bpd);
    if (!failed) {
        const dnnl_memory_desc_t *ws = dnnl_primitive_desc_query_md(fpd, dnnl_query_workspace_md, 0);
        p->workspace_bytes = ws ? dnnl_memory_desc_get_size(ws) : 0;
        failed = dnnl_memory_create(&p->src, &src, p->pair.engine, DNNL_MEMORY_NONE) != dnnl_success ||
                 dnnl_memory_create(&p->diff_src, &src, p->pair.engine, DNNL_MEMORY_NONE) != dnnl_success ||
                 dnnl_memory_create(&p->dst, &dst, p->pair.engine, DNNL_MEMORY_NONE) != dnnl_success ||
                 dnnl_memory_create(&p->diff_dst, &dst, p->pair.engine, DNNL_MEMORY_NONE) != dnnl_success ||
                 (p->workspace_bytes && dnnl_memory_create(&p->workspace, ws, p->pair.engine, DNNL_MEMORY_NONE) != dnnl_success);
        if (failed) snprintf(p->pair.error, sizeof p->pair.error, "cannot create oneDNN memory");
    }
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (bpd) dnnl_primitive_desc_destroy(bpd);
    return failed ? -1 : 0;
}

vf_dnnl_maxpool *vf_dnnl_maxpool_create(int batch, int channels, int height, int width, int kernel, int stride, int padding, int block,
                                        int threads) {
    vf_dnnl_maxpool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    if (block != 8 && block != 16) {
        snprintf(p->pair.error, sizeof p->pair.error, "block %d is not 8 or 16", block);
        return p;
    }
    if (vf_dnnl_pair_init(&p->pair, threads) == 0) build(p, batch, channels, height, width, kernel, stride, padding, block);
    return p;
}

void vf_dnnl_maxpool_destroy(vf_dnnl_maxpool *p) {
    if (!p) return;
    dnnl_memory_t mems[5] = {p->src, p->dst, p->diff_dst, p->diff_src, p->workspace};
    for (int i = 0; i < 5; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    vf_dnnl_pair_free(&p->pair);
    free(p);
}

const char *vf_dnnl_maxpool_error(const vf_dnnl_maxpool *p) { return p->pair.error[0] ? p->pair.error : NULL; }
const char *vf_dnnl_maxpool_impl(const vf_dnnl_maxpool *p, int which) { return which == 0 ? p->pair.fwd_impl : p->pair.bwd_impl; }
size_t vf_dnnl_maxpool_workspace_bytes(const vf_dnnl_maxpool *p) { return p->workspace_bytes; }

int vf_dnnl_maxpool_forward(vf_dnnl_maxpool *p, const float *src, float *dst, void *workspace) {
    if (p->pair.error[0]) return -1;
    CHECK(dnnl_memory_set_data_handle(p->src, (void *)src));
    CHECK(dnnl_memory_set_data_handle(p->dst, dst));
    if (p->workspace) CHECK(dnnl_memory_set_data_handle(p->workspace, workspace));
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, p->src}, {DNNL_ARG_DST, p->dst}, {DNNL_ARG_SCRATCHPAD, p->pair.fwd_scratchpad},
                               {DNNL_ARG_WORKSPACE, p->workspace}};
    return vf_dnnl_pair_run(&p->pair, 0, p->workspace ? 4 : 3, args);
}

int vf_dnnl_maxpool_backward(vf_dnnl_maxpool *p, const float *diff_dst, const void *workspace, float *diff_src) {
    if (p->pair.error[0]) return -1;
    CHECK(dnnl_memory_set_data_handle(p->diff_dst, (void *)diff_dst));
    CHECK(dnnl_memory_set_data_handle(p->diff_src, diff_src));
    if (p->workspace) CHECK(dnnl_memory_set_data_handle(p->workspace, (void *)workspace));
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_DIFF_DST, p->diff_dst}, {DNNL_ARG_DIFF_SRC, p->diff_src},
                               {DNNL_ARG_SCRATCHPAD, p->pair.bwd_scratchpad}, {DNNL_ARG_WORKSPACE, p->workspace}};
    return vf_dnnl_pair_run(&p->pair, 1, p->workspace ? 4 : 3, args);
}
