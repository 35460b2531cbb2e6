// Activation benchmarks: simdgrad against oneDNN's eltwise primitive and a naive loop.
//
//   activation_fwd/<algo>/<impl>/<n>     y = f(x)                      bytes = 8n (read x, write y)
//   activation_bwd/<algo>/<impl>/<n>     dx = dy * f'(x)               bytes = 12n (x, dy, dx)
//   activation_bwd_y/<algo>/<impl>/<n>   dx = dy * f'(x) from y = f(x) bytes = 12n (y, dy, dx)
//                                        (relu, leaky_relu, elu, sigmoid, tanh)
// impl: simdgrad; onednn (primitives and memory objects created outside the timed loop; oneDNN
// 2.6 has no selu); naive (the plain loops below over std::exp / std::expm1 / std::tanh / std::erf
// / std::log1p, compiled with the benchmark's own flags: CMake Release -O3, the x86-64 baseline
// (SSE2), math-errno left on, so GCC vectorizes the branch-only loops (relu, leaky_relu,
// hardswish) with SSE2 and calls glibc's scalar libm once per element for the others).
// n = 4096, 16384, 262144, 16777216 floats. The data are the same for every impl: x uniform in
// [-6, 6), dy uniform in [-1, 1), 64-byte aligned, allocated once per size and shared.
// Threads: simdgrad and oneDNN both follow OMP_NUM_THREADS; the naive loops run on one thread.
#include <benchmark/benchmark.h>
#include <simdgrad/activation.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <map>
#include <string>

#include "bench_util.hpp"
#if defined(SIMDGRAD_BENCH_ONEDNN)
#include "onednn_bench.hpp"
#endif

namespace {

using simdgrad::Activation;
using simdgrad::ActivationSpec;

constexpr std::size_t kSizes[] = {4096, 16384, 262144, 16777216};

// ------------------------------------------------------------------------------ data
struct Data {
  sgbench::Buffer x, y, dy, dx;
};

// One set of buffers per size, shared by all cases (allocating and filling 16M-element buffers
// for every run would dominate the benchmark's wall time).
Data& data_for(std::size_t n) {
  static std::map<std::size_t, Data> cache;
  auto it = cache.find(n);
  if (it == cache.end()) {
    Data d{sgbench::make_buffer(n, -6.0f, 6.0f, 11), sgbench::make_buffer(n, 0.0f, 1.0f, 12),
           sgbench::make_buffer(n, -1.0f, 1.0f, 13), sgbench::make_buffer(n, 0.0f, 1.0f, 14)};
    it = cache.emplace(n, std::move(d)).first;
  }
  return it->second;
}

// ------------------------------------------------------------------------------ naive
// Plain per-element loops, one per algorithm, as a user without a library would write them.
constexpr float kSeluScale = 1.0507009873554805f, kSeluAlpha = 1.6732632423543772f;
constexpr float kSqrt1_2 = 0.70710678118654752f, kInvSqrt2Pi = 0.39894228040143268f;
constexpr float kGeluK = 0.79788456080286536f, kGeluC = 0.044715f;

template <class F>
__attribute__((noinline)) void map1(const float* x, float* y, std::size_t n, F f) {
  for (std::size_t i = 0; i < n; ++i) y[i] = f(x[i]);
}
template <class F>
__attribute__((noinline)) void map2(const float* x, const float* dy, float* dx, std::size_t n,
                                    F f) {
  for (std::size_t i = 0; i < n; ++i) dx[i] = f(x[i], dy[i]);
}
// dx = dy * f'(x) for a derivative g(x).
template <class G>
void chain(const float* x, const float* dy, float* dx, std::size_t n, G g) {
  map2(x, dy, dx, n, [g](float v, float d) { return d * g(v); });
}

inline float naive_softplus(float v) { return v > 20.0f ? v : std::log1p(std::exp(v)); }
inline float naive_sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }

