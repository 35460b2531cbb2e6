// GEMM benchmarks: gemm/<shape>/<impl>/<m>/<n>/<k>, impl in simdgrad, onednn (dnnl_sgemm),
// onednn_matmul (matmul primitive, created outside the timed loop), openblas (cblas_sgemm),
// blis (bli_sgemm), eigen; counters GFLOPS and eff (fraction of the FMA peak measured by
// peak/fma/<isa> in this executable, times the thread count).
//
// Shapes: square/NN n^3; fwd = y = x W (NN), bwd_data = dX = dY W^T (NT), bwd_weight =
// dW = X^T dY (TN) for dense layers (batch, in, out) whose forward product is m x n x k =
// batch x out x in; fwd_bias_<act> is the forward product with the fused bias + activation
// epilogue (simdgrad) against the matmul primitive with bias and eltwise post-op.
//
// Peers are configured as their experts would on this CPU, before their first use:
//   OpenBLAS: OPENBLAS_CORETYPE=SkylakeX on AVX-512 CPUs (0.3.21 falls back to Haswell kernels
//             on CPUs it does not know, e.g. Zen 5), Haswell when SIMDGRAD_MAX_ISA=avx2; threads =
//             OMP_NUM_THREADS via openblas_set_num_threads; OPENBLAS_THREAD_TIMEOUT=20 so that
//             its idle pthreads stop spinning soon after its own benchmark.
//   BLIS:     BLIS_ARCH_TYPE = skx (haswell with SIMDGRAD_MAX_ISA=avx2); 0.9 picks generic
//             kernels on CPUs it does not know. Threads via bli_thread_set_num_threads.
//   oneDNN:   ONEDNN_MAX_CPU_ISA=AVX2 is set to match SIMDGRAD_MAX_ISA=avx2; OpenMP threads.
//   Eigen:    compiled with -march=native (bench/peers.cmake); OpenMP threads.
// A variable already set in the environment is left as it is. The context lines openblas_lib,
// openblas_core, blis_lib, blis_arch tell which library and kernels really ran.
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <sched.h>
#include <immintrin.h>
#include <omp.h>
#include <simdgrad/simdgrad.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "openblas_peer.hpp"
#if defined(SIMDGRAD_BENCH_ONEDNN)
#include "support/reference_gemm.hpp"
#endif
#if defined(SIMDGRAD_BENCH_BLIS)
#include "blis_peer.hpp"
#endif
#if defined(SIMDGRAD_BENCH_EIGEN)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#pragma GCC diagnostic pop
#endif

namespace {

using simdgrad::MatLayout;
using simdgrad::Trans;

bool avx2_cap() {
  const char* v = std::getenv("SIMDGRAD_MAX_ISA");
  return simdgrad::active_isa() == simdgrad::Isa::avx2 || (v && std::strcmp(v, "avx2") == 0);
}

int bench_threads() { return simdgrad::num_threads(); }

// ------------------------------------------------------------------ FMA peak
#if defined(__x86_64__)
__attribute__((target("avx512f"))) double peak_avx512(std::size_t iters) {
  __m512 acc[24];
  for (int i = 0; i < 24; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i) * 1e-3f);
  const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
  // Fully unrolled and with no asm barrier on the array, so that the 24 chains live in
  // registers (otherwise GCC keeps them in a stack array and this measures store-to-load
  // forwarding instead of the FMA units). Floating-point rules keep the chains as written.
  for (std::size_t it = 0; it < iters; ++it) {
#pragma GCC unroll 24
    for (int i = 0; i < 24; ++i) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
  }
  __m512 s = acc[0];
  for (int i = 1; i < 24; ++i) s = _mm512_add_ps(s, acc[i]);
  float out[16];
  _mm512_storeu_ps(out, s);
  benchmark::DoNotOptimize(out[0]);
  return static_cast<double>(iters) * 24 * 16 * 2;
}
__attribute__((target("avx2,fma"))) double peak_avx2(std::size_t iters) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i) * 1e-3f);
  const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
  for (std::size_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
  }
  __m256 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, acc[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  benchmark::DoNotOptimize(out[0]);
  return static_cast<double>(iters) * 12 * 8 * 2;
}
#endif

