// Optimizer steps, gradient norms / clipping and gradient health: simdgrad against a naive loop.
//
//   optimizer/<rule>/<impl>/<elements>/<tensors>     one step over <elements> floats split into
//                                                     <tensors> tensors of uneven, odd sizes
//   clip_norm/<l1|l2|linf>/<impl>/<elements>/<tensors>      the total norm (grad_norm)
//   clip_norm/l2_clip/<impl>/<elements>/<tensors>           clip_grad_norm, clipping active
//   grad_health/all/<impl>/<elements>/<tensors>             every statistic, per tensor and total
//   clip_adam/fused/simdgrad/<elements>/<tensors>           grad_norm + adam_step(grad_scale = c)
//   clip_adam/clip_then_step/simdgrad/<elements>/<tensors>  clip_grad_norm + adam_step
//
// <rule>: sgd, sgd_momentum, adam, adamw, adam_amsgrad, rmsprop, rmsprop_centered, adagrad, lamb.
// <impl>: simdgrad, or naive: the textbook per-element loop in plain C++ (float arithmetic,
// std::sqrt), compiled with this executable's flags: -O3 for the x86-64 baseline (SSE2), with
// GCC's default -fmath-errno, so loops containing std::sqrt stay scalar (SGD's loops vectorize).
// With more than one thread (OMP_NUM_THREADS) the naive loop is an `omp parallel for` over each
// tensor of at least 64Ki elements.
//
// bytes_per_second counts the bytes each rule must move per element (param, grad, state read;
// param, state written): sgd 12, sgd_momentum 20, adam/adamw 28, adam_amsgrad 36, rmsprop 20,
// rmsprop_centered 28, adagrad 20, lamb 40 (its two passes: LAMB needs each tensor's update
// norm before it can write), norms and health 4, l2_clip 12 (norm pass + scaling pass). Both
// clip_adam cases count 32 (a norm pass and an Adam step, the fused minimum), so their
// bytes_per_second compare as their speeds do. stream/triad in bench_stream.cpp is the
// bandwidth reference of the same run. The state is read (steps > 1); every case starts from
// the same param and state values.
#include <benchmark/benchmark.h>
#include <omp.h>
#include <simdgrad/simdgrad.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "bench_util.hpp"

namespace {

constexpr std::size_t kSizes[] = {std::size_t{1} << 20, std::size_t{1} << 24};
constexpr std::size_t kTensorCounts[] = {1, 100};
constexpr std::size_t kNaiveParallelFrom = std::size_t{1} << 16;

/// The streams of the largest size (param, grad, three states), made once and shared by every
/// case so that 1 and 100 tensors run on the same memory. Each case starts from the same values:
/// its setup copies the pristine param and state over the working ones (outside the timing), so
/// that no case inherits another's state (nor denormals). The clipping cases write their own
/// gradient copy, `clipped`, never `grad`.
struct Pool {
  static constexpr std::size_t kMax = std::size_t{1} << 24;
  sgbench::Buffer param0 = sgbench::make_buffer(kMax, -1.0f, 1.0f, 31);
  sgbench::Buffer grad = sgbench::make_buffer(kMax, -1.0f, 1.0f, 32);
  sgbench::Buffer s00 = sgbench::make_buffer(kMax, -0.1f, 0.1f, 33);
  sgbench::Buffer s10 = sgbench::make_buffer(kMax, 0.0f, 1.0f, 34);
  sgbench::Buffer s20 = sgbench::make_buffer(kMax, 0.5f, 1.0f, 35);
  sgbench::Buffer param = copy(param0), s0 = copy(s00), s1 = copy(s10), s2 = copy(s20);
  sgbench::Buffer clipped = copy(grad);
  static Pool& get() {
    static Pool p;
    return p;
  }
  /// Restores the first n elements of param, state and the clipping gradient.
  void reset(std::size_t n) {
    const std::size_t b = n * sizeof(float);
    std::memcpy(param.get(), param0.get(), b);
    std::memcpy(s0.get(), s00.get(), b);
    std::memcpy(s1.get(), s10.get(), b);
    std::memcpy(s2.get(), s20.get(), b);
    std::memcpy(clipped.get(), grad.get(), b);
  }

