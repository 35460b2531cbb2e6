// Memory-bandwidth references measured in the same run as the kernels they judge.
//
//   stream/copy/naive/<n>    a[i] = b[i]            bytes = 8n  (the reference for y = f(x))
//   stream/triad/naive/<n>   a[i] = b[i] + s*c[i]   bytes = 12n (the reference for dx = g(x, dy))
//
// n = 4096, 16384, 262144, 802816, 1048576, 6422528, 16777216 floats (802816 and 6422528: the
// element counts of the batch-norm benchmark's tensors, 32x512x7x7 and 32x64x56x56, so that
// each has a copy of its own size to be judged by). Plain loops compiled with the benchmark's
// flags (Release -O3, x86-64 baseline). From 512K elements on (arrays beyond L2) the loop is split
// into one contiguous range per thread over simdgrad::num_threads() OpenMP threads, so that a
// 2-thread run's reference has 2 threads too; the smaller sizes run on one thread, like
// simdgrad's element-wise kernels do. Bytes count what the kernel reads and writes (the same
// convention as the kernels' counters), not the write-allocate traffic the hardware adds.
#include <benchmark/benchmark.h>
#include <omp.h>
#include <simdgrad/cpu.hpp>

#include <algorithm>
#include <cstddef>
#include <map>
#include <string>

#include "bench_util.hpp"

namespace {

constexpr std::size_t kSizes[] = {4096, 16384, 262144, 802816, 1048576, 6422528, 16777216};
constexpr std::size_t kThreadedFrom = 524288;

struct Arrays {
  sgbench::Buffer a, b, c;
};

Arrays& arrays_for(std::size_t n) {
  static std::map<std::size_t, Arrays> cache;
  auto it = cache.find(n);
  if (it == cache.end())
    it = cache
             .emplace(n, Arrays{sgbench::make_buffer(n, 0.0f, 1.0f, 21),
                                sgbench::make_buffer(n, -1.0f, 1.0f, 22),
                                sgbench::make_buffer(n, -1.0f, 1.0f, 23)})
             .first;
  return it->second;
}

__attribute__((noinline)) void copy_loop(float* a, const float* b, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) a[i] = b[i];
}
__attribute__((noinline)) void triad_loop(float* a, const float* b, const float* c, float s,
                                          std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
}

// Calls f(begin, end) on `threads` contiguous ranges (64-element aligned boundaries).
template <class F>
void split(std::size_t n, int threads, F&& f) {
  if (threads <= 1) {
    f(std::size_t{0}, n);
    return;
  }
  const std::size_t per = ((n + threads - 1) / threads + 63) / 64 * 64;
#pragma omp parallel num_threads(threads)
  {
    const std::size_t t = static_cast<std::size_t>(omp_get_thread_num());
    const std::size_t b = std::min(n, t * per), e = std::min(n, b + per);
    if (b < e) f(b, e);
  }
}

void bm_copy(benchmark::State& st, std::size_t n) {
  Arrays& d = arrays_for(n);
  float* a = d.a.get();
  const float* b = d.b.get();
  const int threads = n >= kThreadedFrom ? simdgrad::num_threads() : 1;
  for (auto _ : st) {
    split(n, threads, [&](std::size_t s, std::size_t e) { copy_loop(a + s, b + s, e - s); });
    benchmark::ClobberMemory();
  }
  sgbench::set_rates(st, 8.0 * static_cast<double>(n), static_cast<double>(n));
}

void bm_triad(benchmark::State& st, std::size_t n) {
  Arrays& d = arrays_for(n);
  float* a = d.a.get();
  const float* b = d.b.get();
  const float* c = d.c.get();
  const int threads = n >= kThreadedFrom ? simdgrad::num_threads() : 1;
  for (auto _ : st) {
    split(n, threads,
          [&](std::size_t s, std::size_t e) { triad_loop(a + s, b + s, c + s, 0.5f, e - s); });
    benchmark::ClobberMemory();
  }
  sgbench::set_rates(st, 12.0 * static_cast<double>(n), static_cast<double>(n));
}

const bool registered = [] {
  for (std::size_t n : kSizes) {
    benchmark::RegisterBenchmark(("stream/copy/naive/" + std::to_string(n)).c_str(),
                                 [n](benchmark::State& st) { bm_copy(st, n); });
    benchmark::RegisterBenchmark(("stream/triad/naive/" + std::to_string(n)).c_str(),
                                 [n](benchmark::State& st) { bm_triad(st, n); });
  }
  return true;
}();

}  // namespace
