// oneDNN (2.x C API) pointwise activations, forward and backward (from the source), over a
// dense run of floats: layout does not matter to a pointwise op. See vfdnnl.h.
#include "vfdnnl.h"
#include "dnnl_shared.h"

#include <stdlib.h>

struct vf_dnnl_eltwise {
    vf_dnnl_pair pair;
    // Memory objects over the caller's buffers, pointed at them per call.
    dnnl_memory_t src, dst, diff_dst, diff_src;
};

#define CHECK(call) VF_DNNL_CHECK(e->pair.error, call)

static int build(vf_dnnl_eltwise *e, int activation, long count, float leaky_slope) {
    float alpha, beta;
    dnnl_alg_kind_t alg = vf_dnnl_activation(activation, leaky_slope, &alpha, &beta);
    if (!alg) {
        snprintf(e->pair.error, sizeof e->pair.error, "no oneDNN eltwise for activation %d", activation);
        return -1;
    }
    dnnl_memory_desc_t data;
    dnnl_dims_t dims = {count};
    CHECK(dnnl_memory_desc_init_by_tag(&data, 1, dims, dnnl_f32, dnnl_a));
    dnnl_eltwise_desc_t fd, bd;
    CHECK(dnnl_eltwise_forward_desc_init(&fd, dnnl_forward_training, alg, &data, alpha, beta));
    CHECK(dnnl_eltwise_backward_desc_init(&bd, alg, &data, &data, alpha, beta));
    char what[96];
    snprintf(what, sizeof what, "eltwise primitive for activation %d over %ld floats", activation, count);
    dnnl_primitive_desc_t fpd, bpd;
    int failed = vf_dnnl_pair_build(&e->pair, &fd, &bd, what, &fpd, &bpd);
    dnnl_memory_t *over[4] = {&e->src, &e->dst, &e->diff_dst, &e->diff_src};
    for (int i = 0; i < 4 && !failed; i++) failed = dnnl_memory_create(over[i], &data, e->pair.engine, DNNL_MEMORY_NONE) != dnnl_success;
    if (failed && !e->pair.error[0]) snprintf(e->pair.error, sizeof e->pair.error, "cannot create oneDNN memory");
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (bpd) dnnl_primitive_desc_destroy(bpd);
    return failed ? -1 : 0;
}

vf_dnnl_eltwise *vf_dnnl_eltwise_create(int activation, long count, float leaky_slope, int threads) {
    vf_dnnl_eltwise *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    if (vf_dnnl_pair_init(&e->pair, threads) == 0) build(e, activation, count, leaky_slope);
    return e;
}

void vf_dnnl_eltwise_destroy(vf_dnnl_eltwise *e) {
    if (!e) return;
    dnnl_memory_t mems[4] = {e->src, e->dst, e->diff_dst, e->diff_src};
    for (int i = 0; i < 4; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    vf_dnnl_pair_free(&e->pair);
    free(e);
}

const char *vf_dnnl_eltwise_error(const vf_dnnl_eltwise *e) { return e->pair.error[0] ? e->pair.error : NULL; }
const char *vf_dnnl_eltwise_impl(const vf_dnnl_eltwise *e, int which) { return which == 0 ? e->pair.fwd_impl : e->pair.bwd_impl; }

int vf_dnnl_eltwise_forward(vf_dnnl_eltwise *e, const float *src, float *dst) {
    if (e->pair.error[0]) return -1;
    CHECK(dnnl_memory_set_data_handle(e->src, (void *)src));
    CHECK(dnnl_memory_set_data_handle(e->dst, dst));
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, e->src}, {DNNL_ARG_DST, e->dst}, {DNNL_ARG_SCRATCHPAD, e->pair.fwd_scratchpad}};
    return vf_dnnl_pair_run(&e->pair, 0, 3, args);
}

int vf_dnnl_eltwise_backward(vf_dnnl_eltwise *e, const float *src, const float *diff_dst, float *diff_src) {
    if (e->pair.error[0]) return -1;
    CHECK(dnnl_memory_set_data_handle(e->src, (void *)src));
    CHECK(dnnl_memory_set_data_handle(e->diff_dst, (void *)diff_dst));
    CHECK(dnnl_memory_set_data_handle(e->diff_src, diff_src));
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, e->src}, {DNNL_ARG_DIFF_DST, e->diff_dst}, {DNNL_ARG_DIFF_SRC, e->diff_src},
                               {DNNL_ARG_SCRATCHPAD, e->pair.bwd_scratchpad}};
    return vf_dnnl_pair_run(&e->pair, 1, 4, args);
}
