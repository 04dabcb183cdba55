// Winograd F(4×4, 3×3) convolution for the inference networks on AVX2 machines: 3×3, stride 1,
// padding 1, channels in multiples of 8, activations in oneDNN's nChw8c layout. oneDNN 2.6 has
// no Winograd and no brgconv below AVX-512, and its direct `jit:avx2` kernel reaches under half
// the FMA peak on the shipped models' small channel counts; Winograd does 4× fewer multiplies.
// Weights are transformed once (in double, shared by the plans of equal weights: winograd_weights.c). Each thread takes groups of 4×4 output tiles:
// transforms their inputs (Bᵀ d B, 8 channels per vector), multiplies per transform point (36
// small GEMMs against the transformed weights), and transforms back (Aᵀ m A) with the bias, the
// residual (what dst holds) and ReLU or SiLU fused. See vfdnnl.h.
#include "vfdnnl.h"
#include "winograd_weights.h"

#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

extern int omp_get_max_threads(void);

#define AVX2 __attribute__((target("avx2,fma")))
#define INLINE static inline __attribute__((always_inline))

enum { POINTS = 36, SCRATCH_BUDGET = 256 * 1024 };

struct vf_winograd {
    int c, k, h, w;  // input channels, output channels, spatial size (output = input)
    int tiles_h, tiles_w;
    int activation;  // VF_WINOGRAD_NONE / _RELU / _SILU
    int group;    // tiles a thread transforms at once when splitting tiles (V and M within L2)
    int threads;
    vf_winograd_weights *weights;
    const float *u;  // [36][C][K] transformed weights (the shared `weights`)
    float *bias;     // [K]
};

int vf_winograd_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static void *aligned(size_t floats) {
    void *p = NULL;
    return posix_memalign(&p, 64, floats * sizeof(float) ? floats * sizeof(float) : 64) ? NULL : p;
}

vf_winograd *vf_winograd_create(int in_channels, int out_channels, int height, int width, const float *weight,
                                const float *bias, int activation, int threads) {
    if (activation < VF_WINOGRAD_NONE || activation > VF_WINOGRAD_SILU) return NULL;
    if (in_channels <= 0 || out_channels <= 0 || in_channels % 8 || out_channels % 8 || height <= 0 || width <= 0) return NULL;
    vf_winograd *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->c = in_channels;
    p->k = out_channels;
    p->h = height;
    p->w = width;
    p->tiles_h = (height + 3) / 4;
    p->tiles_w = (width + 3) / 4;
    p->activation = activation;
    p->threads = threads > 0 ? threads : omp_get_max_threads();
    int group = SCRATCH_BUDGET / (POINTS * (in_channels + out_channels) * (int)sizeof(float));
    p->group = group < 6 ? 6 : group > 48 ? 48 : group;
    p->weights = vf_winograd_weights_acquire(in_channels, out_channels, weight);
    p->bias = aligned((size_t)out_channels);
    if (!p->weights || !p->bias) {
        vf_winograd_destroy(p);
        return NULL;
    }
    p->u = vf_winograd_weights_data(p->weights);
    for (int k = 0; k < out_channels; k++) p->bias[k] = bias ? bias[k] : 0;
    return p;
}

void vf_winograd_destroy(vf_winograd *p) {
    if (!p) return;
    vf_winograd_weights_release(p->weights);
    free(p->bias);
    free(p);
}

// Bᵀ applied to six vectors d[0], d[s], … d[5s] into o[0], o[os], … o[5os].
AVX2 INLINE void input_1d(const __m256 *d, int s, __m256 *o, int os) {
    const __m256 two = _mm256_set1_ps(2), four = _mm256_set1_ps(4), five = _mm256_set1_ps(5);
    __m256 d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s], d4 = d[4 * s], d5 = d[5 * s];
    __m256 a = _mm256_fnmadd_ps(four, d2, d4);  // d4 − 4 d2
    __m256 b = _mm256_fnmadd_ps(four, d1, d3);  // d3 − 4 d1
    __m256 c = _mm256_sub_ps(d4, d2);
    __m256 e = _mm256_mul_ps(two, _mm256_sub_ps(d3, d1));
    o[0] = _mm256_fmadd_ps(four, d0, _mm256_fnmadd_ps(five, d2, d4));
    o[os] = _mm256_add_ps(a, b);
    o[2 * os] = _mm256_sub_ps(a, b);
    o[3 * os] = _mm256_add_ps(c, e);
    o[4 * os] = _mm256_sub_ps(c, e);
    o[5 * os] = _mm256_fmadd_ps(four, d1, _mm256_fnmadd_ps(five, d3, d5));
}