using PeakFn = double (*)(std::size_t);
PeakFn peak_fn(simdgrad::Isa isa) {
#if defined(__x86_64__)
  if (isa == simdgrad::Isa::avx512) return peak_avx512;
  if (isa == simdgrad::Isa::avx2) return peak_avx2;
#endif
  (void)isa;
  return nullptr;
}

/// Single-core FMA peak in GFLOPS of the active ISA: the best of 30 short runs timed by the
/// thread's CPU clock (robust to other processes sharing the core), measured once.
double fma_peak_gflops() {
  static const double peak = [] {
    const PeakFn f = peak_fn(simdgrad::active_isa());
    if (!f) return 0.0;
    double best = 0;
    for (int r = 0; r < 30; ++r) {
      timespec t0, t1;
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
      const double flops = f(200000);
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
      const double s = static_cast<double>(t1.tv_sec - t0.tv_sec) +
                       1e-9 * static_cast<double>(t1.tv_nsec - t0.tv_nsec);
      if (s > 0) best = std::max(best, flops / s * 1e-9);
    }
    return best;
  }();
  return peak;
}

void bm_peak(benchmark::State& st, simdgrad::Isa isa) {
  const PeakFn f = peak_fn(isa);
  if (!f || !simdgrad::isa_available(isa)) {
    st.SkipWithError("ISA not available");
    return;
  }
  double flops = 0;
  for (auto _ : st) flops += f(100000);
  st.counters["GFLOPS"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsRate);
}

// ------------------------------------------------------------------ peers' setup
using sgbench::setenv_default;

#if defined(SIMDGRAD_BENCH_OPENBLAS_SO)
using sgbench::OpenBlas;
const OpenBlas& openblas() {
  return sgbench::openblas(SIMDGRAD_BENCH_OPENBLAS_SO, avx2_cap() ? "Haswell" : "SkylakeX");
}
#endif

#if defined(SIMDGRAD_BENCH_BLIS)
std::string blis_arch() {
  static const std::string a = [] {
    setenv_default("BLIS_ARCH_TYPE",
                   std::to_string(static_cast<int>(avx2_cap() ? BLIS_ARCH_HASWELL : BLIS_ARCH_SKX)));
    bli_init();
    return std::string(bli_arch_string(bli_arch_query_id()));
  }();
  return a;
}
#endif

/// Adds the peers' configuration to the benchmark context (called at static init; the peers
/// are opened lazily at their first benchmark, after the environment is set).
struct Context {
  Context() {
    if (avx2_cap()) setenv_default("ONEDNN_MAX_CPU_ISA", "AVX2");
#if defined(SIMDGRAD_BENCH_OPENBLAS_SO)
    const OpenBlas& o = openblas();
    benchmark::AddCustomContext("openblas_lib", o.lib.empty() ? "not loaded" : o.lib);
    benchmark::AddCustomContext("openblas_core", o.core);
    benchmark::AddCustomContext("OPENBLAS_CORETYPE", std::getenv("OPENBLAS_CORETYPE"));
#endif
#if defined(SIMDGRAD_BENCH_BLIS)
    const std::string arch = blis_arch();
    benchmark::AddCustomContext("blis_arch", arch);
    Dl_info info;
    if (dladdr(reinterpret_cast<void*>(&bli_sgemm), &info) && info.dli_fname)
      benchmark::AddCustomContext("blis_lib", info.dli_fname);
#endif
    Dl_info info2;
    if (dladdr(reinterpret_cast<void*>(&simdgrad::gemm), &info2) && info2.dli_fname)
      benchmark::AddCustomContext("simdgrad_gemm_in", info2.dli_fname);
    char peak[64];
    std::snprintf(peak, sizeof peak, "%.1f", fma_peak_gflops());
    benchmark::AddCustomContext("fma_peak_gflops_1core", peak);
  }
};

// ------------------------------------------------------------------ problems
struct Shape {
  const char* name;
  Trans ta, tb;
  std::size_t m, n, k;
};

struct Mats {
  std::size_t lda, ldb, ldc;
  sgbench::Buffer a, b, c, bias;
};

