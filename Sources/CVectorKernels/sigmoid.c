// SiLU and sigmoid, forward and backward side by side, through a polynomial exp (Cephes' expf: x = n·ln 2 + r, a degree-6 polynomial in r, 2^n from the
// exponent bits; relative error under 2e-7 on [−87, 88], inputs clamped there). Written without
// branches so each clone vectorises to its ISA's width. See vfvector.h.
#include "vfvector.h"

#include <stdint.h>
#include <string.h>

#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

static inline float exp_poly(float x) {
    float v = x > 88.3762626647949f ? 88.3762626647949f : x;
    v = v < -87.3365478515625f ? -87.3365478515625f : v;
    // Adding 1.5·2²³ rounds v·log₂e to an integer held in the low mantissa bits.
    float shifted = v * 1.44269504088896341f + 12582912.0f;
    float n = shifted - 12582912.0f;
    float r = v - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits;
    memcpy(&bits, &shifted, sizeof bits);
    bits = (bits - 0x4B400000 + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

CLONES void vf_sigmoid_family_forward(float *restrict y, const float *restrict x, long count, int silu) {
    if (silu) {
        for (long i = 0; i < count; i++) y[i] = x[i] / (1.0f + exp_poly(-x[i]));
    } else {
        for (long i = 0; i < count; i++) y[i] = 1.0f / (1.0f + exp_poly(-x[i]));
    }
}

CLONES void vf_sigmoid_family_backward(float *restrict dx, const float *restrict dy, const float *restrict x, long count, int silu) {
    if (silu) {
        for (long i = 0; i < count; i++) {
            float s = 1.0f / (1.0f + exp_poly(-x[i]));
            dx[i] = dy[i] * (s * (1.0f + x[i] * (1.0f - s)));
        }
    } else {
        for (long i = 0; i < count; i++) {
            float s = 1.0f / (1.0f + exp_poly(-x[i]));
            dx[i] = dy[i] * (s * (1.0f - s));
        }
    }
}
