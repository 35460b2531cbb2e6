// Random numbers, dropout and losses: simdgrad against naive loops (std::mt19937 with the
// std:: distributions, std::exp / std::log per element) and, where oneDNN 2.6 has the op
// (softmax, logsoftmax forward/backward), oneDNN.
//
//   random/bits/<impl>/<n>            n 32-bit words                  naive: mt19937()
//   random/uniform/<impl>/<n>         U[0, 1)                         naive: uniform_real_distribution<float>
//   random/normal/<impl>/<n>          N(0, 1)                         naive: normal_distribution<float>
//   random/trunc_normal/<impl>/<n>    N(0, 1) on [-2, 2]              naive: normal_distribution, redraw outside
//   random/kaiming_normal/<impl>/<n>  He init, fan_in 1024            naive: normal_distribution(0, std)
//   dropout/forward/<impl>/<n>        p = 0.5, y = x * mask * 2       naive: bernoulli_distribution, byte mask
//   dropout/forward_mask/<impl>/<n>   the same, also storing the keep bits
//   dropout/backward/<impl>/<n>       simdgrad regenerates the mask from (seed, offset); naive reads
//                                     its byte mask
//   dropout/backward_mask/<impl>/<n>  simdgrad from the stored bits
//   loss/softmax_fwd/<impl>/<rows>x<cols>, loss/logsoftmax_fwd, loss/softmax_bwd, loss/logsoftmax_bwd
//   loss/cross_entropy/<impl>/<rows>x<cols>   fused loss + gradient, label smoothing 0.1;
//                                     onednn: logsoftmax forward primitive + a plain loop for the
//                                     loss and gradient (what a framework over oneDNN does)
//   loss/bce/<impl>/<n>, loss/mse/<impl>/<n>   loss + gradient
// Naive loops run on one thread, compiled with the benchmark's flags (-O3, x86-64 baseline);
// simdgrad and oneDNN follow OMP_NUM_THREADS.
#include <benchmark/benchmark.h>
#include <simdgrad/loss.hpp>
#include <simdgrad/random.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "bench_util.hpp"
#if defined(SIMDGRAD_BENCH_ONEDNN)
#include "support/onednn_softmax.hpp"
#endif

