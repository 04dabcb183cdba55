// The operations one build of hnswlib provides; the shim picks the build for the CPU it runs on.
#ifndef VFHNSW_OPS_H
#define VFHNSW_OPS_H

#include <stddef.h>
#include <stdint.h>

struct vfh_ops {
    const char *isa;
    void *(*create)(int dimension, size_t capacity, size_t m, size_t ef_construction, size_t seed, char *error, size_t error_length);
    void *(*load)(const char *path, int dimension, char *error, size_t error_length);
    int (*save)(void *index, const char *path, char *error, size_t error_length);
    void (*destroy)(void *index);
    int (*add)(void *index, const float *vectors, const uint64_t *labels, size_t n, int threads, char *error, size_t error_length);
    int (*remove)(void *index, uint64_t label);
    void (*set_ef)(void *index, size_t ef);
    size_t (*ef)(const void *index);
    size_t (*search)(void *index, const float *query, size_t k, size_t ef, uint64_t *labels, float *scores);
    size_t (*count)(const void *index);
};

namespace vfh_generic { extern const vfh_ops ops; }
namespace vfh_avx2 { extern const vfh_ops ops; }

#endif
