// hnswlib built for AVX2 + FMA: every function below carries the target attribute, and
// hnswlib's AVX distance kernels are compiled in (USE_AVX); used only on CPUs that have them.
#include "hnsw_std.h"
#include "hnsw_ops.h"

#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define USE_AVX
namespace vfh_avx2 {
#include <hnswlib/hnswlib.h>
}
#define VFH_NS vfh_avx2
#define VFH_ISA "avx2"
#include "hnsw_impl.h"
#pragma clang attribute pop
