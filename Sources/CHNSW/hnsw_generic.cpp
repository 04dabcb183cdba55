// hnswlib built for baseline x86-64 (SSE).
#include "hnsw_std.h"
#include "hnsw_ops.h"

namespace vfh_generic {
#include <hnswlib/hnswlib.h>
}
#define VFH_NS vfh_generic
#define VFH_ISA "sse"
#include "hnsw_impl.h"