void naive_forward(ActivationSpec s, const float* x, float* y, std::size_t n) {
  const float a = s.alpha;
  switch (s.kind) {
    case Activation::relu: return map1(x, y, n, [](float v) { return v > 0.0f ? v : 0.0f; });
    case Activation::leaky_relu:
      return map1(x, y, n, [a](float v) { return v > 0.0f ? v : a * v; });
    case Activation::elu:
      return map1(x, y, n, [a](float v) { return v > 0.0f ? v : a * std::expm1(v); });
    case Activation::selu:
      return map1(x, y, n, [](float v) {
        return kSeluScale * (v > 0.0f ? v : kSeluAlpha * std::expm1(v));
      });
    case Activation::gelu_erf:
      return map1(x, y, n, [](float v) { return 0.5f * v * (1.0f + std::erf(v * kSqrt1_2)); });
    case Activation::gelu_tanh:
      return map1(x, y, n, [](float v) {
        return 0.5f * v * (1.0f + std::tanh(kGeluK * (v + kGeluC * v * v * v)));
      });
    case Activation::sigmoid: return map1(x, y, n, [](float v) { return naive_sigmoid(v); });
    case Activation::tanh: return map1(x, y, n, [](float v) { return std::tanh(v); });
    case Activation::softplus: return map1(x, y, n, [](float v) { return naive_softplus(v); });
    case Activation::silu: return map1(x, y, n, [](float v) { return v * naive_sigmoid(v); });
    case Activation::mish:
      return map1(x, y, n, [](float v) { return v * std::tanh(naive_softplus(v)); });
    case Activation::hardswish:
      return map1(x, y, n, [](float v) {
        return v * std::min(std::max(v + 3.0f, 0.0f), 6.0f) / 6.0f;
      });
  }
}

void naive_backward(ActivationSpec s, const float* x, const float* dy, float* dx, std::size_t n) {
  const float a = s.alpha;
  switch (s.kind) {
    case Activation::relu:
      return map2(x, dy, dx, n, [](float v, float d) { return v > 0.0f ? d : 0.0f; });
    case Activation::leaky_relu:
      return map2(x, dy, dx, n, [a](float v, float d) { return v > 0.0f ? d : a * d; });
    case Activation::elu:
      return chain(x, dy, dx, n, [a](float v) { return v > 0.0f ? 1.0f : a * std::exp(v); });
    case Activation::selu:
      return chain(x, dy, dx, n, [](float v) {
        return kSeluScale * (v > 0.0f ? 1.0f : kSeluAlpha * std::exp(v));
      });
    case Activation::gelu_erf:
      return chain(x, dy, dx, n, [](float v) {
        return 0.5f * (1.0f + std::erf(v * kSqrt1_2)) + v * kInvSqrt2Pi * std::exp(-0.5f * v * v);
      });
    case Activation::gelu_tanh:
      return chain(x, dy, dx, n, [](float v) {
        const float t = std::tanh(kGeluK * (v + kGeluC * v * v * v));
        return 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * kGeluK * (1.0f + 3.0f * kGeluC * v * v);
      });
    case Activation::sigmoid:
      return chain(x, dy, dx, n, [](float v) {
        const float y = naive_sigmoid(v);
        return y * (1.0f - y);
      });
    case Activation::tanh:
      return chain(x, dy, dx, n, [](float v) {
        const float t = std::tanh(v);
        return 1.0f - t * t;
      });
    case Activation::softplus: return chain(x, dy, dx, n, [](float v) { return naive_sigmoid(v); });
    case Activation::silu:
      return chain(x, dy, dx, n, [](float v) {
        const float y = naive_sigmoid(v);
        return y * (1.0f + v * (1.0f - y));
      });
    case Activation::mish:
      return chain(x, dy, dx, n, [](float v) {
        const float t = std::tanh(naive_softplus(v));
        return t + v * (1.0f - t * t) * naive_sigmoid(v);
      });
    case Activation::hardswish:
      return map2(x, dy, dx, n, [](float v, float d) {
        return v <= -3.0f ? 0.0f : v >= 3.0f ? d : d * (2.0f * v + 3.0f) / 6.0f;
      });
  }
}