Mats make_mats(const Shape& s) {
  Mats x;
  x.lda = s.ta == Trans::none ? s.k : s.m;
  x.ldb = s.tb == Trans::none ? s.n : s.k;
  x.ldc = s.n;
  x.a = sgbench::make_buffer(s.m * s.k, -1.0f, 1.0f, 1);
  x.b = sgbench::make_buffer(s.k * s.n, -1.0f, 1.0f, 2);
  x.c = sgbench::make_buffer(s.m * s.n, -1.0f, 1.0f, 3);
  x.bias = sgbench::make_buffer(s.n, -1.0f, 1.0f, 4);
  return x;
}

void finish(benchmark::State& st, const Shape& s) {
  const double flops = 2.0 * static_cast<double>(s.m) * s.n * s.k;
  st.counters["GFLOPS"] =
      benchmark::Counter(flops * 1e-9 * static_cast<double>(st.iterations()),
                         benchmark::Counter::kIsRate);
  const double peak = fma_peak_gflops() * bench_threads();
  if (peak > 0)
    st.counters["eff"] = benchmark::Counter(flops * 1e-9 * static_cast<double>(st.iterations()) / peak,
                                            benchmark::Counter::kIsRate);
}

/// After a peer's first call: its C must match simdgrad's (catches a wrong stride or transpose
/// in the peer's call, so that every row measures the same product).
bool same_product(benchmark::State& st, const Shape& s, const Mats& x) {
  std::vector<float> ref(s.m * s.n);
  simdgrad::gemm(MatLayout::row_major, s.ta, s.tb, s.m, s.n, s.k, 1.0f, x.a.get(), x.lda,
                 x.b.get(), x.ldb, 0.0f, ref.data(), s.n);
  double maxabs = 0, maxdiff = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    maxabs = std::max(maxabs, static_cast<double>(std::fabs(ref[i])));
    maxdiff = std::max(maxdiff, static_cast<double>(std::fabs(ref[i] - x.c[i])));
  }
  if (!(maxdiff <= 1e-4 * (maxabs + 1.0))) {
    st.SkipWithError("peer result differs from simdgrad's");
    return false;
  }
  return true;
}

void bm_simdgrad(benchmark::State& st, Shape s, simdgrad::GemmEpilogue ep) {
  Mats x = make_mats(s);
  if (ep.bias) ep.bias = x.bias.get();
  try {
    simdgrad::gemm(MatLayout::row_major, s.ta, s.tb, s.m, s.n, s.k, 1.0f, x.a.get(), x.lda,
                   x.b.get(), x.ldb, 0.0f, x.c.get(), x.ldc, ep);
  } catch (const simdgrad::error& e) {
    st.SkipWithError(e.what());
    return;
  }
  for (auto _ : st) {
    simdgrad::gemm(MatLayout::row_major, s.ta, s.tb, s.m, s.n, s.k, 1.0f, x.a.get(), x.lda,
                   x.b.get(), x.ldb, 0.0f, x.c.get(), x.ldc, ep);
    benchmark::ClobberMemory();
  }
  finish(st, s);
}

#if defined(SIMDGRAD_BENCH_ONEDNN)
void bm_onednn(benchmark::State& st, Shape s) {
  Mats x = make_mats(s);
  sgdnnl::sgemm(MatLayout::row_major, s.ta, s.tb, s.m, s.n, s.k, 1.0f, x.a.get(), x.lda,
                x.b.get(), x.ldb, 0.0f, x.c.get(), x.ldc);
  if (!same_product(st, s, x)) return;
  for (auto _ : st) {
    sgdnnl::sgemm(MatLayout::row_major, s.ta, s.tb, s.m, s.n, s.k, 1.0f, x.a.get(), x.lda,
                  x.b.get(), x.ldb, 0.0f, x.c.get(), x.ldc);
    benchmark::ClobberMemory();
  }
  finish(st, s);
}

void bm_onednn_matmul(benchmark::State& st, Shape s, simdgrad::GemmEpilogue ep) {
  Mats x = make_mats(s);
  if (ep.bias) ep.bias = x.bias.get();
  sgdnnl::Matmul mm(MatLayout::row_major, s.ta, s.tb, s.m, s.n, s.k, 1.0f, x.lda, x.ldb, 0.0f,
                    x.ldc, ep);
  if (!mm.ok) {
    st.SkipWithError("oneDNN has no such post-op");
    return;
  }
  mm.run(x.a.get(), x.b.get(), x.bias.get(), x.c.get());
  if (!ep.bias && !ep.activate && !same_product(st, s, x)) return;
  for (auto _ : st) {
    mm.run(x.a.get(), x.b.get(), x.bias.get(), x.c.get());
    benchmark::ClobberMemory();
  }
  finish(st, s);
}
#endif

