// See dnnl_shared.h.
#include "dnnl_shared.h"
#include "vfdnnl.h"

extern void omp_set_num_threads(int);

dnnl_status_t vf_dnnl_conv_weights_mds(int groups, int out_channels, int in_channels, int kh, int kw, dnnl_memory_desc_t *any,
                                       dnnl_memory_desc_t *plain) {
    dnnl_status_t s;
    if (groups > 1) {
        dnnl_dims_t wd = {groups, out_channels / groups, in_channels / groups, kh, kw};
        s = dnnl_memory_desc_init_by_tag(any, 5, wd, dnnl_f32, dnnl_format_tag_any);
        return s != dnnl_success ? s : dnnl_memory_desc_init_by_tag(plain, 5, wd, dnnl_f32, dnnl_goihw);
    }
    dnnl_dims_t wd = {out_channels, in_channels, kh, kw};
    s = dnnl_memory_desc_init_by_tag(any, 4, wd, dnnl_f32, dnnl_format_tag_any);
    return s != dnnl_success ? s : dnnl_memory_desc_init_by_tag(plain, 4, wd, dnnl_f32, dnnl_oihw);
}

dnnl_alg_kind_t vf_dnnl_activation(int activation, float leaky_slope, float *alpha, float *beta) {
    *alpha = 0;
    *beta = 0;
    switch (activation) {
    case VF_ACT_RELU: return dnnl_eltwise_relu;
    case VF_ACT_RELU6: *beta = 6; return dnnl_eltwise_clip_v2;
    case VF_ACT_SILU: *alpha = 1; return dnnl_eltwise_swish;
    case VF_ACT_LEAKY_RELU: *alpha = leaky_slope; return dnnl_eltwise_relu;
    case VF_ACT_SIGMOID: return dnnl_eltwise_logistic;
    case VF_ACT_GELU: return dnnl_eltwise_gelu_erf;
    default: return (dnnl_alg_kind_t)0;
    }
}

dnnl_primitive_attr_t vf_dnnl_user_scratchpad(void) {
    dnnl_primitive_attr_t attr = NULL;
    if (dnnl_primitive_attr_create(&attr) != dnnl_success) return NULL;
    dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    return attr;
}

dnnl_status_t vf_dnnl_make_primitive(dnnl_engine_t engine, const_dnnl_primitive_desc_t pd, dnnl_primitive_t *prim,
                                     dnnl_memory_t *scratchpad, char *impl) {
    const char *name = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name);
    snprintf(impl, 64, "%s", name ? name : "?");
    dnnl_status_t s = dnnl_primitive_create(prim, pd);
    if (s != dnnl_success) return s;
    return dnnl_memory_create(scratchpad, dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0), engine, DNNL_MEMORY_ALLOCATE);
}

int vf_dnnl_pair_init(vf_dnnl_pair *p, int threads) {
    p->threads = threads;
    if (dnnl_engine_create(&p->engine, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&p->stream, p->engine, dnnl_stream_default_flags) != dnnl_success) {
        snprintf(p->error, sizeof p->error, "cannot create the oneDNN CPU engine");
        return -1;
    }
    if (threads > 0) omp_set_num_threads(threads);
    return 0;
}

int vf_dnnl_pair_build(vf_dnnl_pair *p, const_dnnl_op_desc_t fwd_desc, const_dnnl_op_desc_t bwd_desc, const char *what,
                       dnnl_primitive_desc_t *fpd, dnnl_primitive_desc_t *bpd) {
    *fpd = *bpd = NULL;
    dnnl_primitive_attr_t attr = vf_dnnl_user_scratchpad();
    if (!attr) {
        snprintf(p->error, sizeof p->error, "out of memory");
        return -1;
    }
    int failed = dnnl_primitive_desc_create(fpd, fwd_desc, attr, p->engine, NULL) != dnnl_success ||
                 dnnl_primitive_desc_create(bpd, bwd_desc, attr, p->engine, *fpd) != dnnl_success;
    dnnl_primitive_attr_destroy(attr);
    if (failed) {
        snprintf(p->error, sizeof p->error, "no oneDNN %s", what);
        return -1;
    }
    VF_DNNL_CHECK(p->error, vf_dnnl_make_primitive(p->engine, *fpd, &p->fwd, &p->fwd_scratchpad, p->fwd_impl));
    VF_DNNL_CHECK(p->error, vf_dnnl_make_primitive(p->engine, *bpd, &p->bwd, &p->bwd_scratchpad, p->bwd_impl));
    return 0;
}

int vf_dnnl_pair_run(vf_dnnl_pair *p, int backward, int nargs, const dnnl_exec_arg_t *args) {
    if (p->error[0]) return -1;
    // OpenMP's thread count is per calling thread: set it for whichever thread runs this.
    if (p->threads > 0) omp_set_num_threads(p->threads);
    VF_DNNL_CHECK(p->error, dnnl_primitive_execute(backward ? p->bwd : p->fwd, p->stream, nargs, args));
    VF_DNNL_CHECK(p->error, dnnl_stream_wait(p->stream));
    return 0;
}

void vf_dnnl_pair_free(vf_dnnl_pair *p) {
    if (p->fwd) dnnl_primitive_destroy(p->fwd);
    if (p->bwd) dnnl_primitive_destroy(p->bwd);
    if (p->fwd_scratchpad) dnnl_memory_destroy(p->fwd_scratchpad);
    if (p->bwd_scratchpad) dnnl_memory_destroy(p->bwd_scratchpad);
    if (p->stream) dnnl_stream_destroy(p->stream);
    if (p->engine) dnnl_engine_destroy(p->engine);
}
