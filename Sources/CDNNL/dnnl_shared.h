// Helpers shared by the inference networks (dnnl_net.c) and the training convolutions
// (dnnl_conv.c). Internal to CDNNL.
#pragma once

#include <oneapi/dnnl/dnnl.h>

// A convolution's weights as oneDNN may lay them out (`any`) and as the engine stores them
// (OIHW, or GOIHW with groups > 1).
dnnl_status_t vf_dnnl_conv_weights_mds(int groups, int out_channels, int in_channels, int kh, int kw, dnnl_memory_desc_t *any,
                                       dnnl_memory_desc_t *plain);
