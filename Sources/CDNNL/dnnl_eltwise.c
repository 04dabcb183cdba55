// oneDNN (2.x C API) pointwise activations, forward and backward (from the source), over a
// dense run of floats: layout does not matter to a pointwise op. See vfdnnl.h.
#include "vfdnnl.h"

#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>

extern void omp_set_num_threads(int);

struct vf_dnnl_eltwise {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    int threads;
    dnnl_primitive_t fwd, bwd;
    dnnl_memory_t src, dst, diff_dst, diff_src, fwd_scratchpad, bwd_scratchpad;
    char fwd_impl[64], bwd_impl[64];
    char error[256];
};

#define CHECK(call)                                                                          \
    do {                                                                                     \
        dnnl_status_t s_ = (call);                                                           \
        if (s_ != dnnl_success) {                                                            \
            snprintf(e->error, sizeof e->error, "%s failed: status %d", #call, (int)s_);     \
            return -1;                                                                       \
        }                                                                                    \
    } while (0)

// The engine's activation as oneDNN's algorithm and its alpha / beta; 0 when none fits.
static dnnl_alg_kind_t algorithm(int activation, float leaky_slope, float *alpha, float *beta) {
    *alpha = 0;
    *beta = 0;
    switch (activation) {
    case VF_ACT_RELU: return dnnl_eltwise_relu;
    case VF_ACT_RELU6: *beta = 6; return dnnl_eltwise_clip;
    case VF_ACT_SILU: *alpha = 1; return dnnl_eltwise_swish;
    case VF_ACT_LEAKY_RELU: *alpha = leaky_slope; return dnnl_eltwise_relu;
    case VF_ACT_SIGMOID: return dnnl_eltwise_logistic;
    case VF_ACT_GELU: return dnnl_eltwise_gelu_erf;
    default: return (dnnl_alg_kind_t)0;
    }
}

static int finish(vf_dnnl_eltwise *e, dnnl_primitive_desc_t pd, dnnl_primitive_t *prim, dnnl_memory_t *scratchpad, char *impl) {
    const char *name = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name);
    snprintf(impl, 64, "%s", name ? name : "?");
    CHECK(dnnl_primitive_create(prim, pd));
    CHECK(dnnl_memory_create(scratchpad, dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0), e->engine, DNNL_MEMORY_ALLOCATE));
    return 0;
}

static int build(vf_dnnl_eltwise *e, int activation, long count, float leaky_slope) {
    float alpha, beta;
    dnnl_alg_kind_t alg = algorithm(activation, leaky_slope, &alpha, &beta);
    if (!alg) {
        snprintf(e->error, sizeof e->error, "no oneDNN eltwise for activation %d", activation);
        return -1;
    }
    dnnl_memory_desc_t data;
    dnnl_dims_t dims = {count};
    CHECK(dnnl_memory_desc_init_by_tag(&data, 1, dims, dnnl_f32, dnnl_a));
    dnnl_eltwise_desc_t fd, bd;
    CHECK(dnnl_eltwise_forward_desc_init(&fd, dnnl_forward_training, alg, &data, alpha, beta));
    CHECK(dnnl_eltwise_backward_desc_init(&bd, alg, &data, &data, alpha, beta));
    dnnl_primitive_attr_t attr = NULL;
    CHECK(dnnl_primitive_attr_create(&attr));
    dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    dnnl_primitive_desc_t fpd = NULL, bpd = NULL;
    int failed = dnnl_primitive_desc_create(&fpd, &fd, attr, e->engine, NULL) != dnnl_success ||
                 dnnl_primitive_desc_create(&bpd, &bd, attr, e->engine, fpd) != dnnl_success;
    dnnl_primitive_attr_destroy(attr);
    if (failed) {
        snprintf(e->error, sizeof e->error, "no oneDNN eltwise primitive for activation %d over %ld floats", activation, count);
    } else {
        failed = finish(e, fpd, &e->fwd, &e->fwd_scratchpad, e->fwd_impl) || finish(e, bpd, &e->bwd, &e->bwd_scratchpad, e->bwd_impl);
        dnnl_memory_t *mems[4] = {&e->src, &e->dst, &e->diff_dst, &e->diff_src};
        for (int i = 0; i < 4 && !failed; i++) failed = dnnl_memory_create(mems[i], &data, e->engine, DNNL_MEMORY_NONE) != dnnl_success;
        if (failed && !e->error[0]) snprintf(e->error, sizeof e->error, "cannot create oneDNN memory");
    }
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (bpd) dnnl_primitive_desc_destroy(bpd);
    return failed ? -1 : 0;
}

vf_dnnl_eltwise *vf_dnnl_eltwise_create(int activation, long count, float leaky_slope, int threads) {
    vf_dnnl_eltwise *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->threads = threads;
    if (dnnl_engine_create(&e->engine, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&e->stream, e->engine, dnnl_stream_default_flags) != dnnl_success) {
        snprintf(e->error, sizeof e->error, "cannot create the oneDNN CPU engine");
        return e;
    }
    if (threads > 0) omp_set_num_threads(threads);
    build(e, activation, count, leaky_slope);
    return e;
}

void vf_dnnl_eltwise_destroy(vf_dnnl_eltwise *e) {
    if (!e) return;
    if (e->fwd) dnnl_primitive_destroy(e->fwd);
    if (e->bwd) dnnl_primitive_destroy(e->bwd);
    dnnl_memory_t mems[6] = {e->src, e->dst, e->diff_dst, e->diff_src, e->fwd_scratchpad, e->bwd_scratchpad};
    for (int i = 0; i < 6; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    if (e->stream) dnnl_stream_destroy(e->stream);
    if (e->engine) dnnl_engine_destroy(e->engine);
    free(e);
}

const char *vf_dnnl_eltwise_error(const vf_dnnl_eltwise *e) { return e->error[0] ? e->error : NULL; }
const char *vf_dnnl_eltwise_impl(const vf_dnnl_eltwise *e, int which) { return which == 0 ? e->fwd_impl : e->bwd_impl; }

int vf_dnnl_eltwise_forward(vf_dnnl_eltwise *e, const float *src, float *dst) {
    if (e->error[0]) return -1;
    if (e->threads > 0) omp_set_num_threads(e->threads);
    CHECK(dnnl_memory_set_data_handle(e->src, (void *)src));
    CHECK(dnnl_memory_set_data_handle(e->dst, dst));
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, e->src}, {DNNL_ARG_DST, e->dst}, {DNNL_ARG_SCRATCHPAD, e->fwd_scratchpad}};
    CHECK(dnnl_primitive_execute(e->fwd, e->stream, 3, args));
    CHECK(dnnl_stream_wait(e->stream));
    return 0;
}

int vf_dnnl_eltwise_backward(vf_dnnl_eltwise *e, const float *src, const float *diff_dst, float *diff_src) {
    if (e->error[0]) return -1;
    if (e->threads > 0) omp_set_num_threads(e->threads);
    CHECK(dnnl_memory_set_data_handle(e->src, (void *)src));
    CHECK(dnnl_memory_set_data_handle(e->diff_dst, (void *)diff_dst));
    CHECK(dnnl_memory_set_data_handle(e->diff_src, diff_src));
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, e->src}, {DNNL_ARG_DIFF_DST, e->diff_dst}, {DNNL_ARG_DIFF_SRC, e->diff_src},
                               {DNNL_ARG_SCRATCHPAD, e->bwd_scratchpad}};
    CHECK(dnnl_primitive_execute(e->bwd, e->stream, 4, args));
    CHECK(dnnl_stream_wait(e->stream));
    return 0;
}