// Aᵀ applied to six vectors m[0], m[s], … m[5s] into o[0], o[os], … o[3os].
AVX2 INLINE void output_1d(const __m256 *m, int s, __m256 *o, int os) {
    const __m256 two = _mm256_set1_ps(2), four = _mm256_set1_ps(4), eight = _mm256_set1_ps(8);
    __m256 p = _mm256_add_ps(m[s], m[2 * s]), q = _mm256_sub_ps(m[s], m[2 * s]);
    __m256 r = _mm256_add_ps(m[3 * s], m[4 * s]), t = _mm256_sub_ps(m[3 * s], m[4 * s]);
    o[0] = _mm256_add_ps(_mm256_add_ps(m[0], p), r);
    o[os] = _mm256_fmadd_ps(two, t, q);
    o[2 * os] = _mm256_fmadd_ps(four, r, p);
    o[3 * os] = _mm256_fmadd_ps(eight, t, _mm256_add_ps(q, m[5 * s]));
}

typedef struct {
    const vf_winograd *p;
    const float *src;
    float *dst;
    int accumulate;
    int tiles;   // over the batch
    int groups;  // tile groups
    int group;   // tiles per group (the last may have fewer)
    int parts;   // output-channel parts per group: work items are groups × parts
    int team;    // workers, each with its scratch
    float *scratch;  // per worker: V [36][group][C], then M [36][group][K]
} job_t;

// Tile `tile` (over the batch) as image, tile row, tile column.
INLINE void locate(const vf_winograd *p, int tile, int *n, int *ty, int *tx) {
    int per = p->tiles_h * p->tiles_w;
    *n = tile / per;
    int r = tile - *n * per;
    *ty = r / p->tiles_w;
    *tx = r - *ty * p->tiles_w;
}

// V[ξ][t][c…c+8) for tiles [first, first + count).
AVX2 static void transform_inputs(const vf_winograd *p, const float *src, int first, int count, int group, float *v) {
    const int cb_count = p->c / 8, h = p->h, w = p->w;
    __m256 d[POINTS], t[POINTS], x[POINTS];
    for (int tl = 0; tl < count; tl++) {
        int n, ty, tx;
        locate(p, first + tl, &n, &ty, &tx);
        int y0 = ty * 4 - 1, x0 = tx * 4 - 1;
        int inside = y0 >= 0 && x0 >= 0 && y0 + 6 <= h && x0 + 6 <= w;
        for (int cb = 0; cb < cb_count; cb++) {
            const float *plane = src + ((size_t)n * cb_count + cb) * h * w * 8;
            if (inside) {
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 6; j++) d[i * 6 + j] = _mm256_loadu_ps(plane + ((size_t)(y0 + i) * w + x0 + j) * 8);
            } else {
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 6; j++) {
                        int y = y0 + i, xx = x0 + j;
                        d[i * 6 + j] = (unsigned)y < (unsigned)h && (unsigned)xx < (unsigned)w
                                           ? _mm256_loadu_ps(plane + ((size_t)y * w + xx) * 8)
                                           : _mm256_setzero_ps();
                    }
            }
            for (int j = 0; j < 6; j++) input_1d(&d[j], 6, &t[j], 6);
            for (int i = 0; i < 6; i++) input_1d(&t[i * 6], 1, &x[i * 6], 1);
            float *out = v + (size_t)tl * p->c + cb * 8;
            for (int xi = 0; xi < POINTS; xi++) _mm256_storeu_ps(out + (size_t)xi * group * p->c, x[xi]);
        }
    }
}

