// Batch-normalization benchmarks: simdgrad against oneDNN's batch_normalization and naive loops.
//
//   batchnorm_fwd_train/<layout>/<impl>/<N>/<C>/<H>/<W>   bytes = 8n  (read x, write y)
//   batchnorm_fwd_infer/<layout>/<impl>/<N>/<C>/<H>/<W>   bytes = 8n  (read x, write y)
//   batchnorm_bwd/<layout>/<impl>/<N>/<C>/<H>/<W>         bytes = 12n (read x and dy, write dx)
// n = N*C*H*W; bytes count each tensor once (oneDNN's convention in the figures), not
// the passes a kernel makes. Shapes: 32x64x56x56 (nchw, nhwc), 256x1024 (nc, H = W = 1),
// 32x512x7x7 (nchw, nhwc). use_scale and use_shift, no ReLU; simdgrad's forward training also
// updates running statistics (momentum 0.1), which oneDNN does not have.
// impl: simdgrad; onednn (primitives and memory objects created outside the timed loop); naive
// (the plain loops below: two-pass statistics in double, then the normalization; backward one
// pass for the two sums, one for dx; compiled with the benchmark's flags, Release -O3, x86-64
// baseline; one thread). simdgrad and oneDNN follow OMP_NUM_THREADS.
#include <benchmark/benchmark.h>
#include <simdgrad/batchnorm.hpp>

#include <cmath>
#include <cstddef>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "bench_util.hpp"
#if defined(SIMDGRAD_BENCH_ONEDNN)
#include "support/onednn_batchnorm.hpp"
#endif

