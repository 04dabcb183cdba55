// Every standard header hnswlib uses, included once outside the namespaces that wrap hnswlib
// (so each build of it instantiates its own copy, and none of the standard library's code is
// compiled for another ISA).
#include <algorithm>
#include <assert.h>
#include <atomic>
#include <cmath>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <list>
#include <memory>
#include <mutex>
#include <queue>
#include <random>
#include <shared_mutex>
#include <stdexcept>
#include <stdlib.h>
#include <string.h>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>
#include <x86intrin.h>
