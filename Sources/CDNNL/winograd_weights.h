// Winograd F(4×4, 3×3) transformed weights, shared: the inference networks of one model (one per
// batch size) build a plan per convolution each, and each would otherwise hold its own copy, 4×
// the plain weights. Internal to CDNNL.
#pragma once

typedef struct vf_winograd_weights vf_winograd_weights;

// U [36][C][K] = G g Gᵀ for `weight` (K, C, 3, 3), made once for equal weights and shared until
// the last holder releases it; NULL when out of memory. Thread-safe.
vf_winograd_weights *vf_winograd_weights_acquire(int in_channels, int out_channels, const float *weight);
const float *vf_winograd_weights_data(const vf_winograd_weights *weights);
void vf_winograd_weights_release(vf_winograd_weights *weights);
