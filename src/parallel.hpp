#pragma once
// OpenMP helpers. Work is split into blocks whose boundaries depend only on the problem size,
// never on the thread count, so that reductions combine the same partial results in the same
// order whatever the number of threads.
#include <omp.h>

#include <algorithm>
#include <cstddef>

#include "simdgrad/cpu.hpp"

namespace simdgrad::detail {

/// Threads to use for `work` units when each thread should get at least `min_per_thread`.
/// Returns 1 inside an enclosing parallel region (the caller's thread does the work).
inline int threads_for(std::size_t work, std::size_t min_per_thread) {
  if (work < 2 * min_per_thread) return 1;  // first: no OpenMP calls for small work
  if (omp_in_parallel()) return 1;
  const int t = num_threads();
  if (t <= 1) return 1;
  const std::size_t by_work = work / min_per_thread;
  return static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(t), by_work));
}

/// Calls f(block) for block in [0, nblocks) on `threads` threads (static schedule).
template <class F>
inline void parallel_blocks(std::size_t nblocks, int threads, F&& f) {
  if (threads <= 1 || nblocks <= 1) {
    for (std::size_t b = 0; b < nblocks; ++b) f(b);
    return;
  }
  const long long nb = static_cast<long long>(nblocks);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (long long b = 0; b < nb; ++b) f(static_cast<std::size_t>(b));
}

/// Splits [0, n) into one contiguous range per thread, boundaries multiples of `align`
/// elements, and calls f(begin, end) for each. For element-wise kernels (whose results do not
/// depend on the split).
template <class F>
inline void parallel_ranges(std::size_t n, std::size_t min_per_thread, std::size_t align, F&& f) {
  const int t = threads_for(n, min_per_thread);
  if (t <= 1) {
    f(std::size_t{0}, n);
    return;
  }
  std::size_t per = (n + t - 1) / t;
  per = (per + align - 1) / align * align;
#pragma omp parallel num_threads(t)
  {
    const std::size_t i = static_cast<std::size_t>(omp_get_thread_num());
    const std::size_t b = std::min(n, i * per), e = std::min(n, b + per);
    if (b < e) f(b, e);
  }
}

}  // namespace simdgrad::detail
