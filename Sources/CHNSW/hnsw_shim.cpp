// The C entry points (include/vfhnsw.h): each index remembers the hnswlib build it was made
// with, chosen once per process for the CPU (AVX2 + FMA when present; VISIONFLEET_ISA=sse forces
// the baseline build).
#include "vfhnsw.h"
#include "hnsw_ops.h"

#include <cstdlib>
#include <cstring>

struct vfh_index {
    const vfh_ops *ops;
    void *impl;
};

static const vfh_ops *chosen_ops() {
    static const vfh_ops *ops = [] {
        const char *forced = std::getenv("VISIONFLEET_ISA");
        if (forced && std::strcmp(forced, "sse") == 0) return &vfh_generic::ops;
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &vfh_avx2::ops;
        return &vfh_generic::ops;
    }();
    return ops;
}

static vfh_index *wrap(const vfh_ops *ops, void *impl) {
    if (!impl) return nullptr;
    return new vfh_index{ops, impl};
}

extern "C" const char *vfh_isa(void) { return chosen_ops()->isa; }

extern "C" vfh_index *vfh_create(int dimension, size_t capacity, size_t m, size_t ef_construction, size_t seed,
                                 char *error, size_t error_length) {
    const vfh_ops *ops = chosen_ops();
    return wrap(ops, ops->create(dimension, capacity, m, ef_construction, seed, error, error_length));
}

extern "C" vfh_index *vfh_load(const char *path, int dimension, char *error, size_t error_length) {
    const vfh_ops *ops = chosen_ops();
    return wrap(ops, ops->load(path, dimension, error, error_length));
}

extern "C" int vfh_save(vfh_index *index, const char *path, char *error, size_t error_length) {
    return index->ops->save(index->impl, path, error, error_length);
}

extern "C" void vfh_free(vfh_index *index) {
    if (!index) return;
    index->ops->destroy(index->impl);
    delete index;
}

extern "C" int vfh_add(vfh_index *index, const float *vectors, const uint64_t *labels, size_t n, int threads,
                       char *error, size_t error_length) {
    return index->ops->add(index->impl, vectors, labels, n, threads, error, error_length);
}

extern "C" int vfh_remove(vfh_index *index, uint64_t label) { return index->ops->remove(index->impl, label); }
extern "C" void vfh_set_ef(vfh_index *index, size_t ef) { index->ops->set_ef(index->impl, ef); }
extern "C" size_t vfh_ef(const vfh_index *index) { return index->ops->ef(index->impl); }

extern "C" size_t vfh_search(vfh_index *index, const float *query, size_t k, size_t ef, uint64_t *labels, float *scores) {
    return index->ops->search(index->impl, query, k, ef, labels, scores);
}

extern "C" size_t vfh_count(const vfh_index *index) { return index->ops->count(index->impl); }
