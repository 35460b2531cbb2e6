#pragma once
// Shared benchmark helpers: aligned buffers with deterministic data, byte/FLOP counters.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <random>

namespace sgbench {

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<float[], FreeDeleter>;

/// 64-byte aligned buffer of n floats, uniform in [lo, hi), first-touched by the caller's thread.
inline Buffer make_buffer(std::size_t n, float lo = -4.0f, float hi = 4.0f, unsigned seed = 7) {
  const std::size_t bytes = ((n * sizeof(float) + 63) / 64) * 64 + 64;
  Buffer b(static_cast<float*>(std::aligned_alloc(64, bytes)));
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  for (std::size_t i = 0; i < n; ++i) b[i] = d(g);
  return b;
}

/// Reports bytes_per_second and items_per_second for `bytes` and `items` moved per iteration.
inline void set_rates(benchmark::State& st, double bytes, double items) {
  st.SetBytesProcessed(static_cast<int64_t>(bytes) * st.iterations());
  st.SetItemsProcessed(static_cast<int64_t>(items) * st.iterations());
}

}  // namespace sgbench