 private:
  static sgbench::Buffer copy(const sgbench::Buffer& from) {
    sgbench::Buffer b(static_cast<float*>(std::aligned_alloc(64, kMax * sizeof(float) + 64)));
    std::memcpy(b.get(), from.get(), kMax * sizeof(float));
    return b;
  }
};

/// Offsets and sizes of `count` tensors covering [0, total): uneven, mostly odd sizes.
struct Split {
  std::vector<std::size_t> off, len;
  Split(std::size_t total, std::size_t count) {
    std::vector<double> w(count);
    double sum = 0;
    for (std::size_t i = 0; i < count; ++i) sum += (w[i] = 1.0 + static_cast<double>(i % 7));
    std::size_t at = 0;
    for (std::size_t i = 0; i < count; ++i) {
      std::size_t n = i + 1 == count ? total - at
                                     : static_cast<std::size_t>(static_cast<double>(total) * w[i] / sum) | 1;
      off.push_back(at);
      len.push_back(n);
      at += n;
    }
  }
};

int bench_threads() { return simdgrad::num_threads(); }

/// Threads for a naive loop over one tensor: forked per tensor when the tensor is large.
int naive_threads(std::size_t n) {
  const int t = bench_threads();
  return (t > 1 && n >= kNaiveParallelFrom) ? t : 1;
}

// ------------------------------------------------------------------------ naive rules
// Plain loops over local pointers, one branch-free loop per variant, as a straightforward
// implementation is written (GCC vectorizes them wherever its flags allow: those without sqrt
// always, the others only with -fno-math-errno).

struct NaiveArgs {
  float* p;
  const float* g;
  float* s0;
  float* s1;
  float* s2;
  std::size_t n;
};

#define SG_NAIVE_LOOP(args)                                                            \
  float* p = (args).p;                                                                  \
  const float* g = (args).g;                                                            \
  float* s0 = (args).s0;                                                                \
  float* s1 = (args).s1;                                                                \
  float* s2 = (args).s2;                                                                \
  (void)s0, (void)s1, (void)s2;                                                         \
  const long long n = static_cast<long long>((args).n);                                 \
  const int nt = naive_threads((args).n);                                               \
  _Pragma("omp parallel for num_threads(nt) schedule(static) if (nt > 1)") for (long long i = 0; i < n; ++i)

__attribute__((noinline)) void naive_sgd(const NaiveArgs& a, float lr) {
  SG_NAIVE_LOOP(a) { p[i] -= lr * g[i]; }
}
__attribute__((noinline)) void naive_sgd_momentum(const NaiveArgs& a, float lr, float mom) {
  SG_NAIVE_LOOP(a) {
    s0[i] = mom * s0[i] + g[i];
    p[i] -= lr * s0[i];
  }
}
template <bool AdamW, bool Ams>
__attribute__((noinline)) void naive_adam(const NaiveArgs& a, float lr, float b1, float b2,
                                          float eps, float wd, std::int64_t step) {
  const float bc1 = 1.0f - std::pow(b1, static_cast<float>(step));
  const float bc2 = 1.0f - std::pow(b2, static_cast<float>(step));
  SG_NAIVE_LOOP(a) {
    const float gi = g[i];
    if constexpr (AdamW) p[i] *= 1.0f - lr * wd;
    s0[i] = b1 * s0[i] + (1.0f - b1) * gi;
    s1[i] = b2 * s1[i] + (1.0f - b2) * gi * gi;
    float v = s1[i];
    if constexpr (Ams) {
      s2[i] = std::max(s2[i], v);
      v = s2[i];
    }
    p[i] -= lr * (s0[i] / bc1) / (std::sqrt(v / bc2) + eps);
  }
}
/// s0 = square_avg, s2 = grad_avg.
template <bool Centered>
__attribute__((noinline)) void naive_rmsprop(const NaiveArgs& a, float lr, float alpha, float eps,
                                             float sign) {
  SG_NAIVE_LOOP(a) {
    const float gi = sign * g[i];
    s0[i] = alpha * s0[i] + (1.0f - alpha) * gi * gi;
    float avg;
    if constexpr (Centered) {
      s2[i] = alpha * s2[i] + (1.0f - alpha) * gi;
      avg = std::sqrt(s0[i] - s2[i] * s2[i]) + eps;
    } else {
      avg = std::sqrt(s0[i]) + eps;
    }
    p[i] -= lr * gi / avg;
  }
}
__attribute__((noinline)) void naive_adagrad(const NaiveArgs& a, float lr, float eps) {
  SG_NAIVE_LOOP(a) {
    const float gi = g[i];
    s0[i] += gi * gi;
    p[i] -= lr * gi / (std::sqrt(s0[i]) + eps);
  }
}
__attribute__((noinline)) void naive_lamb(const NaiveArgs& a, float lr, float b1, float b2,
                                          float eps, float wd, std::int64_t step) {
  const float bc1 = 1.0f - std::pow(b1, static_cast<float>(step));
  const float bc2 = 1.0f - std::pow(b2, static_cast<float>(step));
  double pn = 0, un = 0;
  for (std::size_t i = 0; i < a.n; ++i) {
    const float g = a.g[i];
    a.s0[i] = b1 * a.s0[i] + (1.0f - b1) * g;
    a.s1[i] = b2 * a.s1[i] + (1.0f - b2) * g * g;
    const float u = (a.s0[i] / bc1) / (std::sqrt(a.s1[i] / bc2) + eps) + wd * a.p[i];
    pn += static_cast<double>(a.p[i]) * a.p[i];
    un += static_cast<double>(u) * u;
  }
  const double r = (pn > 0 && un > 0) ? std::sqrt(pn) / std::sqrt(un) : 1.0;
  const float step_lr = static_cast<float>(lr * r);
  SG_NAIVE_LOOP(a) {
    const float u = (s0[i] / bc1) / (std::sqrt(s1[i] / bc2) + eps) + wd * p[i];
    p[i] -= step_lr * u;
  }
  (void)g;
}

// ------------------------------------------------------------------------------ rules

enum class Rule { sgd, sgd_momentum, adam, adamw, adam_amsgrad, rmsprop, rmsprop_centered, adagrad, lamb };
struct RuleInfo {
  Rule rule;
  const char* name;
  double bytes;
};
const RuleInfo kRules[] = {
    {Rule::sgd, "sgd", 12},          {Rule::sgd_momentum, "sgd_momentum", 20},
    {Rule::adam, "adam", 28},        {Rule::adamw, "adamw", 28},
    {Rule::adam_amsgrad, "adam_amsgrad", 36}, {Rule::rmsprop, "rmsprop", 20},
    {Rule::rmsprop_centered, "rmsprop_centered", 28}, {Rule::adagrad, "adagrad", 20},
    {Rule::lamb, "lamb", 40},
};

/// The simdgrad step of a rule over a split, as a closure built once (the tensor lists).
struct SimdgradRule {
  std::vector<simdgrad::SgdTensor> sgd;
  std::vector<simdgrad::AdamTensor> adam;
  std::vector<simdgrad::RmspropTensor> rms;
  std::vector<simdgrad::AdagradTensor> ada;
  Rule rule;
  SimdgradRule(Rule r, const Split& sp, const float* grad = nullptr) : rule(r) {
    Pool& m = Pool::get();
    if (!grad) grad = m.grad.get();
    for (std::size_t i = 0; i < sp.off.size(); ++i) {
      const std::size_t o = sp.off[i], n = sp.len[i];
      float* p = m.param.get() + o;
      const float* g = grad + o;
      float *a = m.s0.get() + o, *b = m.s1.get() + o, *c = m.s2.get() + o;
      sgd.push_back({p, g, a, n});
      adam.push_back({p, g, a, b, c, n});
      rms.push_back({p, g, b, c, a, n});  // square_avg >= 0, grad_avg small
      ada.push_back({p, g, b, n});
    }
  }
  void step(std::int64_t k, float scale = 1.0f) {
    switch (rule) {
      case Rule::sgd: {
        simdgrad::SgdParams hp;
        hp.lr = 1e-3f;
        simdgrad::sgd_step(hp, sgd.data(), sgd.size(), k, scale);
        break;
      }
      case Rule::sgd_momentum: {
        simdgrad::SgdParams hp;
        hp.lr = 1e-3f;
        hp.momentum = 0.9f;
        simdgrad::sgd_step(hp, sgd.data(), sgd.size(), k, scale);
        break;
      }
      case Rule::adam:
      case Rule::adamw:
      case Rule::adam_amsgrad: {
        simdgrad::AdamParams hp = rule == Rule::adamw ? simdgrad::adamw_params() : simdgrad::AdamParams{};
        hp.amsgrad = rule == Rule::adam_amsgrad;
        simdgrad::adam_step(hp, adam.data(), adam.size(), k, scale);
        break;
      }
      case Rule::rmsprop:
      case Rule::rmsprop_centered: {
        simdgrad::RmspropParams hp;
        hp.centered = rule == Rule::rmsprop_centered;
        // Centered: the gradient's sign alternates from step to step (maximize), so that with
        // the benchmark's fixed gradient the variance square_avg - grad_avg^2 stays positive.
        hp.maximize = hp.centered && k % 2;
        simdgrad::rmsprop_step(hp, rms.data(), rms.size(), k, scale);
        break;
      }
      case Rule::adagrad:
        simdgrad::adagrad_step(simdgrad::AdagradParams{}, ada.data(), ada.size(), k, scale);
        break;
      case Rule::lamb:
        simdgrad::lamb_step(simdgrad::LambParams{}, adam.data(), adam.size(), k, scale);
        break;
    }
  }
};

void naive_step(Rule rule, const Split& sp, std::int64_t k) {
  Pool& m = Pool::get();
  for (std::size_t i = 0; i < sp.off.size(); ++i) {
    const std::size_t o = sp.off[i];
    const NaiveArgs a{m.param.get() + o, m.grad.get() + o, m.s0.get() + o, m.s1.get() + o,
                      m.s2.get() + o, sp.len[i]};
    switch (rule) {
      case Rule::sgd: naive_sgd(a, 1e-3f); break;
      case Rule::sgd_momentum: naive_sgd_momentum(a, 1e-3f, 0.9f); break;
      case Rule::adam: naive_adam<false, false>(a, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, k); break;
      case Rule::adamw: naive_adam<true, false>(a, 1e-3f, 0.9f, 0.999f, 1e-8f, 1e-2f, k); break;
      case Rule::adam_amsgrad:
        naive_adam<false, true>(a, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, k);
        break;
      case Rule::rmsprop: {
        NaiveArgs b = a;
        b.s0 = a.s1;  // square_avg in s1 (>= 0), as the simdgrad case
        naive_rmsprop<false>(b, 1e-2f, 0.99f, 1e-8f, 1.0f);
        break;
      }
      case Rule::rmsprop_centered: {
        NaiveArgs b = a;
        b.s0 = a.s1;  // square_avg
        b.s2 = a.s0;  // grad_avg
        naive_rmsprop<true>(b, 1e-2f, 0.99f, 1e-8f, k % 2 ? -1.0f : 1.0f);
        break;
      }
      case Rule::adagrad: {
        NaiveArgs b = a;
        b.s0 = a.s1;
        naive_adagrad(b, 1e-2f, 1e-10f);
        break;
      }
      case Rule::lamb: naive_lamb(a, 1e-3f, 0.9f, 0.999f, 1e-6f, 0.01f, k); break;
    }
  }
}

void bm_optimizer(benchmark::State& st, RuleInfo r, bool naive, std::size_t n, std::size_t t) {
  Pool::get().reset(n);
  const Split sp(n, t);
  SimdgradRule sg(r.rule, sp);
  std::int64_t k = 2;
  for (auto _ : st) {
    if (naive) naive_step(r.rule, sp, k);
    else sg.step(k);
    ++k;
    benchmark::ClobberMemory();
  }
  sgbench::set_rates(st, r.bytes * static_cast<double>(n), static_cast<double>(n));
}

// --------------------------------------------------------------------- norms and health

std::vector<simdgrad::ConstTensorView> const_views(const Split& sp, const float* g) {
  std::vector<simdgrad::ConstTensorView> v;
  for (std::size_t i = 0; i < sp.off.size(); ++i) v.push_back({g + sp.off[i], sp.len[i]});
  return v;
}
std::vector<simdgrad::TensorView> views(const Split& sp, float* g) {
  std::vector<simdgrad::TensorView> v;
  for (std::size_t i = 0; i < sp.off.size(); ++i) v.push_back({g + sp.off[i], sp.len[i]});
  return v;
}

__attribute__((noinline)) double naive_norm(const std::vector<simdgrad::ConstTensorView>& v,
                                            simdgrad::Norm norm) {
  double total = 0;
  for (const auto& t : v) {
    double acc = 0;
    for (std::size_t i = 0; i < t.n; ++i) {
      const double a = std::fabs(static_cast<double>(t.data[i]));
      if (norm == simdgrad::Norm::l1) acc += a;
      else if (norm == simdgrad::Norm::l2) acc += a * a;
      else acc = std::max(acc, a);
    }
    total = norm == simdgrad::Norm::linf ? std::max(total, acc) : total + acc;
  }
  return norm == simdgrad::Norm::l2 ? std::sqrt(total) : total;
}

__attribute__((noinline)) double naive_clip(const std::vector<simdgrad::TensorView>& v,
                                            float max_norm) {
  double total = 0;
  for (const auto& t : v)
    for (std::size_t i = 0; i < t.n; ++i) total += static_cast<double>(t.data[i]) * t.data[i];
  total = std::sqrt(total);
  const double c = max_norm / (total + 1e-6);
  if (c < 1) {
    const float cf = static_cast<float>(c);
    for (const auto& t : v) {
      float* x = t.data;
      const long long n = static_cast<long long>(t.n);
      const int nt = naive_threads(t.n);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
      for (long long i = 0; i < n; ++i) x[i] *= cf;
    }
  }
  return total;
}

__attribute__((noinline)) simdgrad::GradHealth naive_health(
    const std::vector<simdgrad::ConstTensorView>& v, float thr,
    std::vector<simdgrad::GradHealth>& per) {
  simdgrad::GradHealth all;
  double all_sq = 0, all_abs = 0;
  for (std::size_t k = 0; k < v.size(); ++k) {
    simdgrad::GradHealth h;
    double sq = 0, ab = 0;
    for (std::size_t i = 0; i < v[k].n; ++i) {
      const float g = v[k].data[i];
      const float a = std::fabs(g);
      sq += static_cast<double>(g) * g;
      ab += a;
      if (std::isnan(g)) ++h.nan_count;
      else h.max_abs = std::max(h.max_abs, a);
      if (std::isinf(g)) ++h.inf_count;
      if (a < thr) ++h.below_count;
    }
    h.count = v[k].n;
    h.l2_norm = std::sqrt(sq);
    h.mean_abs = h.count ? ab / static_cast<double>(h.count) : 0.0;
    per[k] = h;
    all_sq += sq;
    all_abs += ab;
    all.count += h.count;
    all.nan_count += h.nan_count;
    all.inf_count += h.inf_count;
    all.below_count += h.below_count;
    all.max_abs = std::max(all.max_abs, h.max_abs);
  }
  all.l2_norm = std::sqrt(all_sq);
  all.mean_abs = all_abs / static_cast<double>(all.count);
  return all;
}

void bm_norm(benchmark::State& st, simdgrad::Norm norm, bool naive, std::size_t n, std::size_t t) {
  const Split sp(n, t);
  const auto v = const_views(sp, Pool::get().grad.get());
  for (auto _ : st) {
    double r = naive ? naive_norm(v, norm) : simdgrad::grad_norm(v.data(), v.size(), norm);
    benchmark::DoNotOptimize(r);
  }
  sgbench::set_rates(st, 4.0 * static_cast<double>(n), static_cast<double>(n));
}

/// Half the norm of the pristine gradient.
float half_norm(const Split& sp) {
  const auto cv = const_views(sp, Pool::get().grad.get());
  return static_cast<float>(0.5 * simdgrad::grad_norm(cv.data(), cv.size()));
}

/// max_norm for the next clip_grad_norm on a gradient that is rewritten each time: 0.999 of the
/// previous max_norm (the norm the last clip left), so that every call really clips (scales by
/// ~0.999) and the gradient stays far from denormals for the few thousand calls of a run.
struct ClipSchedule {
  float max_norm;
  float next() { return max_norm *= 0.999f; }
};

void bm_clip(benchmark::State& st, bool naive, std::size_t n, std::size_t t) {
  Pool::get().reset(n);
  const Split sp(n, t);
  auto v = views(sp, Pool::get().clipped.get());
  ClipSchedule sched{2.0f * half_norm(sp)};
  for (auto _ : st) {
    const float max_norm = sched.next();
    double r = naive ? naive_clip(v, max_norm)
                     : simdgrad::clip_grad_norm(v.data(), v.size(), max_norm);
    benchmark::DoNotOptimize(r);
    benchmark::ClobberMemory();
  }
  sgbench::set_rates(st, 12.0 * static_cast<double>(n), static_cast<double>(n));
}

void bm_health(benchmark::State& st, bool naive, std::size_t n, std::size_t t) {
  const Split sp(n, t);
  const auto v = const_views(sp, Pool::get().grad.get());
  std::vector<simdgrad::GradHealth> per(v.size());
  for (auto _ : st) {
    simdgrad::GradHealth h = naive ? naive_health(v, 1e-3f, per)
                                   : simdgrad::grad_health(v.data(), v.size(), 1e-3f, per.data(),
                                                           per.size());
    benchmark::DoNotOptimize(h);
    benchmark::ClobberMemory();
  }
  sgbench::set_rates(st, 4.0 * static_cast<double>(n), static_cast<double>(n));
}

void bm_clip_adam(benchmark::State& st, bool fused, std::size_t n, std::size_t t) {
  Pool::get().reset(n);
  const Split sp(n, t);
  // Both cases step on the clipping copy of the gradient (the fused one only reads it).
  SimdgradRule sg(Rule::adam, sp, Pool::get().clipped.get());
  auto v = views(sp, Pool::get().clipped.get());
  const auto cv = const_views(sp, Pool::get().clipped.get());
  // Fused: the gradient is not written, clipping by half its norm each step. Clip then step:
  // clip_grad_norm rescales the gradient each step (ClipSchedule keeps it clipping).
  const float max_norm = half_norm(sp);
  ClipSchedule sched{2.0f * max_norm};
  std::int64_t k = 2;
  for (auto _ : st) {
    if (fused) {
      const double tn = simdgrad::grad_norm(cv.data(), cv.size());
      sg.step(k, simdgrad::clip_coefficient(tn, max_norm));
    } else {
      simdgrad::clip_grad_norm(v.data(), v.size(), sched.next());
      sg.step(k);
    }
    ++k;
    benchmark::ClobberMemory();
  }
  sgbench::set_rates(st, 32.0 * static_cast<double>(n), static_cast<double>(n));
}

std::string args(std::size_t n, std::size_t t) {
  return std::to_string(n) + "/" + std::to_string(t);
}

const bool registered = [] {
  for (std::size_t n : kSizes)
    for (std::size_t t : kTensorCounts) {
      for (const RuleInfo& r : kRules)
        for (bool naive : {false, true})
          benchmark::RegisterBenchmark(
              (std::string("optimizer/") + r.name + (naive ? "/naive/" : "/simdgrad/") + args(n, t))
                  .c_str(),
              [=](benchmark::State& st) { bm_optimizer(st, r, naive, n, t); })
              ->UseRealTime();
      const std::pair<simdgrad::Norm, const char*> norms[] = {
          {simdgrad::Norm::l1, "l1"}, {simdgrad::Norm::l2, "l2"}, {simdgrad::Norm::linf, "linf"}};
      for (auto [norm, name] : norms)
        for (bool naive : {false, true})
          benchmark::RegisterBenchmark((std::string("clip_norm/") + name +
                                        (naive ? "/naive/" : "/simdgrad/") + args(n, t))
                                           .c_str(),
                                       [=](benchmark::State& st) { bm_norm(st, norm, naive, n, t); })
              ->UseRealTime();
      for (bool naive : {false, true})
        benchmark::RegisterBenchmark(
            (std::string("clip_norm/l2_clip/") + (naive ? "naive/" : "simdgrad/") + args(n, t))
                .c_str(),
            [=](benchmark::State& st) { bm_clip(st, naive, n, t); })
            ->UseRealTime();
      for (bool naive : {false, true})
        benchmark::RegisterBenchmark(
            (std::string("grad_health/all/") + (naive ? "naive/" : "simdgrad/") + args(n, t))
                .c_str(),
            [=](benchmark::State& st) { bm_health(st, naive, n, t); })
            ->UseRealTime();
      for (bool fused : {true, false})
        benchmark::RegisterBenchmark((std::string("clip_adam/") +
                                      (fused ? "fused" : "clip_then_step") + "/simdgrad/" +
                                      args(n, t))
                                         .c_str(),
                                     [=](benchmark::State& st) { bm_clip_adam(st, fused, n, t); })
            ->UseRealTime();
    }
  return true;
}();

}  // namespace