#if defined(SIMDGRAD_BENCH_OPENBLAS_SO)
void bm_openblas(benchmark::State& st, Shape s) {
  const OpenBlas& o = openblas();
  if (!o.sgemm) {
    st.SkipWithError("OpenBLAS not loaded");
    return;
  }
  if (o.set_threads) {
    const sgbench::WideAffinity wide;
    o.set_threads(bench_threads());
  }
  Mats x = make_mats(s);
  using sgbench::kCblasNoTrans, sgbench::kCblasTrans;
  const int ta = s.ta == Trans::none ? kCblasNoTrans : kCblasTrans;
  const int tb = s.tb == Trans::none ? kCblasNoTrans : kCblasTrans;
  auto call = [&] {
    o.sgemm(sgbench::kCblasRowMajor, ta, tb, static_cast<int>(s.m), static_cast<int>(s.n),
            static_cast<int>(s.k), 1.0f, x.a.get(), static_cast<int>(x.lda), x.b.get(),
            static_cast<int>(x.ldb), 0.0f, x.c.get(), static_cast<int>(x.ldc));
  };
  call();
  if (!same_product(st, s, x)) return;
  for (auto _ : st) {
    call();
    benchmark::ClobberMemory();
  }
  finish(st, s);
}
#endif

#if defined(SIMDGRAD_BENCH_BLIS)
void bm_blis(benchmark::State& st, Shape s) {
  blis_arch();
  bli_thread_set_num_threads(bench_threads());
  Mats x = make_mats(s);
  float one = 1.0f, zero = 0.0f;
  // Row-major storage as BLIS strides (row stride ld, column stride 1); transposes as flags.
  const trans_t ta = s.ta == Trans::none ? BLIS_NO_TRANSPOSE : BLIS_TRANSPOSE;
  const trans_t tb = s.tb == Trans::none ? BLIS_NO_TRANSPOSE : BLIS_TRANSPOSE;
  auto call = [&] {
    bli_sgemm(ta, tb, static_cast<dim_t>(s.m), static_cast<dim_t>(s.n), static_cast<dim_t>(s.k),
              &one, x.a.get(), static_cast<inc_t>(x.lda), 1, x.b.get(),
              static_cast<inc_t>(x.ldb), 1, &zero, x.c.get(), static_cast<inc_t>(x.ldc), 1);
  };
  call();
  if (!same_product(st, s, x)) return;
  for (auto _ : st) {
    call();
    benchmark::ClobberMemory();
  }
  finish(st, s);
}
#endif

#if defined(SIMDGRAD_BENCH_EIGEN)
void bm_eigen(benchmark::State& st, Shape s) {
  using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Map = Eigen::Map<RowMat>;
  using CMap = Eigen::Map<const RowMat>;
  Eigen::setNbThreads(bench_threads());
  Mats x = make_mats(s);
  const Eigen::Index m = static_cast<Eigen::Index>(s.m), n = static_cast<Eigen::Index>(s.n),
                     k = static_cast<Eigen::Index>(s.k);
  CMap a(x.a.get(), s.ta == Trans::none ? m : k, s.ta == Trans::none ? k : m);
  CMap b(x.b.get(), s.tb == Trans::none ? k : n, s.tb == Trans::none ? n : k);
  Map c(x.c.get(), m, n);
  auto call = [&] {
    if (s.ta == Trans::none && s.tb == Trans::none) c.noalias() = a * b;
    else if (s.ta == Trans::none) c.noalias() = a * b.transpose();
    else if (s.tb == Trans::none) c.noalias() = a.transpose() * b;
    else c.noalias() = a.transpose() * b.transpose();
  };
  call();
  if (!same_product(st, s, x)) return;
  for (auto _ : st) {
    call();
    benchmark::ClobberMemory();
  }
  finish(st, s);
}
#endif

std::string args_of(const Shape& s) {
  return std::to_string(s.m) + "/" + std::to_string(s.n) + "/" + std::to_string(s.k);
}

