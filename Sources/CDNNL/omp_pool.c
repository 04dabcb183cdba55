// The engine's parallel regions on oneDNN's own OpenMP team (libgomp), so the process has one
// set of worker threads: the engine's kernels and oneDNN's primitives take turns on the same
// threads instead of two pools spinning against each other on the same cores. See vfdnnl.h.
#include "vfdnnl.h"

// libgomp's entry point for `#pragma omp parallel` (what GCC emits), called directly: this
// target is built without -fopenmp (clang's would call LLVM's runtime, not libgomp).
extern void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
extern int omp_get_thread_num(void);
extern int omp_get_num_threads(void);
extern int omp_get_max_threads(void);
extern void omp_set_num_threads(int);

typedef struct {
    vf_chunk_fn fn;
    void *context;
    int chunks;
} job_t;

static void run_chunks(void *data) {
    const job_t *job = data;
    // A nested region gets a team of one: that thread then runs every chunk.
    int team = omp_get_num_threads();
    for (int c = omp_get_thread_num(); c < job->chunks; c += team) job->fn(job->context, c);
}

void vf_omp_run(int chunks, vf_chunk_fn fn, void *context) {
    job_t job = {fn, context, chunks};
    GOMP_parallel(run_chunks, &job, (unsigned)chunks, 0);
}

int vf_omp_swap_threads(int threads) {
    int previous = omp_get_max_threads();
    if (threads > 0) omp_set_num_threads(threads);
    return previous;
}