// M[r][k…k+8·NV) = Σ_c V[r][c] · U[c][k…] for R rows.
AVX2 INLINE void kernel(const float *restrict v, int depth, const float *restrict u, int ldu, float *restrict m, int ldm,
                        const int R, const int NV) {
    __m256 acc[6][2];
    for (int r = 0; r < R; r++)
        for (int j = 0; j < NV; j++) acc[r][j] = _mm256_setzero_ps();
    for (int c = 0; c < depth; c++) {
        __m256 b0 = _mm256_loadu_ps(u + (size_t)c * ldu);
        __m256 b1 = NV > 1 ? _mm256_loadu_ps(u + (size_t)c * ldu + 8) : b0;
        for (int r = 0; r < R; r++) {
            __m256 a = _mm256_broadcast_ss(v + (size_t)r * depth + c);
            acc[r][0] = _mm256_fmadd_ps(a, b0, acc[r][0]);
            if (NV > 1) acc[r][1] = _mm256_fmadd_ps(a, b1, acc[r][1]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int j = 0; j < NV; j++) _mm256_storeu_ps(m + (size_t)r * ldm + 8 * j, acc[r][j]);
}

#define KERNEL_CASE(R)                                                        \
    case R:                                                                   \
        if (nv == 2) kernel(vr, depth, uk, ldu, mr, ldu, R, 2);              \
        else kernel(vr, depth, uk, ldu, mr, ldu, R, 1);                      \
        break;

// M[:, k_begin…k_end) (rows × K) = V (rows × C) · U (C × K) for one transform point.
AVX2 static void multiply(const float *v, const float *u, float *m, int rows, int depth, int ldu, int k_begin, int k_end) {
    for (int k = k_begin; k < k_end; k += 16) {
        int nv = k_end - k >= 16 ? 2 : 1;
        const float *uk = u + k;
        for (int r = 0; r < rows; r += 6) {
            const float *vr = v + (size_t)r * depth;
            float *mr = m + (size_t)r * ldu + k;
            switch (rows - r < 6 ? rows - r : 6) {
                KERNEL_CASE(1)
                KERNEL_CASE(2)
                KERNEL_CASE(3)
                KERNEL_CASE(4)
                KERNEL_CASE(5)
                KERNEL_CASE(6)
            }
        }
    }
}

// eˣ for x ≤ 88.37 (larger overflows to +inf): 2ⁿ · e^r with n = round(x·log₂e) and |r| ≤ ln2/2,
// e^r by Cephes' degree-6 polynomial (within 2 ulp); below −87.3 it is 0.
AVX2 INLINE __m256 exp_ps(__m256 x) {
    x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.3762626647949f)), _mm256_set1_ps(-87.3365447505531f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 y = _mm256_set1_ps(1.9875691500E-4f);
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507E-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073E-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894E-2f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459E-1f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201E-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.f)));
    __m256i scale = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(scale));
}

// x · sigmoid(x) = x / (1 + e⁻ˣ).
AVX2 INLINE __m256 silu_ps(__m256 x) {
    return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.f), exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

// dst tiles from M, with the bias, the activation and the residual dst held (when accumulating:
// added before the activation or after it).
AVX2 static void transform_outputs(const vf_winograd *p, const float *m, int first, int count, int group, int kb_begin, int kb_end,
                                   float *dst, int accumulate) {
    const int kb_count = p->k / 8, h = p->h, w = p->w;
    const __m256 zero = _mm256_setzero_ps();
    __m256 x[POINTS], z[24], y[16];
    for (int tl = 0; tl < count; tl++) {
        int n, ty, tx;
        locate(p, first + tl, &n, &ty, &tx);
        int oy = ty * 4, ox = tx * 4;
        for (int kb = kb_begin; kb < kb_end; kb++) {
            const float *in = m + (size_t)tl * p->k + kb * 8;
            for (int xi = 0; xi < POINTS; xi++) x[xi] = _mm256_loadu_ps(in + (size_t)xi * group * p->k);
            for (int j = 0; j < 6; j++) output_1d(&x[j], 6, &z[j], 6);
            for (int i = 0; i < 4; i++) output_1d(&z[i * 6], 1, &y[i * 4], 1);
            __m256 b = _mm256_loadu_ps(p->bias + kb * 8);
            float *plane = dst + ((size_t)n * kb_count + kb) * h * w * 8;
            for (int i = 0; i < 4 && oy + i < h; i++)
                for (int j = 0; j < 4 && ox + j < w; j++) {
                    float *at = plane + ((size_t)(oy + i) * w + ox + j) * 8;
                    __m256 value = _mm256_add_ps(y[i * 4 + j], b);
                    if (accumulate == VF_WINOGRAD_ADD_BEFORE) value = _mm256_add_ps(value, _mm256_loadu_ps(at));
                    if (p->activation == VF_WINOGRAD_RELU) value = _mm256_max_ps(value, zero);
                    else if (p->activation == VF_WINOGRAD_SILU) value = silu_ps(value);
                    if (accumulate == VF_WINOGRAD_ADD_AFTER) value = _mm256_add_ps(value, _mm256_loadu_ps(at));
                    _mm256_storeu_ps(at, value);
                }
        }
    }
}

