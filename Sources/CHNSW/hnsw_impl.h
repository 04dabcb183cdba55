// One build of the shim over hnswlib, compiled once per ISA inside namespace VFH_NS (see
// hnsw_generic.cpp, hnsw_avx2.cpp). One shared_mutex guards the graph: searches at the default ef
// share it; adds, removals, resizes, saves and searches at another ef hold it alone.
namespace VFH_NS {

struct vfh_index {
    int dimension;
    std::unique_ptr<hnswlib::InnerProductSpace> space;
    std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;
    size_t ef = 64;
    mutable std::shared_mutex lock;
};

static void set_error(char *error, size_t length, const char *message) {
    if (!error || length == 0) return;
    std::strncpy(error, message, length - 1);
    error[length - 1] = 0;
}

static void *vfh_create(int dimension, size_t capacity, size_t m, size_t ef_construction, size_t seed,
                                 char *error, size_t error_length) {
    try {
        auto index = std::make_unique<vfh_index>();
        index->dimension = dimension;
        index->space = std::make_unique<hnswlib::InnerProductSpace>(dimension);
        index->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(index->space.get(), std::max<size_t>(capacity, 16), m,
                                                                           ef_construction, seed);
        index->graph->setEf(index->ef);
        return index.release();
    } catch (const std::exception &e) {
        set_error(error, error_length, e.what());
        return nullptr;
    }
}

static void *vfh_load(const char *path, int dimension, char *error, size_t error_length) {
    try {
        auto index = std::make_unique<vfh_index>();
        index->dimension = dimension;
        index->space = std::make_unique<hnswlib::InnerProductSpace>(dimension);
        index->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(index->space.get(), std::string(path));
        auto &g = *index->graph;
        if (g.label_offset_ - g.offsetData_ != dimension * sizeof(float)) {
            set_error(error, error_length, "the index holds vectors of another dimension");
            return nullptr;
        }
        // hnswlib 0.6.2's loader counts deletions onto an uninitialised counter: count again.
        g.num_deleted_ = 0;
        for (size_t i = 0; i < g.cur_element_count; i++) {
            if (g.isMarkedDeleted((hnswlib::tableint)i)) g.num_deleted_ += 1;
        }
        index->graph->setEf(index->ef);
        return index.release();
    } catch (const std::exception &e) {
        set_error(error, error_length, e.what());
        return nullptr;
    }
}

static int vfh_save(void *opaque, const char *path, char *error, size_t error_length) {
    auto *index = static_cast<vfh_index *>(opaque);
    std::unique_lock<std::shared_mutex> guard(index->lock);
    try {
        index->graph->saveIndex(path);
        return 0;
    } catch (const std::exception &e) {
        set_error(error, error_length, e.what());
        return -1;
    }
}

static void vfh_free(void *opaque) { delete static_cast<vfh_index *>(opaque); }

static int vfh_add(void *opaque, const float *vectors, const uint64_t *labels, size_t n, int threads,
                       char *error, size_t error_length) {
    auto *index = static_cast<vfh_index *>(opaque);
    std::unique_lock<std::shared_mutex> guard(index->lock);
    try {
        auto &g = *index->graph;
        size_t needed = g.cur_element_count + n;
        if (needed > g.max_elements_) g.resizeIndex(std::max(needed, g.max_elements_ * 2));
        const size_t d = index->dimension;
        size_t workers = std::max(1, std::min<int>(threads, (int)(n / 256) + 1));
        std::atomic<size_t> next{0};
        std::atomic<bool> failed{false};
        std::string message;
        std::mutex message_lock;
        auto work = [&]() {
            for (size_t i = next++; i < n && !failed; i = next++) {
                try {
                    g.addPoint(vectors + i * d, (hnswlib::labeltype)labels[i]);
                } catch (const std::exception &e) {
                    std::lock_guard<std::mutex> l(message_lock);
                    message = e.what();
                    failed = true;
                }
            }
        };
        std::vector<std::thread> pool;
        for (size_t t = 1; t < workers; t++) pool.emplace_back(work);
        work();
        for (auto &t : pool) t.join();
        if (failed) {
            set_error(error, error_length, message.c_str());
            return -1;
        }
        return 0;
    } catch (const std::exception &e) {
        set_error(error, error_length, e.what());
        return -1;
    }
}

static int vfh_remove(void *opaque, uint64_t label) {
    auto *index = static_cast<vfh_index *>(opaque);
    std::unique_lock<std::shared_mutex> guard(index->lock);
    try {
        index->graph->markDelete((hnswlib::labeltype)label);
        return 0;
    } catch (const std::exception &) {
        return 1;
    }
}

static void vfh_set_ef(void *opaque, size_t ef) {
    auto *index = static_cast<vfh_index *>(opaque);
    std::unique_lock<std::shared_mutex> guard(index->lock);
    index->ef = std::max<size_t>(ef, 1);
    index->graph->setEf(index->ef);
}

static size_t vfh_ef(const void *opaque) { return static_cast<const vfh_index *>(opaque)->ef; }

static size_t collect(const vfh_index *index, const float *query, size_t k, uint64_t *labels, float *scores) {
    auto found = index->graph->searchKnn(query, k);
    size_t count = found.size();
    // The queue pops the farthest first: fill from the back. Inner-product distance is 1 − ip.
    for (size_t i = count; i-- > 0;) {
        labels[i] = found.top().second;
        scores[i] = 1.0f - found.top().first;
        found.pop();
    }
    return count;
}

static size_t vfh_search(void *opaque, const float *query, size_t k, size_t ef, uint64_t *labels, float *scores) {
    auto *index = static_cast<vfh_index *>(opaque);
    if (k == 0) return 0;
    if (ef == 0 || ef == index->ef) {
        std::shared_lock<std::shared_mutex> guard(index->lock);
        return collect(index, query, k, labels, scores);
    }
    std::unique_lock<std::shared_mutex> guard(index->lock);
    index->graph->setEf(ef);
    size_t count = collect(index, query, k, labels, scores);
    index->graph->setEf(index->ef);
    return count;
}

static size_t vfh_count(const void *opaque) {
    auto *index = static_cast<const vfh_index *>(opaque);
    std::shared_lock<std::shared_mutex> guard(index->lock);
    return index->graph->cur_element_count - index->graph->num_deleted_;
}

const vfh_ops ops = {
    VFH_ISA, vfh_create, vfh_load, vfh_save, vfh_free, vfh_add, vfh_remove, vfh_set_ef, vfh_ef, vfh_search, vfh_count,
};

} // namespace VFH_NS