namespace {

constexpr std::size_t kSizes[] = {4096, 262144, 4194304};
const std::pair<std::size_t, std::size_t> kShapes[] = {{64, 10}, {256, 1000}, {32, 32768}};

struct Data {
  sgbench::Buffer x, y, dy, dx;
  std::vector<std::uint8_t> bytes;
};
Data& data_for(std::size_t n) {
  static std::map<std::size_t, Data> cache;
  auto it = cache.find(n);
  if (it == cache.end()) {
    Data d{sgbench::make_buffer(n, -6.0f, 6.0f, 21), sgbench::make_buffer(n, 0.0f, 1.0f, 22),
           sgbench::make_buffer(n, -1.0f, 1.0f, 23), sgbench::make_buffer(n, 0.0f, 1.0f, 24),
           std::vector<std::uint8_t>(n)};
    it = cache.emplace(n, std::move(d)).first;
  }
  return it->second;
}

std::vector<std::int32_t>& targets_for(std::size_t rows, std::size_t cols) {
  static std::map<std::pair<std::size_t, std::size_t>, std::vector<std::int32_t>> cache;
  auto& t = cache[{rows, cols}];
  if (t.empty()) {
    std::mt19937 g(5);
    std::uniform_int_distribution<std::int32_t> d(0, static_cast<std::int32_t>(cols) - 1);
    t.resize(rows);
    for (auto& v : t) v = d(g);
  }
  return t;
}

// ------------------------------------------------------------------------------ random

enum class Rng { bits, uniform, normal, trunc, kaiming };
const char* rng_name(Rng r) {
  switch (r) {
    case Rng::bits: return "bits";
    case Rng::uniform: return "uniform";
    case Rng::normal: return "normal";
    case Rng::trunc: return "trunc_normal";
    case Rng::kaiming: return "kaiming_normal";
  }
  return "";
}

void rng_simdgrad(benchmark::State& st, Rng r, std::size_t n) {
  Data& d = data_for(n);
  float* out = d.y.get();
  auto* bits = reinterpret_cast<std::uint32_t*>(out);
  simdgrad::Generator g(1234);
  for (auto _ : st) {
    const simdgrad::RandomStream s = g.take(n);
    switch (r) {
      case Rng::bits: simdgrad::random_bits(s, bits, n); break;
      case Rng::uniform: simdgrad::random_uniform(s, out, n); break;
      case Rng::normal: simdgrad::random_normal(s, out, n); break;
      case Rng::trunc: simdgrad::trunc_normal(s, out, n); break;
      case Rng::kaiming: simdgrad::kaiming_normal(s, out, n, {1024, 1024}); break;
    }
    benchmark::ClobberMemory();
  }
  sgbench::set_rates(st, 4.0 * n, static_cast<double>(n));
}

void rng_naive(benchmark::State& st, Rng r, std::size_t n) {
  Data& d = data_for(n);
  float* out = d.y.get();
  auto* bits = reinterpret_cast<std::uint32_t*>(out);
  std::mt19937 g(1234);
  std::uniform_real_distribution<float> uni(0.0f, 1.0f);
  std::normal_distribution<float> nor(0.0f, 1.0f);
  std::normal_distribution<float> he(0.0f, std::sqrt(2.0f / 1024));
  for (auto _ : st) {
    switch (r) {
      case Rng::bits:
        for (std::size_t i = 0; i < n; ++i) bits[i] = static_cast<std::uint32_t>(g());
        break;
      case Rng::uniform:
        for (std::size_t i = 0; i < n; ++i) out[i] = uni(g);
        break;
      case Rng::normal:
        for (std::size_t i = 0; i < n; ++i) out[i] = nor(g);
        break;
      case Rng::trunc:
        for (std::size_t i = 0; i < n; ++i) {
          float z;
          do z = nor(g);
          while (z < -2.0f || z > 2.0f);
          out[i] = z;
        }
        break;
      case Rng::kaiming:
        for (std::size_t i = 0; i < n; ++i) out[i] = he(g);
        break;
    }
    benchmark::ClobberMemory();
  }
  sgbench::set_rates(st, 4.0 * n, static_cast<double>(n));
}

// ------------------------------------------------------------------------------ dropout

enum class Drop { forward, forward_mask, backward, backward_mask };
const char* drop_name(Drop c) {
  switch (c) {
    case Drop::forward: return "forward";
    case Drop::forward_mask: return "forward_mask";
    case Drop::backward: return "backward";
    case Drop::backward_mask: return "backward_mask";
  }
  return "";
}

void drop_simdgrad(benchmark::State& st, Drop c, std::size_t n) {
  Data& d = data_for(n);
  const float p = 0.5f;
  const simdgrad::RandomStream s{99, 0};
  std::vector<std::uint8_t> mask((n + 7) / 8);
  simdgrad::dropout_forward(s, p, d.x.get(), d.y.get(), n, mask.data());
  for (auto _ : st) {
    switch (c) {
      case Drop::forward: simdgrad::dropout_forward(s, p, d.x.get(), d.y.get(), n); break;
      case Drop::forward_mask:
        simdgrad::dropout_forward(s, p, d.x.get(), d.y.get(), n, mask.data());
        break;
      case Drop::backward: simdgrad::dropout_backward(s, p, d.dy.get(), d.dx.get(), n); break;
      case Drop::backward_mask:
        simdgrad::dropout_backward(mask.data(), p, d.dy.get(), d.dx.get(), n);
        break;
    }
    benchmark::ClobberMemory();
  }
  const bool m = c == Drop::forward_mask || c == Drop::backward_mask;
  sgbench::set_rates(st, 8.0 * n + (m ? n / 8.0 : 0.0), static_cast<double>(n));
}

// A user's loop: a Bernoulli byte mask from mt19937, then y = x * mask * scale; the backward
// reads the byte mask.
void drop_naive(benchmark::State& st, Drop c, std::size_t n) {
  Data& d = data_for(n);
  const float p = 0.5f, scale = 1.0f / (1.0f - p);
  std::mt19937 g(99);
  std::bernoulli_distribution keep(1.0 - p);
  std::uint8_t* m = d.bytes.data();
  const float* x = d.x.get();
  float* y = d.y.get();
  const float* dy = d.dy.get();
  float* dx = d.dx.get();
  for (std::size_t i = 0; i < n; ++i) m[i] = keep(g);
  for (auto _ : st) {
    if (c == Drop::forward) {
      for (std::size_t i = 0; i < n; ++i) m[i] = keep(g);
      for (std::size_t i = 0; i < n; ++i) y[i] = x[i] * m[i] * scale;
    } else {
      for (std::size_t i = 0; i < n; ++i) dx[i] = dy[i] * m[i] * scale;
    }
    benchmark::ClobberMemory();
  }
  sgbench::set_rates(st, 9.0 * n, static_cast<double>(n));
}

// ------------------------------------------------------------------------------ losses

enum class Loss { softmax_fwd, logsoftmax_fwd, softmax_bwd, logsoftmax_bwd, cross_entropy };
const char* loss_name(Loss l) {
  switch (l) {
    case Loss::softmax_fwd: return "softmax_fwd";
    case Loss::logsoftmax_fwd: return "logsoftmax_fwd";
    case Loss::softmax_bwd: return "softmax_bwd";
    case Loss::logsoftmax_bwd: return "logsoftmax_bwd";
    case Loss::cross_entropy: return "cross_entropy";
  }
  return "";
}
bool is_log(Loss l) { return l == Loss::logsoftmax_fwd || l == Loss::logsoftmax_bwd; }

void naive_log_softmax_row(const float* x, float* y, std::size_t c) {
  float m = x[0];
  for (std::size_t j = 1; j < c; ++j) m = x[j] > m ? x[j] : m;
  float s = 0;
  for (std::size_t j = 0; j < c; ++j) s += std::exp(x[j] - m);
  const float ls = std::log(s);
  for (std::size_t j = 0; j < c; ++j) y[j] = x[j] - m - ls;
}

void naive_rows(Loss l, const float* x, float* y, const float* dy, float* dx,
                const std::int32_t* t, std::size_t rows, std::size_t c, float* loss) {
  for (std::size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * c;
    float* yr = y + r * c;
    const float* gr = dy + r * c;
    float* dr = dx + r * c;
    switch (l) {
      case Loss::softmax_fwd: {
        float m = xr[0];
        for (std::size_t j = 1; j < c; ++j) m = xr[j] > m ? xr[j] : m;
        float s = 0;
        for (std::size_t j = 0; j < c; ++j) s += (yr[j] = std::exp(xr[j] - m));
        for (std::size_t j = 0; j < c; ++j) yr[j] /= s;
        break;
      }
      case Loss::logsoftmax_fwd: naive_log_softmax_row(xr, yr, c); break;
      case Loss::softmax_bwd: {
        float dot = 0;
        for (std::size_t j = 0; j < c; ++j) dot += gr[j] * yr[j];
        for (std::size_t j = 0; j < c; ++j) dr[j] = yr[j] * (gr[j] - dot);
        break;
      }
      case Loss::logsoftmax_bwd: {
        float s = 0;
        for (std::size_t j = 0; j < c; ++j) s += gr[j];
        for (std::size_t j = 0; j < c; ++j) dr[j] = gr[j] - std::exp(yr[j]) * s;
        break;
      }
      case Loss::cross_entropy: {
        // log-softmax, then PyTorch's smoothed loss and its gradient.
        const float eps = 0.1f, inv = 1.0f / rows;
        naive_log_softmax_row(xr, yr, c);
        float mean = 0;
        for (std::size_t j = 0; j < c; ++j) mean -= yr[j];
        *loss += ((1 - eps) * -yr[t[r]] + eps * mean / c) * inv;
        for (std::size_t j = 0; j < c; ++j) dr[j] = (std::exp(yr[j]) - eps / c) * inv;
        dr[t[r]] -= (1 - eps) * inv;
        break;
      }
    }
  }
}

void loss_simdgrad(benchmark::State& st, Loss l, std::size_t rows, std::size_t c) {
  const std::size_t n = rows * c;
  Data& d = data_for(n);
  const std::vector<std::int32_t>& t = targets_for(rows, c);
  if (l == Loss::softmax_bwd) simdgrad::softmax_forward(d.x.get(), d.y.get(), rows, c);
  if (l == Loss::logsoftmax_bwd) simdgrad::log_softmax_forward(d.x.get(), d.y.get(), rows, c);
  for (auto _ : st) {
    switch (l) {
      case Loss::softmax_fwd: simdgrad::softmax_forward(d.x.get(), d.y.get(), rows, c); break;
      case Loss::logsoftmax_fwd: simdgrad::log_softmax_forward(d.x.get(), d.y.get(), rows, c); break;
      case Loss::softmax_bwd:
        simdgrad::softmax_backward(d.y.get(), d.dy.get(), d.dx.get(), rows, c);
        break;
      case Loss::logsoftmax_bwd:
        simdgrad::log_softmax_backward(d.y.get(), d.dy.get(), d.dx.get(), rows, c);
        break;
      case Loss::cross_entropy:
        benchmark::DoNotOptimize(
            simdgrad::softmax_cross_entropy(d.x.get(), t.data(), rows, c, d.dx.get(), 0.1f));
        break;
    }
    benchmark::ClobberMemory();
  }
  const bool bwd = l == Loss::softmax_bwd || l == Loss::logsoftmax_bwd;
  sgbench::set_rates(st, (bwd ? 12.0 : 8.0) * n, static_cast<double>(n));
}

void loss_naive(benchmark::State& st, Loss l, std::size_t rows, std::size_t c) {
  const std::size_t n = rows * c;
  Data& d = data_for(n);
  const std::vector<std::int32_t>& t = targets_for(rows, c);
  std::vector<float> tmp(n);
  if (l == Loss::softmax_bwd) simdgrad::softmax_forward(d.x.get(), d.y.get(), rows, c);
  if (l == Loss::logsoftmax_bwd) simdgrad::log_softmax_forward(d.x.get(), d.y.get(), rows, c);
  float* y = l == Loss::cross_entropy ? tmp.data() : d.y.get();
  for (auto _ : st) {
    float loss = 0;
    naive_rows(l, d.x.get(), y, d.dy.get(), d.dx.get(), t.data(), rows, c, &loss);
    benchmark::DoNotOptimize(loss);
    benchmark::ClobberMemory();
  }
  const bool bwd = l == Loss::softmax_bwd || l == Loss::logsoftmax_bwd;
  sgbench::set_rates(st, (bwd ? 12.0 : 8.0) * n, static_cast<double>(n));
}

#if defined(SIMDGRAD_BENCH_ONEDNN)
void loss_onednn(benchmark::State& st, Loss l, std::size_t rows, std::size_t c) {
  const std::size_t n = rows * c;
  Data& d = data_for(n);
  const std::vector<std::int32_t>& t = targets_for(rows, c);
  const bool log = is_log(l) || l == Loss::cross_entropy;
  std::vector<float> lp(n);
  float* y = l == Loss::cross_entropy ? lp.data() : d.y.get();
  sgdnnl::Softmax sm(rows, c, log, d.x.get(), y, d.dy.get(), d.dx.get());
  sm.forward();
  const bool bwd = l == Loss::softmax_bwd || l == Loss::logsoftmax_bwd;
  for (auto _ : st) {
    if (bwd) {
      sm.backward();
    } else {
      sm.forward();
    }
    if (l == Loss::cross_entropy) {
      const float eps = 0.1f, inv = 1.0f / rows;
      float loss = 0;
      for (std::size_t r = 0; r < rows; ++r) {
        const float* yr = y + r * c;
        float* dr = d.dx.get() + r * c;
        float mean = 0;
        for (std::size_t j = 0; j < c; ++j) mean -= yr[j];
        loss += ((1 - eps) * -yr[t[r]] + eps * mean / c) * inv;
        for (std::size_t j = 0; j < c; ++j) dr[j] = (std::exp(yr[j]) - eps / c) * inv;
        dr[t[r]] -= (1 - eps) * inv;
      }
      benchmark::DoNotOptimize(loss);
    }
    benchmark::ClobberMemory();
  }
  sgbench::set_rates(st, (bwd ? 12.0 : 8.0) * n, static_cast<double>(n));
}
#endif

enum class Elem { bce, mse };
void elem_simdgrad(benchmark::State& st, Elem e, std::size_t n) {
  Data& d = data_for(n);
  for (auto _ : st) {
    if (e == Elem::bce)
      benchmark::DoNotOptimize(simdgrad::bce_with_logits(d.x.get(), d.y.get(), n, d.dx.get()));
    else
      benchmark::DoNotOptimize(simdgrad::mse(d.x.get(), d.y.get(), n, d.dx.get()));
    benchmark::ClobberMemory();
  }
  sgbench::set_rates(st, 12.0 * n, static_cast<double>(n));
}
void elem_naive(benchmark::State& st, Elem e, std::size_t n) {
  Data& d = data_for(n);
  const float* x = d.x.get();
  const float* y = d.y.get();
  float* dx = d.dx.get();
  const float inv = 1.0f / n;
  for (auto _ : st) {
    double loss = 0;
    if (e == Elem::bce) {
      for (std::size_t i = 0; i < n; ++i) {
        const float ax = std::fabs(x[i]), ex = std::exp(-ax);
        loss += std::max(x[i], 0.0f) - x[i] * y[i] + std::log1p(ex);
        const float sig = x[i] >= 0 ? 1 / (1 + ex) : ex / (1 + ex);
        dx[i] = (sig - y[i]) * inv;
      }
    } else {
      for (std::size_t i = 0; i < n; ++i) {
        const float df = x[i] - y[i];
        loss += df * df;
        dx[i] = 2 * df * inv;
      }
    }
    benchmark::DoNotOptimize(loss);
    benchmark::ClobberMemory();
  }
  sgbench::set_rates(st, 12.0 * n, static_cast<double>(n));
}

const bool registered = [] {
  auto reg = [](const std::string& name, auto fn) {
    benchmark::RegisterBenchmark(name.c_str(), fn)->UseRealTime();
  };
  for (Rng r : {Rng::bits, Rng::uniform, Rng::normal, Rng::trunc, Rng::kaiming})
    for (std::size_t n : kSizes) {
      const std::string tail = "/" + std::to_string(n);
      reg(std::string("random/") + rng_name(r) + "/simdgrad" + tail,
          [=](benchmark::State& st) { rng_simdgrad(st, r, n); });
      reg(std::string("random/") + rng_name(r) + "/naive" + tail,
          [=](benchmark::State& st) { rng_naive(st, r, n); });
    }
  for (Drop c : {Drop::forward, Drop::forward_mask, Drop::backward, Drop::backward_mask})
    for (std::size_t n : kSizes) {
      const std::string tail = "/" + std::to_string(n);
      reg(std::string("dropout/") + drop_name(c) + "/simdgrad" + tail,
          [=](benchmark::State& st) { drop_simdgrad(st, c, n); });
      if (c == Drop::forward || c == Drop::backward)
        reg(std::string("dropout/") + drop_name(c) + "/naive" + tail,
            [=](benchmark::State& st) { drop_naive(st, c, n); });
    }
  for (Loss l : {Loss::softmax_fwd, Loss::logsoftmax_fwd, Loss::softmax_bwd, Loss::logsoftmax_bwd,
                 Loss::cross_entropy})
    for (auto [rows, c] : kShapes) {
      const std::string tail = "/" + std::to_string(rows) + "x" + std::to_string(c);
      reg(std::string("loss/") + loss_name(l) + "/simdgrad" + tail,
          [=](benchmark::State& st) { loss_simdgrad(st, l, rows, c); });
#if defined(SIMDGRAD_BENCH_ONEDNN)
      reg(std::string("loss/") + loss_name(l) + "/onednn" + tail,
          [=](benchmark::State& st) { loss_onednn(st, l, rows, c); });
#endif
      reg(std::string("loss/") + loss_name(l) + "/naive" + tail,
          [=](benchmark::State& st) { loss_naive(st, l, rows, c); });
    }
  for (Elem e : {Elem::bce, Elem::mse})
    for (std::size_t n : kSizes) {
      const std::string base = std::string("loss/") + (e == Elem::bce ? "bce" : "mse");
      reg(base + "/simdgrad/" + std::to_string(n), [=](benchmark::State& st) { elem_simdgrad(st, e, n); });
      reg(base + "/naive/" + std::to_string(n), [=](benchmark::State& st) { elem_naive(st, e, n); });
    }
  return true;
}();

}  // namespace