namespace {

using simdgrad::BatchNormDesc;
using simdgrad::BatchNormLayout;

struct Shape {
  BatchNormLayout layout;
  std::size_t n, c, h, w;
};
constexpr Shape kShapes[] = {{BatchNormLayout::nchw, 32, 64, 56, 56},
                             {BatchNormLayout::nhwc, 32, 64, 56, 56},
                             {BatchNormLayout::nc, 256, 1024, 1, 1},
                             {BatchNormLayout::nchw, 32, 512, 7, 7},
                             {BatchNormLayout::nhwc, 32, 512, 7, 7}};

const char* layout_name(BatchNormLayout l) {
  return l == BatchNormLayout::nchw ? "nchw" : l == BatchNormLayout::nhwc ? "nhwc" : "nc";
}

BatchNormDesc desc_of(const Shape& s) {
  BatchNormDesc d;
  d.layout = s.layout, d.n = s.n, d.c = s.c, d.h = s.h, d.w = s.w;
  return d;
}

// ------------------------------------------------------------------------------------ data
struct Data {
  std::size_t n = 0;
  sgbench::Buffer x, y, dy, dx, gamma, beta, mean, var, invstd, rmean, rvar, dgamma, dbeta;
};

Data& data_for(const Shape& s) {
  static std::map<std::tuple<int, std::size_t, std::size_t, std::size_t, std::size_t>, Data> cache;
  const auto key = std::make_tuple(static_cast<int>(s.layout), s.n, s.c, s.h, s.w);
  auto it = cache.find(key);
  if (it == cache.end()) {
    const std::size_t n = s.n * s.c * s.h * s.w, c = s.c;
    Data d;
    d.n = n;
    d.x = sgbench::make_buffer(n, -2.0f, 3.0f, 31);
    d.y = sgbench::make_buffer(n, 0.0f, 1.0f, 32);
    d.dy = sgbench::make_buffer(n, -1.0f, 1.0f, 33);
    d.dx = sgbench::make_buffer(n, 0.0f, 1.0f, 34);
    d.gamma = sgbench::make_buffer(c, 0.5f, 2.0f, 35);
    d.beta = sgbench::make_buffer(c, -1.0f, 1.0f, 36);
    d.mean = sgbench::make_buffer(c, 0.4f, 0.6f, 37);
    d.var = sgbench::make_buffer(c, 1.9f, 2.2f, 38);
    d.invstd = sgbench::make_buffer(c, 0.6f, 0.8f, 39);
    d.rmean = sgbench::make_buffer(c, 0.0f, 0.1f, 40);
    d.rvar = sgbench::make_buffer(c, 1.0f, 1.1f, 41);
    d.dgamma = sgbench::make_buffer(c, 0.0f, 1.0f, 42);
    d.dbeta = sgbench::make_buffer(c, 0.0f, 1.0f, 43);
    it = cache.emplace(key, std::move(d)).first;
  }
  return it->second;
}

// ----------------------------------------------------------------------------------- naive
// Plain loops as a user without a library would write them: NCHW channel by channel, NHWC/NC
// row by row with per-channel arrays.

void naive_fwd_train(const BatchNormDesc& d, const float* x, float* y, const float* gamma,
                     const float* beta, float* mean, float* var) {
  const std::size_t hw = d.h * d.w, C = d.c, M = d.n * hw;
  if (d.layout == BatchNormLayout::nchw) {
    for (std::size_t c = 0; c < C; ++c) {
      double s = 0;
      for (std::size_t n = 0; n < d.n; ++n)
        for (std::size_t i = 0; i < hw; ++i) s += x[(n * C + c) * hw + i];
      const double m = s / M;
      double q = 0;
      for (std::size_t n = 0; n < d.n; ++n)
        for (std::size_t i = 0; i < hw; ++i) {
          const double t = x[(n * C + c) * hw + i] - m;
          q += t * t;
        }
      mean[c] = static_cast<float>(m);
      var[c] = static_cast<float>(q / M);
      const float a = gamma[c] / std::sqrt(var[c] + d.eps), b = beta[c], mf = mean[c];
      for (std::size_t n = 0; n < d.n; ++n)
        for (std::size_t i = 0; i < hw; ++i) {
          const std::size_t k = (n * C + c) * hw + i;
          y[k] = (x[k] - mf) * a + b;
        }
    }
    return;
  }
  std::vector<double> s(C, 0.0), q(C, 0.0);
  std::vector<float> a(C);
  for (std::size_t r = 0; r < M; ++r)
    for (std::size_t c = 0; c < C; ++c) s[c] += x[r * C + c];
  for (std::size_t c = 0; c < C; ++c) mean[c] = static_cast<float>(s[c] / M);
  for (std::size_t r = 0; r < M; ++r)
    for (std::size_t c = 0; c < C; ++c) {
      const double t = x[r * C + c] - s[c] / M;
      q[c] += t * t;
    }
  for (std::size_t c = 0; c < C; ++c) {
    var[c] = static_cast<float>(q[c] / M);
    a[c] = gamma[c] / std::sqrt(var[c] + d.eps);
  }
  for (std::size_t r = 0; r < M; ++r)
    for (std::size_t c = 0; c < C; ++c)
      y[r * C + c] = (x[r * C + c] - mean[c]) * a[c] + beta[c];
}

void naive_fwd_infer(const BatchNormDesc& d, const float* x, float* y, const float* gamma,
                     const float* beta, const float* mean, const float* var) {
  const std::size_t hw = d.h * d.w, C = d.c, M = d.n * hw;
  std::vector<float> a(C);
  for (std::size_t c = 0; c < C; ++c) a[c] = gamma[c] / std::sqrt(var[c] + d.eps);
  if (d.layout == BatchNormLayout::nchw) {
    for (std::size_t n = 0; n < d.n; ++n)
      for (std::size_t c = 0; c < C; ++c)
        for (std::size_t i = 0; i < hw; ++i) {
          const std::size_t k = (n * C + c) * hw + i;
          y[k] = (x[k] - mean[c]) * a[c] + beta[c];
        }
    return;
  }
  for (std::size_t r = 0; r < M; ++r)
    for (std::size_t c = 0; c < C; ++c)
      y[r * C + c] = (x[r * C + c] - mean[c]) * a[c] + beta[c];
}

void naive_bwd(const BatchNormDesc& d, const float* x, const float* dy, const float* mean,
               const float* invstd, const float* gamma, float* dx, float* dgamma, float* dbeta) {
  const std::size_t hw = d.h * d.w, C = d.c, M = d.n * hw;
  if (d.layout == BatchNormLayout::nchw) {
    for (std::size_t c = 0; c < C; ++c) {
      double sg = 0, sgx = 0;
      for (std::size_t n = 0; n < d.n; ++n)
        for (std::size_t i = 0; i < hw; ++i) {
          const std::size_t k = (n * C + c) * hw + i;
          sg += dy[k];
          sgx += dy[k] * (x[k] - mean[c]);
        }
      const float s = invstd[c];
      dbeta[c] = static_cast<float>(sg);
      dgamma[c] = static_cast<float>(sgx * s);
      const float a = gamma[c] * s, mg = static_cast<float>(sg / M),
                  k2 = static_cast<float>(sgx * s * s / M);
      for (std::size_t n = 0; n < d.n; ++n)
        for (std::size_t i = 0; i < hw; ++i) {
          const std::size_t k = (n * C + c) * hw + i;
          dx[k] = a * (dy[k] - mg - (x[k] - mean[c]) * k2);
        }
    }
    return;
  }
  std::vector<double> sg(C, 0.0), sgx(C, 0.0);
  for (std::size_t r = 0; r < M; ++r)
    for (std::size_t c = 0; c < C; ++c) {
      const std::size_t k = r * C + c;
      sg[c] += dy[k];
      sgx[c] += dy[k] * (x[k] - mean[c]);
    }
  std::vector<float> a(C), mg(C), k2(C);
  for (std::size_t c = 0; c < C; ++c) {
    const float s = invstd[c];
    dbeta[c] = static_cast<float>(sg[c]);
    dgamma[c] = static_cast<float>(sgx[c] * s);
    a[c] = gamma[c] * s;
    mg[c] = static_cast<float>(sg[c] / M);
    k2[c] = static_cast<float>(sgx[c] * s * s / M);
  }
  for (std::size_t r = 0; r < M; ++r)
    for (std::size_t c = 0; c < C; ++c) {
      const std::size_t k = r * C + c;
      dx[k] = a[c] * (dy[k] - mg[c] - (x[k] - mean[c]) * k2[c]);
    }
}

// ------------------------------------------------------------------------------ benchmarks
enum class Op { fwd_train, fwd_infer, bwd };
enum class Impl { simdgrad, onednn, naive };

void run(benchmark::State& st, const Shape& s, Op op, Impl impl) {
  Data& D = data_for(s);
  const BatchNormDesc d = desc_of(s);
  // Statistics every case reads: a forward training pass's mean and inverse std.
  simdgrad::batchnorm_forward_training(d, D.x.get(), D.y.get(), D.gamma.get(), D.beta.get(),
                                       D.mean.get(), D.invstd.get());
  for (std::size_t c = 0; c < s.c; ++c)
    D.var[c] = 1.0f / (D.invstd[c] * D.invstd[c]) - d.eps;
  const double bytes = (op == Op::bwd ? 12.0 : 8.0) * static_cast<double>(D.n);

  if (impl == Impl::simdgrad) {
    for (auto _ : st) {
      if (op == Op::fwd_train)
        simdgrad::batchnorm_forward_training(d, D.x.get(), D.y.get(), D.gamma.get(),
                                             D.beta.get(), D.mean.get(), D.invstd.get(),
                                             D.rmean.get(), D.rvar.get(), 0.1f);
      else if (op == Op::fwd_infer)
        simdgrad::batchnorm_forward_inference(d, D.x.get(), D.y.get(), D.gamma.get(),
                                              D.beta.get(), D.mean.get(), D.var.get());
      else
        simdgrad::batchnorm_backward(d, D.x.get(), D.dy.get(), D.mean.get(), D.invstd.get(),
                                     D.gamma.get(), D.dx.get(), D.dgamma.get(), D.dbeta.get());
      benchmark::ClobberMemory();
    }
  } else if (impl == Impl::naive) {
    for (auto _ : st) {
      if (op == Op::fwd_train)
        naive_fwd_train(d, D.x.get(), D.y.get(), D.gamma.get(), D.beta.get(), D.mean.get(),
                        D.var.get());
      else if (op == Op::fwd_infer)
        naive_fwd_infer(d, D.x.get(), D.y.get(), D.gamma.get(), D.beta.get(), D.mean.get(),
                        D.var.get());
      else
        naive_bwd(d, D.x.get(), D.dy.get(), D.mean.get(), D.invstd.get(), D.gamma.get(),
                  D.dx.get(), D.dgamma.get(), D.dbeta.get());
      benchmark::ClobberMemory();
    }
  } else {
#if defined(SIMDGRAD_BENCH_ONEDNN)
    sgdnnl::BnBuffers b;
    b.x = D.x.get(), b.y = D.y.get(), b.gamma = D.gamma.get(), b.beta = D.beta.get();
    b.mean = D.mean.get(), b.var = D.var.get(), b.dy = D.dy.get(), b.dx = D.dx.get();
    b.dgamma = D.dgamma.get(), b.dbeta = D.dbeta.get();
    // The backward reads mean and var: keep simdgrad's (they are the batch's) by timing the
    // forward training into copies of the statistics.
    std::vector<float> m2(s.c), v2(s.c);
    if (op == Op::fwd_train) b.mean = m2.data(), b.var = v2.data();
    sgdnnl::BatchNorm prim(d, b);
    for (auto _ : st) {
      if (op == Op::fwd_train)
        prim.forward_training();
      else if (op == Op::fwd_infer)
        prim.forward_inference();
      else
        prim.backward();
      benchmark::ClobberMemory();
    }
#else
    st.SkipWithError("built without oneDNN");
#endif
  }
  sgbench::set_rates(st, bytes, static_cast<double>(D.n));
}

const bool registered = [] {
  const std::pair<Op, const char*> ops[] = {
      {Op::fwd_train, "batchnorm_fwd_train"}, {Op::fwd_infer, "batchnorm_fwd_infer"},
      {Op::bwd, "batchnorm_bwd"}};
  const std::pair<Impl, const char*> impls[] = {
      {Impl::simdgrad, "simdgrad"}, {Impl::onednn, "onednn"}, {Impl::naive, "naive"}};
  for (const auto& op : ops)
    for (const Shape& s : kShapes)
      for (const auto& im : impls) {
#if !defined(SIMDGRAD_BENCH_ONEDNN)
        if (im.first == Impl::onednn) continue;
#endif
        const std::string name = std::string(op.second) + "/" + layout_name(s.layout) + "/" +
                                 im.second + "/" + std::to_string(s.n) + "/" +
                                 std::to_string(s.c) + "/" + std::to_string(s.h) + "/" +
                                 std::to_string(s.w);
        const Shape sh = s;
        const Op o = op.first;
        const Impl i = im.first;
        benchmark::RegisterBenchmark(name.c_str(),
                                     [sh, o, i](benchmark::State& st) { run(st, sh, o, i); })
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
      }
  return true;
}();

}  // namespace
