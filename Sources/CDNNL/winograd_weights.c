// Shared Winograd-transformed weights, found by their plain weights (compared in full, so equal
// bits share and nothing else does). See winograd_weights.h.
#include "winograd_weights.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { POINTS = 36 };

struct vf_winograd_weights {
    int c, k;
    float *plain;  // (K, C, 3, 3): the key
    float *u;      // [36][C][K]
    int holders;
    struct vf_winograd_weights *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static vf_winograd_weights *all;

// G (6×3) of F(4, 3) on the points 0, −1, 1, −2, 2, ∞.
static const double G[6][3] = {
    {1.0 / 4, 0, 0}, {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
    {1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1},
};

static void transform(int in_channels, int out_channels, const float *weight, float *out) {
    for (int k = 0; k < out_channels; k++) {
        for (int c = 0; c < in_channels; c++) {
            const float *g = weight + ((size_t)k * in_channels + c) * 9;
            double gg[6][3], u[6][6];
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 3; j++) gg[i][j] = G[i][0] * g[j] + G[i][1] * g[3 + j] + G[i][2] * g[6 + j];
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 6; j++) u[i][j] = gg[i][0] * G[j][0] + gg[i][1] * G[j][1] + gg[i][2] * G[j][2];
            for (int xi = 0; xi < POINTS; xi++) out[((size_t)xi * in_channels + c) * out_channels + k] = (float)u[xi / 6][xi % 6];
        }
    }
}

static void destroy(vf_winograd_weights *w) {
    free(w->plain);
    free(w->u);
    free(w);
}

vf_winograd_weights *vf_winograd_weights_acquire(int in_channels, int out_channels, const float *weight) {
    size_t plain_bytes = (size_t)9 * in_channels * out_channels * sizeof(float);
    pthread_mutex_lock(&lock);
    for (vf_winograd_weights *w = all; w; w = w->next) {
        if (w->c == in_channels && w->k == out_channels && memcmp(w->plain, weight, plain_bytes) == 0) {
            w->holders++;
            pthread_mutex_unlock(&lock);
            return w;
        }
    }
    vf_winograd_weights *w = calloc(1, sizeof *w);
    void *u = NULL;
    if (!w || !(w->plain = malloc(plain_bytes)) || posix_memalign(&u, 64, (size_t)POINTS * in_channels * out_channels * sizeof(float))) {
        if (w) destroy(w);
        pthread_mutex_unlock(&lock);
        return NULL;
    }
    w->c = in_channels;
    w->k = out_channels;
    w->u = u;
    w->holders = 1;
    memcpy(w->plain, weight, plain_bytes);
    transform(in_channels, out_channels, weight, w->u);
    w->next = all;
    all = w;
    pthread_mutex_unlock(&lock);
    return w;
}

const float *vf_winograd_weights_data(const vf_winograd_weights *weights) { return weights->u; }

void vf_winograd_weights_release(vf_winograd_weights *weights) {
    if (!weights) return;
    pthread_mutex_lock(&lock);
    if (--weights->holders == 0) {
        for (vf_winograd_weights **at = &all; *at; at = &(*at)->next) {
            if (*at == weights) {
                *at = weights->next;
                break;
            }
        }
        destroy(weights);
    }
    pthread_mutex_unlock(&lock);
}