/// With --benchmark_repetitions each case also reports the fastest repetition ("min"): on a
/// machine shared with other work the minimum is the least disturbed figure.
void add(const std::string& name, std::function<void(benchmark::State&)> f) {
  benchmark::RegisterBenchmark(name.c_str(), [f](benchmark::State& st) { f(st); })
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond)
      ->ComputeStatistics("min", [](const std::vector<double>& v) {
        return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end());
      });
}

void register_shape(const Shape& s) {
  const std::string base = std::string("gemm/") + s.name + "/";
  const std::string args = args_of(s);
  add(base + "simdgrad/" + args, [s](benchmark::State& st) { bm_simdgrad(st, s, {}); });
#if defined(SIMDGRAD_BENCH_ONEDNN)
  add(base + "onednn/" + args, [s](benchmark::State& st) { bm_onednn(st, s); });
  add(base + "onednn_matmul/" + args,
      [s](benchmark::State& st) { bm_onednn_matmul(st, s, {}); });
#endif
#if defined(SIMDGRAD_BENCH_OPENBLAS_SO)
  add(base + "openblas/" + args, [s](benchmark::State& st) { bm_openblas(st, s); });
#endif
#if defined(SIMDGRAD_BENCH_BLIS)
  add(base + "blis/" + args, [s](benchmark::State& st) { bm_blis(st, s); });
#endif
#if defined(SIMDGRAD_BENCH_EIGEN)
  add(base + "eigen/" + args, [s](benchmark::State& st) { bm_eigen(st, s); });
#endif
}

int register_all() {
  static Context context;
  for (simdgrad::Isa isa : {simdgrad::Isa::avx512, simdgrad::Isa::avx2})
    benchmark::RegisterBenchmark((std::string("peak/fma/") + simdgrad::isa_name(isa)).c_str(),
                                 [isa](benchmark::State& st) { bm_peak(st, isa); });
  for (std::size_t n : {64, 128, 256, 512, 1024, 2048})
    register_shape({"square", Trans::none, Trans::none, n, n, n});
  struct Layer { std::size_t batch, in, out; };
  // Forward products m x n x k = batch x out x in: 256x1024x1024, 32x4096x1024, 4096x64x64,
  // 1x4096x4096, 64x64x64.
  const Layer layers[] = {{256, 1024, 1024}, {32, 1024, 4096}, {4096, 64, 64},
                          {1, 4096, 4096}, {64, 64, 64}};
  for (const Layer& l : layers) {
    register_shape({"fwd", Trans::none, Trans::none, l.batch, l.out, l.in});
    register_shape({"bwd_data", Trans::none, Trans::transpose, l.batch, l.in, l.out});
    register_shape({"bwd_weight", Trans::transpose, Trans::none, l.in, l.out, l.batch});
  }
  // Fused epilogue at 1024 (and the layer shape 256x1024x1024): bias alone, bias + activation.
  const Shape fused[] = {{"fwd_bias", Trans::none, Trans::none, 1024, 1024, 1024},
                         {"fwd_bias", Trans::none, Trans::none, 256, 1024, 1024}};
  for (const Shape& base : fused) {
    std::vector<std::pair<std::string, simdgrad::GemmEpilogue>> eps;
    eps.push_back({"", simdgrad::GemmEpilogue(reinterpret_cast<const float*>(1))});
    for (int a = 0; a < simdgrad::kActivationCount; ++a) {
      const simdgrad::Activation kind = static_cast<simdgrad::Activation>(a);
      eps.push_back({std::string("_") + simdgrad::activation_name(kind),
                     simdgrad::GemmEpilogue(reinterpret_cast<const float*>(1), kind)});
    }
    for (const auto& e : eps) {
      const std::string name = std::string("gemm/fwd_bias") + e.first + "/";
      const std::string args = args_of(base);
      const simdgrad::GemmEpilogue ep = e.second;
      const Shape s = base;
      add(name + "simdgrad/" + args, [s, ep](benchmark::State& st) { bm_simdgrad(st, s, ep); });
#if defined(SIMDGRAD_BENCH_ONEDNN)
      add(name + "onednn_matmul/" + args,
          [s, ep](benchmark::State& st) { bm_onednn_matmul(st, s, ep); });
#endif
    }
  }
  return 0;
}

const int registered = register_all();

}  // namespace
