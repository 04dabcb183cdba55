// A small C interface over hnswlib (Debian's libhnswlib-dev, header-only C++): an HNSW graph
// over unit vectors scored by inner product, with online adds and removals, thread-safe
// searches, and save/load. Errors are written into `error` (NUL-terminated).
#ifndef VFHNSW_H
#define VFHNSW_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vfh_index vfh_index;

/// A new empty index; grows as items are added.
vfh_index *vfh_create(int dimension, size_t capacity, size_t m, size_t ef_construction, size_t seed,
                      char *error, size_t error_length);
/// An index saved by `vfh_save`.
vfh_index *vfh_load(const char *path, int dimension, char *error, size_t error_length);
int vfh_save(vfh_index *index, const char *path, char *error, size_t error_length);
void vfh_free(vfh_index *index);

/// Adds (or replaces) n rows of `dimension` floats with their labels, on up to `threads`
/// threads. 0 on success.
int vfh_add(vfh_index *index, const float *vectors, const uint64_t *labels, size_t n, int threads,
            char *error, size_t error_length);
/// Removes a label; 0 when removed, 1 when it was not there.
int vfh_remove(vfh_index *index, uint64_t label);

/// The default search breadth (hnswlib's ef).
void vfh_set_ef(vfh_index *index, size_t ef);
size_t vfh_ef(const vfh_index *index);

/// The k best labels for one query, best first, with their inner products; `ef` 0 = the
/// default. Returns how many were written.
size_t vfh_search(vfh_index *index, const float *query, size_t k, size_t ef, uint64_t *labels, float *scores);

/// The hnswlib build in use: "avx2" or "sse".
const char *vfh_isa(void);

/// Items present (removed ones excluded).
size_t vfh_count(const vfh_index *index);

#ifdef __cplusplus
}
#endif

#endif
