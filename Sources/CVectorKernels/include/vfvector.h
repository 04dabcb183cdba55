// Pointwise kernels the engine's Swift code would run at SSE width (Swift compiles for baseline
// x86-64): built for AVX-512, AVX2+FMA and the baseline, the widest the CPU has picked at load
// time (target_clones). Each works on one contiguous run; the caller splits the work.
#pragma once

// y = x·σ(x) (silu = 1) or y = σ(x) (silu = 0).
void vf_sigmoid_family_forward(float *y, const float *x, long count, int silu);
// dx = dy·d/dx[x·σ(x)] (silu = 1) or dy·σ(x)(1 − σ(x)) (silu = 0).
void vf_sigmoid_family_backward(float *dx, const float *dy, const float *x, long count, int silu);
