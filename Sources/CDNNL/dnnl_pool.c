// oneDNN (2.x C API) training max pooling over the caller's channel-blocked buffers
// (nChw8c / nChw16c): forward writes the argmax into a workspace the caller owns per call
// site, backward routes the gradient through it. See vfdnnl.h.
#include "vfdnnl.h"

#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>

extern void omp_set_num_threads(int);

struct vf_dnnl_maxpool {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    int threads;
    dnnl_primitive_t fwd, bwd;
    dnnl_memory_t src, dst, diff_dst, diff_src, workspace, fwd_scratchpad, bwd_scratchpad;
    size_t workspace_bytes;
    char fwd_impl[64], bwd_impl[64];
    char error[256];
};

#define CHECK(call)                                                                          \
    do {                                                                                     \
        dnnl_status_t s_ = (call);                                                           \
        if (s_ != dnnl_success) {                                                            \
            snprintf(p->error, sizeof p->error, "%s failed: status %d", #call, (int)s_);     \
            return -1;                                                                       \
        }                                                                                    \
    } while (0)

static int finish(vf_dnnl_maxpool *p, dnnl_primitive_desc_t pd, dnnl_primitive_t *prim, dnnl_memory_t *scratchpad, char *impl) {
    const char *name = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name);
    snprintf(impl, 64, "%s", name ? name : "?");
    CHECK(dnnl_primitive_create(prim, pd));
    CHECK(dnnl_memory_create(scratchpad, dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0), p->engine, DNNL_MEMORY_ALLOCATE));
    return 0;
}

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
    dnnl_primitive_attr_t attr = NULL;
    CHECK(dnnl_primitive_attr_create(&attr));
    dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    dnnl_primitive_desc_t fpd = NULL, bpd = NULL;
    int failed = dnnl_primitive_desc_create(&fpd, &fd, attr, p->engine, NULL) != dnnl_success ||
                 dnnl_primitive_desc_create(&bpd, &bd, attr, p->engine, fpd) != dnnl_success;
    dnnl_primitive_attr_destroy(attr);
    if (failed) {
        snprintf(p->error, sizeof p->error, "no oneDNN max pooling %dx%d/%d for %dx%dx%dx%d", kernel, kernel, stride, n, c, h, w);
    } else {
        const dnnl_memory_desc_t *ws = dnnl_primitive_desc_query_md(fpd, dnnl_query_workspace_md, 0);
        p->workspace_bytes = ws ? dnnl_memory_desc_get_size(ws) : 0;
        failed = finish(p, fpd, &p->fwd, &p->fwd_scratchpad, p->fwd_impl) || finish(p, bpd, &p->bwd, &p->bwd_scratchpad, p->bwd_impl) ||
                 dnnl_memory_create(&p->src, &src, p->engine, DNNL_MEMORY_NONE) != dnnl_success ||
                 dnnl_memory_create(&p->diff_src, &src, p->engine, DNNL_MEMORY_NONE) != dnnl_success ||
                 dnnl_memory_create(&p->dst, &dst, p->engine, DNNL_MEMORY_NONE) != dnnl_success ||
                 dnnl_memory_create(&p->diff_dst, &dst, p->engine, DNNL_MEMORY_NONE) != dnnl_success ||
                 (p->workspace_bytes && dnnl_memory_create(&p->workspace, ws, p->engine, DNNL_MEMORY_NONE) != dnnl_success);
        if (failed && !p->error[0]) snprintf(p->error, sizeof p->error, "cannot create oneDNN memory");
    }
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (bpd) dnnl_primitive_desc_destroy(bpd);
    return failed ? -1 : 0;
}

vf_dnnl_maxpool *vf_dnnl_maxpool_create(int batch, int channels, int height, int width, int kernel, int stride, int padding, int block,
                                        int threads) {
    vf_dnnl_maxpool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->threads = threads;
    if (block != 8 && block != 16) {
        snprintf(p->error, sizeof p->error, "block %d is not 8 or 16", block);
        return p;
    }
    if (dnnl_engine_create(&p->engine, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&p->stream, p->engine, dnnl_stream_default_flags) != dnnl_success) {
        snprintf(p->error, sizeof p->error, "cannot create the oneDNN CPU engine");
        return p;
    }
    if (threads > 0) omp_set_num_threads(threads);
    build(p, batch, channels, height, width, kernel, stride, padding, block);
    return p;
}

void vf_dnnl_maxpool_destroy(vf_dnnl_maxpool *p) {
    if (!p) return;
    if (p->fwd) dnnl_primitive_destroy(p->fwd);
    if (p->bwd) dnnl_primitive_destroy(p->bwd);
    dnnl_memory_t mems[7] = {p->src, p->dst, p->diff_dst, p->diff_src, p->workspace, p->fwd_scratchpad, p->bwd_scratchpad};
    for (int i = 0; i < 7; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    if (p->stream) dnnl_stream_destroy(p->stream);
    if (p->engine) dnnl_engine_destroy(p->engine);
    free(p);
}

const char *vf_dnnl_maxpool_error(const vf_dnnl_maxpool *p) { return p->error[0] ? p->error : NULL; }
const char *vf_dnnl_maxpool_impl(const vf_dnnl_maxpool *p, int which) { return which == 0 ? p->fwd_impl : p->bwd_impl; }
size_t vf_dnnl_maxpool_workspace_bytes(const vf_dnnl_maxpool *p) { return p->workspace_bytes; }

int vf_dnnl_maxpool_forward(vf_dnnl_maxpool *p, const float *src, float *dst, void *workspace) {
    if (p->error[0]) return -1;
    if (p->threads > 0) omp_set_num_threads(p->threads);
    CHECK(dnnl_memory_set_data_handle(p->src, (void *)src));
    CHECK(dnnl_memory_set_data_handle(p->dst, dst));
    if (p->workspace) CHECK(dnnl_memory_set_data_handle(p->workspace, workspace));
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, p->src}, {DNNL_ARG_DST, p->dst}, {DNNL_ARG_SCRATCHPAD, p->fwd_scratchpad},
                               {DNNL_ARG_WORKSPACE, p->workspace}};
    CHECK(dnnl_primitive_execute(p->fwd, p->stream, p->workspace ? 4 : 3, args));
    CHECK(dnnl_stream_wait(p->stream));
    return 0;
}

int vf_dnnl_maxpool_backward(vf_dnnl_maxpool *p, const float *diff_dst, const void *workspace, float *diff_src) {
    if (p->error[0]) return -1;
    if (p->threads > 0) omp_set_num_threads(p->threads);
    CHECK(dnnl_memory_set_data_handle(p->diff_dst, (void *)diff_dst));
    CHECK(dnnl_memory_set_data_handle(p->diff_src, diff_src));
    if (p->workspace) CHECK(dnnl_memory_set_data_handle(p->workspace, (void *)workspace));
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_DIFF_DST, p->diff_dst}, {DNNL_ARG_DIFF_SRC, p->diff_src}, {DNNL_ARG_SCRATCHPAD, p->bwd_scratchpad},
                               {DNNL_ARG_WORKSPACE, p->workspace}};
    CHECK(dnnl_primitive_execute(p->bwd, p->stream, p->workspace ? 4 : 3, args));
    CHECK(dnnl_stream_wait(p->stream));
    return 0;
}