// From the forward output y (the activations activation_has_output_backward accepts).
void naive_backward_y(ActivationSpec s, const float* y, const float* dy, float* dx,
                      std::size_t n) {
  const float a = s.alpha;
  switch (s.kind) {
    case Activation::relu:
      return map2(y, dy, dx, n, [](float v, float d) { return v > 0.0f ? d : 0.0f; });
    case Activation::leaky_relu:
      return map2(y, dy, dx, n, [a](float v, float d) { return v > 0.0f ? d : a * d; });
    case Activation::elu:
      return chain(y, dy, dx, n, [a](float v) { return v > 0.0f ? 1.0f : v + a; });
    case Activation::sigmoid: return chain(y, dy, dx, n, [](float v) { return v * (1.0f - v); });
    case Activation::tanh: return chain(y, dy, dx, n, [](float v) { return 1.0f - v * v; });
    default: return;
  }
}

// ------------------------------------------------------------------------------ cases
enum class Dir { fwd, bwd, bwd_y };
enum class Impl { simdgrad, onednn, naive };

const char* dir_name(Dir d) {
  return d == Dir::fwd ? "activation_fwd" : d == Dir::bwd ? "activation_bwd" : "activation_bwd_y";
}
const char* impl_name(Impl i) {
  return i == Impl::simdgrad ? "simdgrad" : i == Impl::onednn ? "onednn" : "naive";
}

void run_case(benchmark::State& st, ActivationSpec spec, Dir dir, Impl impl, std::size_t n) {
  Data& d = data_for(n);
  const float* x = d.x.get();
  float* y = d.y.get();
  const float* dy = d.dy.get();
  float* dx = d.dx.get();
  // The backward from y reads y = f(x) (computed here, outside the timing).
  if (dir == Dir::bwd_y) naive_forward(spec, x, y, n);
  const float* src = dir == Dir::bwd_y ? y : x;

  switch (impl) {
    case Impl::simdgrad:
      for (auto _ : st) {
        if (dir == Dir::fwd)
          simdgrad::activation_forward(spec, x, y, n);
        else if (dir == Dir::bwd)
          simdgrad::activation_backward(spec, x, dy, dx, n);
        else
          simdgrad::activation_backward_from_output(spec, y, dy, dx, n);
        benchmark::ClobberMemory();
      }
      break;
    case Impl::onednn: {
#if defined(SIMDGRAD_BENCH_ONEDNN)
      sgbench::OnednnEltwise e(*sgdnnl::algo_for(spec), n, x, y, dy, dx, dir == Dir::bwd_y);
      for (auto _ : st) {
        if (dir == Dir::fwd)
          e.forward();
        else
          e.backward();
        benchmark::ClobberMemory();
      }
#endif
      break;
    }
    case Impl::naive:
      for (auto _ : st) {
        if (dir == Dir::fwd)
          naive_forward(spec, x, y, n);
        else if (dir == Dir::bwd)
          naive_backward(spec, src, dy, dx, n);
        else
          naive_backward_y(spec, src, dy, dx, n);
        benchmark::ClobberMemory();
      }
      break;
  }
  const double arrays = dir == Dir::fwd ? 2.0 : 3.0;
  sgbench::set_rates(st, arrays * sizeof(float) * static_cast<double>(n), static_cast<double>(n));
}

bool has_impl(ActivationSpec spec, Dir dir, Impl impl) {
  if (dir == Dir::bwd_y && !simdgrad::activation_has_output_backward(spec)) return false;
  if (impl != Impl::onednn) return true;
#if defined(SIMDGRAD_BENCH_ONEDNN)
  const auto a = sgdnnl::algo_for(spec);
  return a.has_value() && (dir != Dir::bwd_y || a->has_bwd_from_y);
#else
  return false;
#endif
}

// Registered in the order family, algorithm, size, impl: the impls of one row run back to back,
// so that they see the same machine load.
const bool registered = [] {
  for (Dir dir : {Dir::fwd, Dir::bwd, Dir::bwd_y})
    for (int k = 0; k < simdgrad::kActivationCount; ++k) {
      const ActivationSpec spec(static_cast<Activation>(k));  // default alpha
      for (std::size_t n : kSizes)
        for (Impl impl : {Impl::simdgrad, Impl::onednn, Impl::naive}) {
          if (!has_impl(spec, dir, impl)) continue;
          const std::string name = std::string(dir_name(dir)) + "/" +
                                   simdgrad::activation_name(spec.kind) + "/" + impl_name(impl) +
                                   "/" + std::to_string(n);
          benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& st) {
            run_case(st, spec, dir, impl, n);
          });
        }
    }
  return true;
}();

}  // namespace
