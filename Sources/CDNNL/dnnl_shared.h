// Helpers shared by the inference networks (dnnl_net.c) and the training primitives
// (dnnl_conv.c, dnnl_bnorm.c, dnnl_eltwise.c, dnnl_pool.c). Internal to CDNNL.
#pragma once

#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>

// Runs a oneDNN call; on failure writes which call failed into `error` (a char array) and
// returns -1 from the calling function.
#define VF_DNNL_CHECK(error, call)                                                        \
    do {                                                                                  \
        dnnl_status_t s_ = (call);                                                        \
        if (s_ != dnnl_success) {                                                         \
            snprintf(error, sizeof error, "%s failed: status %d", #call, (int)s_);        \
            return -1;                                                                    \
        }                                                                                 \
    } while (0)

// A convolution's weights as oneDNN may lay them out (`any`) and as the engine stores them
// (OIHW, or GOIHW with groups > 1).
dnnl_status_t vf_dnnl_conv_weights_mds(int groups, int out_channels, int in_channels, int kh, int kw, dnnl_memory_desc_t *any,
                                       dnnl_memory_desc_t *plain);

// The engine's activation (VF_ACT_*) as oneDNN's eltwise algorithm with its alpha and beta;
// 0 for identity or an unknown code.
dnnl_alg_kind_t vf_dnnl_activation(int activation, float leaky_slope, float *alpha, float *beta);

// An attribute asking for a user-managed scratchpad (NULL when out of memory): the library's
// own would be allocated and freed around each call (fresh pages, faulted in every step).
dnnl_primitive_attr_t vf_dnnl_user_scratchpad(void);

// The primitive for `pd`, its scratchpad allocated once, and its implementation's name in
// `impl` (64 characters).
dnnl_status_t vf_dnnl_make_primitive(dnnl_engine_t engine, const_dnnl_primitive_desc_t pd, dnnl_primitive_t *prim,
                                     dnnl_memory_t *scratchpad, char *impl);

// A training op's forward and backward primitives on their own engine and stream.
typedef struct {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    int threads;
    dnnl_primitive_t fwd, bwd;
    dnnl_memory_t fwd_scratchpad, bwd_scratchpad;
    char fwd_impl[64], bwd_impl[64];
    char error[256];
} vf_dnnl_pair;

// Engine and stream; -1 with `error` set on failure. `threads` > 0 sets OpenMP's count per call.
int vf_dnnl_pair_init(vf_dnnl_pair *p, int threads);
// Both primitives from their op descriptors (user scratchpads, the forward as the backward's
// hint). The primitive descriptors are left in *fpd / *bpd for the caller to query and destroy
// (NULL when not made); -1 with `error` set — "no oneDNN <what>" when oneDNN has no implementation.
int vf_dnnl_pair_build(vf_dnnl_pair *p, const_dnnl_op_desc_t fwd_desc, const_dnnl_op_desc_t bwd_desc, const char *what,
                       dnnl_primitive_desc_t *fpd, dnnl_primitive_desc_t *bpd);
// Runs the forward (backward = 0) or the backward on the pair's stream and waits.
int vf_dnnl_pair_run(vf_dnnl_pair *p, int backward, int nargs, const dnnl_exec_arg_t *args);
void vf_dnnl_pair_free(vf_dnnl_pair *p);