// Worker `me` of `job->team` (a chunk of vf_omp_run): its items and its part of the scratch.
AVX2 static void work(void *data, int me) {
    const job_t *job = data;
    const vf_winograd *p = job->p;
    int team = job->team;
    float *v = job->scratch + (size_t)me * POINTS * job->group * (p->c + p->k);
    float *m = v + (size_t)POINTS * job->group * p->c;
    int blocks = p->k / 8;
    for (int item = me; item < job->groups * job->parts; item += team) {
        int g = item / job->parts, part = item % job->parts;
        int first = g * job->group;
        int count = job->tiles - first < job->group ? job->tiles - first : job->group;
        int kb_begin = blocks * part / job->parts, kb_end = blocks * (part + 1) / job->parts;
        if (count <= 0 || kb_begin == kb_end) continue;
        transform_inputs(p, job->src, first, count, job->group, v);
        for (int xi = 0; xi < POINTS; xi++)
            multiply(v + (size_t)xi * job->group * p->c, p->u + (size_t)xi * p->c * p->k, m + (size_t)xi * job->group * p->k, count,
                     p->c, p->k, kb_begin * 8, kb_end * 8);
        transform_outputs(p, m, first, count, job->group, kb_begin, kb_end, job->dst, job->accumulate);
    }
}

// How a run at `batch` splits the work across the team (scratch and buffers left unset).
static job_t split(const vf_winograd *p, int batch) {
    int tiles = batch * p->tiles_h * p->tiles_w;
    int groups, parts = 1;
    if (tiles < 8 * p->threads || (p->c * p->k > 4096 && tiles <= 32)) {
        // Few tiles, or few enough with large weights: every thread takes all of them for its
        // share of the output channels, so each reads only its part of the transformed weights
        // (which may come from memory: YOLOX-tiny's 96→96 at 16×16, batch 1) and multiplies
        // more rows by it.
        groups = 1;
        parts = p->threads < p->k / 8 ? p->threads : p->k / 8;
    } else {
        // Many tiles: groups that fit L2, a multiple of the thread count so all finish together.
        groups = (tiles + p->group - 1) / p->group;
        groups = (groups + p->threads - 1) / p->threads * p->threads;
        if (groups > tiles) groups = tiles;
    }
    int group = (tiles + groups - 1) / groups;
    groups = (tiles + group - 1) / group;
    int items = groups * parts;
    job_t job = {p, NULL, NULL, 0, tiles, groups, group, parts, items < p->threads ? items : p->threads, NULL};
    return job;
}

size_t vf_winograd_scratch_size(const vf_winograd *p, int batch) {
    job_t job = split(p, batch);
    return (size_t)job.team * POINTS * job.group * (p->c + p->k) * sizeof(float);
}

void vf_winograd_run(const vf_winograd *p, int batch, const float *src, float *dst, int accumulate, float *scratch) {
    job_t job = split(p, batch);
    job.src = src;
    job.dst = dst;
    job.accumulate = accumulate;
    job.scratch = scratch;
    vf_omp_run(job.team, work, &job);
}
