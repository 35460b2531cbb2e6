// Batch normalization: forward training, inference and backward on every ISA, in NCHW, NHWC and
// NC, against the double reference and oneDNN; odd sizes, the running-statistics update,
// ill-conditioned data, fused ReLU (from y and from the mask), in place, misaligned buffers,
// thread-count invariance, bad input.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "common.hpp"
#include "support/reference_batchnorm.hpp"
#if defined(SIMDGRAD_TEST_ONEDNN)
#include "support/onednn_batchnorm.hpp"
#endif

using simdgrad::BatchNormDesc;
using simdgrad::BatchNormLayout;

namespace {

const char* layout_name(BatchNormLayout l) {
  return l == BatchNormLayout::nchw ? "nchw" : l == BatchNormLayout::nhwc ? "nhwc" : "nc";
}

std::string label(const BatchNormDesc& d) {
  return std::string(layout_name(d.layout)) + " " + std::to_string(d.n) + "x" +
         std::to_string(d.c) + "x" + std::to_string(d.h) + "x" + std::to_string(d.w) +
         (d.use_scale ? " scale" : "") + (d.use_shift ? " shift" : "") +
         (d.fuse_relu ? " relu" : "");
}

std::size_t total(const BatchNormDesc& d) { return d.n * d.c * d.h * d.w; }
std::size_t per_channel(const BatchNormDesc& d) { return d.n * d.h * d.w; }

BatchNormDesc desc(BatchNormLayout l, std::size_t n, std::size_t c, std::size_t h = 1,
                   std::size_t w = 1, bool scale = true, bool shift = true, bool relu = false) {
  BatchNormDesc d;
  d.layout = l, d.n = n, d.c = c, d.h = h, d.w = w;
  d.use_scale = scale, d.use_shift = shift, d.fuse_relu = relu;
  return d;
}

// The shapes every layout is tested at: odd channel counts (1, 3, 17), odd spatial sizes
// (1, 7, 49), N = 1, several reduction pieces per channel (H*W >= 4096, many small planes,
// NHWC with several row blocks).
std::vector<BatchNormDesc> shapes() {
  std::vector<BatchNormDesc> v;
  for (BatchNormLayout l : {BatchNormLayout::nchw, BatchNormLayout::nhwc}) {
    for (auto s : std::vector<std::vector<std::size_t>>{{2, 3, 5, 7},
                                                        {1, 17, 7, 7},
                                                        {4, 1, 7, 1},
                                                        {3, 17, 1, 1},
                                                        {1, 3, 1, 7},
                                                        {2, 20, 7, 7},
                                                        {200, 2, 5, 5},
                                                        {1, 3, 70, 70},
                                                        {4, 17, 9, 9}})
      v.push_back(desc(l, s[0], s[1], s[2], s[3]));
  }
  for (auto s : std::vector<std::vector<std::size_t>>{
           {1, 3}, {5, 17}, {33, 3}, {7, 1}, {64, 100}, {600, 20}, {9, 300}})
    v.push_back(desc(BatchNormLayout::nc, s[0], s[1]));
  return v;
}

struct Flags {
  bool scale, shift, relu;
};
const Flags kFlags[] = {{true, true, false}, {false, false, false}, {true, false, true},
                        {false, true, true}, {true, true, true}};

BatchNormDesc with_flags(BatchNormDesc d, Flags f) {
  d.use_scale = f.scale, d.use_shift = f.shift, d.fuse_relu = f.relu;
  return d;
}

// Data: channel c is offset_c + scale_c * u, u uniform in [-1, 1).
struct Data {
  std::vector<float> x, gamma, beta, dy;
};
Data make_data(const BatchNormDesc& d, unsigned seed, double offset = 2.0, double spread = 1.5) {
  Data r;
  std::mt19937 g(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<double> off(d.c), sc(d.c);
  for (std::size_t c = 0; c < d.c; ++c) off[c] = offset * u(g), sc[c] = spread * (1.1 + u(g));
  r.x.resize(total(d));
  for (std::size_t n = 0; n < d.n; ++n)
    for (std::size_t c = 0; c < d.c; ++c)
      for (std::size_t s = 0; s < d.h * d.w; ++s)
        r.x[sgref::bn_index(d, n, c, s)] = static_cast<float>(off[c] + sc[c] * u(g));
  r.gamma = sgtest::uniform(d.c, 0.5f, 2.0f, seed + 1);
  for (std::size_t c = 0; c < d.c; c += 3) r.gamma[c] = -r.gamma[c];
  r.beta = sgtest::uniform(d.c, -1.0f, 1.0f, seed + 2);
  r.dy = sgtest::uniform(total(d), -1.0f, 1.0f, seed + 3);
  return r;
}

struct Fwd {
  std::vector<float> y, mean, invstd, rmean, rvar;
  std::vector<std::uint8_t> mask;
};

Fwd run_forward(const BatchNormDesc& d, const Data& in, bool running = true, float momentum = 0.1f,
                bool mask = true) {
  Fwd f;
  f.y.assign(total(d), -7.0f);
  f.mean.assign(d.c, -7.0f);
  f.invstd.assign(d.c, -7.0f);
  f.rmean = sgtest::uniform(d.c, -1.0f, 1.0f, 11);
  f.rvar = sgtest::uniform(d.c, 0.5f, 2.0f, 12);
  const bool want_mask = mask && d.fuse_relu;
  if (want_mask) f.mask.assign(total(d), 7);
  simdgrad::batchnorm_forward_training(d, in.x.data(), f.y.data(), in.gamma.data(),
                                       in.beta.data(), f.mean.data(), f.invstd.data(),
                                       running ? f.rmean.data() : nullptr,
                                       running ? f.rvar.data() : nullptr, momentum,
                                       want_mask ? f.mask.data() : nullptr);
  return f;
}

struct Bwd {
  std::vector<float> dx, dgamma, dbeta;
};

Bwd run_backward(const BatchNormDesc& d, const Data& in, const std::vector<float>& mean,
                 const std::vector<float>& invstd, const float* relu_y,
                 const std::uint8_t* relu_mask) {
  Bwd b;
  b.dx.assign(total(d), -7.0f);
  b.dgamma.assign(d.c, -7.0f);
  b.dbeta.assign(d.c, -7.0f);
  simdgrad::batchnorm_backward(d, in.x.data(), in.dy.data(), mean.data(), invstd.data(),
                               in.gamma.data(), b.dx.data(), b.dgamma.data(), b.dbeta.data(),
                               relu_y, relu_mask);
  return b;
}

// Checks a forward training result against the double reference.
void check_forward(const BatchNormDesc& d, const Data& in, const Fwd& f, double tol,
                   const Fwd* before = nullptr, float momentum = 0.1f) {
  SCOPED_TRACE(label(d));
  const sgref::BnStats st = sgref::bn_stats(d, in.x.data());
  const std::vector<double> yr =
      sgref::bn_normalize(d, in.x.data(), in.gamma.data(), in.beta.data(), st.mean, st.var);
  const std::size_t hw = d.h * d.w, M = per_channel(d);
  int bad = 0;
  for (std::size_t c = 0; c < d.c && bad < 5; ++c) {
    const double sd = std::sqrt(st.var[c]);
    const double s = 1.0 / std::sqrt(st.var[c] + d.eps);
    EXPECT_NEAR(f.mean[c], st.mean[c], 1e-7 * std::fabs(st.mean[c]) + tol * sd) << "c " << c;
    EXPECT_NEAR(f.invstd[c], s, tol * s) << "c " << c;
    if (before) {
      const double mo = momentum;
      const double rm = mo * st.mean[c] + (1 - mo) * before->rmean[c];
      const double rv = mo * st.var[c] * M / (M - 1.0) + (1 - mo) * before->rvar[c];
      EXPECT_NEAR(f.rmean[c], rm, 1e-7 * std::fabs(rm) + tol * sd) << "c " << c;
      EXPECT_NEAR(f.rvar[c], rv, tol * rv + 1e-30) << "c " << c;
    }
    const double gm = d.use_scale ? std::fabs(in.gamma[c]) : 1.0;
    const double bt = d.use_shift ? std::fabs(in.beta[c]) : 0.0;
    for (std::size_t n = 0; n < d.n; ++n)
      for (std::size_t i = 0; i < hw; ++i) {
        const std::size_t k = sgref::bn_index(d, n, c, i);
        const double xhat = (in.x[k] - st.mean[c]) * s;
        const double lim = tol * (1.0 + gm * std::fabs(xhat) + bt);
        if (!(std::fabs(f.y[k] - yr[k]) <= lim) && bad++ < 5)
          ADD_FAILURE() << "y at n " << n << " c " << c << " s " << i << ": " << f.y[k]
                        << " vs " << yr[k];
        if (!f.mask.empty() && f.mask[k] != (f.y[k] > 0 ? 1 : 0) && bad++ < 5)
          ADD_FAILURE() << "mask at " << k << " is " << int(f.mask[k]) << " for y " << f.y[k];
      }
  }
}

// Checks a backward result against the double reference (g masked where relu_y <= 0).
void check_backward(const BatchNormDesc& d, const Data& in, const std::vector<float>& invstd,
                    const Bwd& b, const float* relu_y, double tol) {
  SCOPED_TRACE(label(d));
  std::vector<std::uint8_t> keep;
  if (relu_y) {
    keep.resize(total(d));
    for (std::size_t k = 0; k < keep.size(); ++k) keep[k] = relu_y[k] > 0;
  }
  const sgref::BnGrad r = sgref::bn_backward(d, in.x.data(), in.dy.data(), invstd.data(),
                                             in.gamma.data(), relu_y ? keep.data() : nullptr);
  const sgref::BnStats st = sgref::bn_stats(d, in.x.data());
  const std::size_t hw = d.h * d.w;
  const double M = static_cast<double>(per_channel(d));
  int bad = 0;
  for (std::size_t c = 0; c < d.c && bad < 5; ++c) {
    const double s = invstd[c], gm = d.use_scale ? std::fabs(in.gamma[c]) : 1.0;
    double sa = 0, sxa = 0;
    for (std::size_t n = 0; n < d.n; ++n)
      for (std::size_t i = 0; i < hw; ++i) {
        const std::size_t k = sgref::bn_index(d, n, c, i);
        const double gk = keep.empty() || keep[k] ? std::fabs(in.dy[k]) : 0.0;
        sa += gk;
        sxa += gk * std::fabs((in.x[k] - st.mean[c]) * s);
      }
    EXPECT_NEAR(b.dbeta[c], r.dbeta[c], tol * (sa + 1e-30)) << "c " << c;
    EXPECT_NEAR(b.dgamma[c], r.dgamma[c], tol * (sxa + 1e-30)) << "c " << c;
    for (std::size_t n = 0; n < d.n; ++n)
      for (std::size_t i = 0; i < hw; ++i) {
        const std::size_t k = sgref::bn_index(d, n, c, i);
        const double xhat = std::fabs((in.x[k] - st.mean[c]) * s);
        const double lim = tol * gm * s * (std::fabs(in.dy[k]) + sa / M + xhat * sxa / M) + 1e-30;
        if (!(std::fabs(b.dx[k] - r.dx[k]) <= lim) && bad++ < 5)
          ADD_FAILURE() << "dx at n " << n << " c " << c << " s " << i << ": " << b.dx[k]
                        << " vs " << r.dx[k];
      }
  }
}

class BatchNorm : public sgtest::PerIsa {};
SGTEST_INSTANTIATE_PER_ISA(BatchNorm);

// ------------------------------------------------------------------------- against reference

TEST_P(BatchNorm, ForwardTrainingMatchesReference) {
  unsigned seed = 100;
  for (const BatchNormDesc& s : shapes())
    for (Flags fl : kFlags) {
      const BatchNormDesc d = with_flags(s, fl);
      const Data in = make_data(d, ++seed);
      const bool running = per_channel(d) > 1;
      const Fwd f0 = run_forward(d, in, false);  // the running statistics as they start
      const Fwd f = run_forward(d, in, running);
      check_forward(d, in, f, 2e-5, running ? &f0 : nullptr);
    }
}

TEST_P(BatchNorm, ForwardInferenceMatchesReference) {
  unsigned seed = 200;
  for (const BatchNormDesc& s : shapes())
    for (Flags fl : kFlags) {
      const BatchNormDesc d = with_flags(s, fl);
      SCOPED_TRACE(label(d));
      const Data in = make_data(d, ++seed);
      const std::vector<float> mean = sgtest::uniform(d.c, -2.0f, 2.0f, seed);
      const std::vector<float> var = sgtest::uniform(d.c, 0.01f, 3.0f, seed + 5);
      std::vector<float> y(total(d), -7.0f);
      simdgrad::batchnorm_forward_inference(d, in.x.data(), y.data(), in.gamma.data(),
                                            in.beta.data(), mean.data(), var.data());
      const std::vector<double> md(mean.begin(), mean.end()), vd(var.begin(), var.end());
      const std::vector<double> yr =
          sgref::bn_normalize(d, in.x.data(), in.gamma.data(), in.beta.data(), md, vd);
      int bad = 0;
      for (std::size_t k = 0; k < y.size() && bad < 5; ++k) {
        const double lim = 1e-5 * (1.0 + std::fabs(yr[k]) + std::fabs(in.x[k]) * 20);
        if (!(std::fabs(y[k] - yr[k]) <= lim) && bad++ < 5)
          ADD_FAILURE() << "y[" << k << "] = " << y[k] << " vs " << yr[k];
      }
    }
}

TEST_P(BatchNorm, BackwardMatchesReference) {
  unsigned seed = 300;
  for (const BatchNormDesc& s : shapes())
    for (Flags fl : kFlags) {
      const BatchNormDesc d = with_flags(s, fl);
      const Data in = make_data(d, ++seed);
      const Fwd f = run_forward(d, in, false);
      const float* ry = d.fuse_relu ? f.y.data() : nullptr;
      const Bwd b = run_backward(d, in, f.mean, f.invstd, ry, nullptr);
      check_backward(d, in, f.invstd, b, ry, 2e-5);
      if (d.fuse_relu) {  // from the mask: the same bits as from y
        const Bwd bm = run_backward(d, in, f.mean, f.invstd, nullptr, f.mask.data());
        EXPECT_EQ(bm.dx, b.dx) << label(d);
        EXPECT_EQ(bm.dgamma, b.dgamma) << label(d);
        EXPECT_EQ(bm.dbeta, b.dbeta) << label(d);
      }
    }
}

// ----------------------------------------------------------------------------- against oneDNN

#if defined(SIMDGRAD_TEST_ONEDNN)
TEST_P(BatchNorm, MatchesOnednn) {
  // On slow targets (qemu, sanitizers) two flag sets: creating oneDNN's primitives dominates.
  std::vector<Flags> flags(std::begin(kFlags), std::end(kFlags));
  if (sgtest::small_run()) flags = {kFlags[0], kFlags[4]};
  unsigned seed = 400;
  for (const BatchNormDesc& s : shapes())
    for (Flags fl : flags) {
      const BatchNormDesc d = with_flags(s, fl);
      SCOPED_TRACE(label(d));
      const Data in = make_data(d, ++seed);
      const std::size_t n = total(d);
      std::vector<float> y(n), mean(d.c), var(d.c), dx(n), dg(d.c), db(d.c);
      sgdnnl::BnBuffers bufs;
      bufs.x = in.x.data(), bufs.y = y.data(), bufs.gamma = in.gamma.data();
      bufs.beta = in.beta.data(), bufs.mean = mean.data(), bufs.var = var.data();
      bufs.dy = in.dy.data(), bufs.dx = dx.data(), bufs.dgamma = dg.data(), bufs.dbeta = db.data();
      sgdnnl::BatchNorm ref(d, bufs);

      // Forward training: y, mean and variance.
      ref.forward_training();
      const Fwd f = run_forward(d, in, false);
      int bad = 0;
      for (std::size_t c = 0; c < d.c; ++c) {
        const double sd = std::sqrt(static_cast<double>(var[c]));
        EXPECT_NEAR(f.mean[c], mean[c], 2e-6 * std::fabs(mean[c]) + 2e-5 * sd) << "c " << c;
        const double s = 1.0 / std::sqrt(static_cast<double>(var[c]) + d.eps);
        EXPECT_NEAR(f.invstd[c], s, 3e-5 * s) << "c " << c;
      }
      for (std::size_t k = 0; k < n && bad < 5; ++k)
        if (!(std::fabs(f.y[k] - y[k]) <= 5e-5 * (1.0 + std::fabs(y[k]))) && bad++ < 5)
          ADD_FAILURE() << "fwd training y[" << k << "] = " << f.y[k] << " vs oneDNN " << y[k];

      // Backward from oneDNN's statistics and workspace; ours gets the same mean, invstd and the
      // same ReLU mask (oneDNN's y).
      std::vector<float> invstd(d.c);
      for (std::size_t c = 0; c < d.c; ++c)
        invstd[c] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(var[c]) + d.eps));
      ref.backward();
      const Bwd b = run_backward(d, in, mean, invstd, d.fuse_relu ? y.data() : nullptr, nullptr);
      const double M = static_cast<double>(per_channel(d));
      for (std::size_t c = 0; c < d.c; ++c) {
        if (d.use_shift) {
          EXPECT_NEAR(b.dbeta[c], db[c], 1e-5 * M) << "dbeta c " << c;
        }
        if (d.use_scale) {
          EXPECT_NEAR(b.dgamma[c], dg[c], 2e-5 * M) << "dgamma c " << c;
        }
      }
      bad = 0;
      for (std::size_t c = 0; c < d.c; ++c) {
        const double sc = (d.use_scale ? std::fabs(in.gamma[c]) : 1.0) * invstd[c];
        for (std::size_t nn = 0; nn < d.n; ++nn)
          for (std::size_t i = 0; i < d.h * d.w; ++i) {
            const std::size_t k = sgref::bn_index(d, nn, c, i);
            if (!(std::fabs(b.dx[k] - dx[k]) <= 5e-5 * sc * 3.0) && bad++ < 5)
              ADD_FAILURE() << "dx[" << k << "] = " << b.dx[k] << " vs oneDNN " << dx[k];
          }
      }

      // Inference from oneDNN's batch statistics.
      std::fill(y.begin(), y.end(), 0.0f);
      ref.forward_inference();
      std::vector<float> yi(n);
      simdgrad::batchnorm_forward_inference(d, in.x.data(), yi.data(), in.gamma.data(),
                                            in.beta.data(), mean.data(), var.data());
      bad = 0;
      for (std::size_t k = 0; k < n && bad < 5; ++k)
        if (!(std::fabs(yi[k] - y[k]) <= 2e-5 * (1.0 + std::fabs(y[k]))) && bad++ < 5)
          ADD_FAILURE() << "inference y[" << k << "] = " << yi[k] << " vs oneDNN " << y[k];
    }
}
#endif

// --------------------------------------------------------------------------- running statistics

TEST_P(BatchNorm, RunningStatisticsFollowPytorch) {
  // NC, 4 rows, 2 channels: channel 0 = {1, 2, 3, 4}, channel 1 = {10, 10, 10, 14}.
  BatchNormDesc d = desc(BatchNormLayout::nc, 4, 2);
  const std::vector<float> x = {1, 10, 2, 10, 3, 10, 4, 14};
  const std::vector<float> gamma = {1, 1}, beta = {0, 0};
  std::vector<float> y(8), mean(2), invstd(2);
  for (float mo : {0.1f, 0.0f, 1.0f, 0.37f}) {
    std::vector<float> rm = {0.5f, -3.0f}, rv = {2.0f, 0.25f};
    const std::vector<float> rm0 = rm, rv0 = rv;
    simdgrad::batchnorm_forward_training(d, x.data(), y.data(), gamma.data(), beta.data(),
                                         mean.data(), invstd.data(), rm.data(), rv.data(), mo);
    // mean = 2.5, 11; biased var = 1.25, 3; unbiased = 5/3, 4.
    const double bm[2] = {2.5, 11.0}, bv[2] = {1.25, 3.0}, uv[2] = {5.0 / 3.0, 4.0};
    for (int c = 0; c < 2; ++c) {
      EXPECT_EQ(mean[c], static_cast<float>(bm[c]));
      EXPECT_NEAR(invstd[c], 1.0 / std::sqrt(bv[c] + d.eps), 1e-7);
      if (mo == 0.0f) {
        EXPECT_EQ(rm[c], rm0[c]);
        EXPECT_EQ(rv[c], rv0[c]);
      } else {
        EXPECT_FLOAT_EQ(rm[c], static_cast<float>(mo * bm[c] + (1.0 - mo) * rm0[c])) << mo;
        EXPECT_FLOAT_EQ(rv[c], static_cast<float>(mo * uv[c] + (1.0 - mo) * rv0[c])) << mo;
      }
    }
  }
  // Several steps agree with the recurrence evaluated in double.
  d = desc(BatchNormLayout::nchw, 3, 5, 4, 3);
  const Data in = make_data(d, 77);
  std::vector<float> rm(5, 0.0f), rv(5, 1.0f), yy(total(d));
  std::vector<double> em(5, 0.0), ev(5, 1.0);
  mean.resize(5), invstd.resize(5);
  const sgref::BnStats st = sgref::bn_stats(d, in.x.data());
  for (int step = 0; step < 4; ++step) {
    simdgrad::batchnorm_forward_training(d, in.x.data(), yy.data(), in.gamma.data(),
                                         in.beta.data(), mean.data(), invstd.data(), rm.data(),
                                         rv.data(), 0.1f);
    for (int c = 0; c < 5; ++c) {
      em[c] = 0.1 * st.mean[c] + 0.9 * em[c];
      ev[c] = 0.1 * st.var[c] * 36.0 / 35.0 + 0.9 * ev[c];
    }
  }
  for (int c = 0; c < 5; ++c) {
    EXPECT_NEAR(rm[c], em[c], 1e-5 * (1 + std::fabs(em[c])));
    EXPECT_NEAR(rv[c], ev[c], 1e-5 * ev[c]);
  }
}

// ---------------------------------------------------------------------------- ill-conditioned

TEST_P(BatchNorm, IllConditionedData) {
  // mean 1e4, standard deviation 1e-2: fp32 x has ~10 values per standard deviation, the one-pass
  // E[x^2] - E[x]^2 in fp32 is pure rounding noise, and an fp32 mean alone is off by up to 5% of
  // the standard deviation. The variance must still be right to 1e-4 and y to 1e-4.
  for (const BatchNormDesc& d0 :
       {desc(BatchNormLayout::nchw, 4, 3, 32, 32), desc(BatchNormLayout::nhwc, 4, 19, 16, 16),
        desc(BatchNormLayout::nc, 1000, 5), desc(BatchNormLayout::nchw, 2, 2, 70, 70)}) {
    BatchNormDesc d = d0;
    SCOPED_TRACE(label(d));
    Data in = make_data(d, 5);
    std::mt19937 g(9);
    std::normal_distribution<double> nd(0.0, 1e-2);
    for (std::size_t n = 0; n < d.n; ++n)
      for (std::size_t c = 0; c < d.c; ++c)
        for (std::size_t s = 0; s < d.h * d.w; ++s)
          in.x[sgref::bn_index(d, n, c, s)] = static_cast<float>(1e4 * (1.0 + 0.01 * c) + nd(g));
    const Fwd f = run_forward(d, in, true);
    const sgref::BnStats st = sgref::bn_stats(d, in.x.data());
    for (std::size_t c = 0; c < d.c; ++c) {
      const double var = 1.0 / (double(f.invstd[c]) * f.invstd[c]) - d.eps;
      EXPECT_NEAR(var, st.var[c], 1e-4 * st.var[c] + 2e-7 * d.eps) << "c " << c;
    }
    check_forward(d, in, f, 2e-5);
    const Bwd b = run_backward(d, in, f.mean, f.invstd, nullptr, nullptr);
    check_backward(d, in, f.invstd, b, nullptr, 1e-4);
  }
}

// ---------------------------------------------------------------------- determinism, aliasing

TEST_P(BatchNorm, ThreadCountDoesNotChangeResults) {
  // Large enough for the library to use several threads (at least 2 * 32768 elements).
  for (BatchNormDesc d :
       {desc(BatchNormLayout::nchw, 4, 3, 80, 80), desc(BatchNormLayout::nchw, 8, 64, 12, 12),
        desc(BatchNormLayout::nhwc, 8, 64, 12, 12), desc(BatchNormLayout::nhwc, 3, 1, 150, 150),
        desc(BatchNormLayout::nc, 512, 160, 1, 1, true, true, true)}) {
    SCOPED_TRACE(label(d));
    const Data in = make_data(d, 31);
    std::vector<Fwd> fw;
    std::vector<Bwd> bw;
    std::vector<std::vector<float>> inf;
    for (int t : {1, 2, 3}) {
      simdgrad::set_num_threads(t);
      fw.push_back(run_forward(d, in, true));
      bw.push_back(run_backward(d, in, fw.back().mean, fw.back().invstd,
                                d.fuse_relu ? fw.back().y.data() : nullptr, nullptr));
      std::vector<float> y(total(d));
      simdgrad::batchnorm_forward_inference(d, in.x.data(), y.data(), in.gamma.data(),
                                            in.beta.data(), fw[0].rmean.data(),
                                            fw[0].rvar.data());
      inf.push_back(y);
    }
    simdgrad::set_num_threads(0);
    for (std::size_t i = 1; i < fw.size(); ++i) {
      EXPECT_EQ(fw[i].y, fw[0].y);
      EXPECT_EQ(fw[i].mean, fw[0].mean);
      EXPECT_EQ(fw[i].invstd, fw[0].invstd);
      EXPECT_EQ(fw[i].rmean, fw[0].rmean);
      EXPECT_EQ(fw[i].rvar, fw[0].rvar);
      EXPECT_EQ(fw[i].mask, fw[0].mask);
      EXPECT_EQ(bw[i].dx, bw[0].dx);
      EXPECT_EQ(bw[i].dgamma, bw[0].dgamma);
      EXPECT_EQ(bw[i].dbeta, bw[0].dbeta);
      EXPECT_EQ(inf[i], inf[0]);
    }
    check_forward(d, in, fw[0], 2e-5);
  }
}

TEST_P(BatchNorm, InPlaceAndMisaligned) {
  for (BatchNormDesc d : {desc(BatchNormLayout::nchw, 2, 3, 5, 7, true, true, true),
                          desc(BatchNormLayout::nhwc, 3, 19, 3, 3, true, true, true),
                          desc(BatchNormLayout::nc, 13, 21, 1, 1, true, true, true)}) {
    SCOPED_TRACE(label(d));
    const Data in = make_data(d, 41);
    const std::size_t n = total(d);
    const Fwd f = run_forward(d, in, false);
    const Bwd b = run_backward(d, in, f.mean, f.invstd, f.y.data(), nullptr);
    // Forward in place, on buffers one float off a 64-byte boundary.
    std::vector<float> buf(n + 1), mean(d.c + 1), invstd(d.c + 1);
    std::copy(in.x.begin(), in.x.end(), buf.begin() + 1);
    simdgrad::batchnorm_forward_training(d, buf.data() + 1, buf.data() + 1, in.gamma.data(),
                                         in.beta.data(), mean.data() + 1, invstd.data() + 1);
    EXPECT_EQ(std::vector<float>(buf.begin() + 1, buf.end()), f.y);
    EXPECT_EQ(std::vector<float>(mean.begin() + 1, mean.end()), f.mean);
    // Backward in place on dy, then on x.
    std::vector<float> g(n + 1), dgm(d.c), dbt(d.c);
    std::copy(in.dy.begin(), in.dy.end(), g.begin() + 1);
    simdgrad::batchnorm_backward(d, in.x.data(), g.data() + 1, f.mean.data(), f.invstd.data(),
                                 in.gamma.data(), g.data() + 1, dgm.data(), dbt.data(),
                                 f.y.data());
    EXPECT_EQ(std::vector<float>(g.begin() + 1, g.end()), b.dx);
    EXPECT_EQ(dgm, b.dgamma);
    EXPECT_EQ(dbt, b.dbeta);
    std::vector<float> xx = in.x;
    simdgrad::batchnorm_backward(d, xx.data(), in.dy.data(), f.mean.data(), f.invstd.data(),
                                 in.gamma.data(), xx.data(), nullptr, nullptr, f.y.data());
    EXPECT_EQ(xx, b.dx);
    // Inference in place.
    std::vector<float> yi(n), xi = in.x;
    simdgrad::batchnorm_forward_inference(d, in.x.data(), yi.data(), in.gamma.data(),
                                          in.beta.data(), f.mean.data(), f.rvar.data());
    simdgrad::batchnorm_forward_inference(d, xi.data(), xi.data(), in.gamma.data(),
                                          in.beta.data(), f.mean.data(), f.rvar.data());
    EXPECT_EQ(xi, yi);
  }
}

// 64-byte aligned storage (outputs of 2 MiB and more are then written with non-temporal stores).
struct Aligned {
  std::vector<float> store;
  float* p;
  Aligned(const std::vector<float>& v, std::size_t shift) : store(v.size() + 32) {
    auto a = reinterpret_cast<std::uintptr_t>(store.data());
    p = store.data() + ((64 - a % 64) % 64) / 4 + shift;
    std::copy(v.begin(), v.end(), p);
  }
};

TEST_P(BatchNorm, StreamedOutputsMatchCachedOutputs) {
  // 2 MiB outputs on 64-byte aligned buffers take the non-temporal-store path; the same data one
  // float off alignment take the ordinary one. The bits must agree (and match the reference).
  const std::size_t hw = sgtest::small_run() ? 16 : 64;
  for (BatchNormDesc d : {desc(BatchNormLayout::nchw, 2, 64, hw, hw, true, true, false),
                          desc(BatchNormLayout::nhwc, 2, 64, hw, hw, true, true, true)}) {
    SCOPED_TRACE(label(d));
    const Data in = make_data(d, 71);
    const std::size_t n = total(d);
    std::vector<float> res[2][4];
    std::vector<std::uint8_t> masks[2];
    for (std::size_t shift : {0, 1}) {
      Aligned x(in.x, shift), y(std::vector<float>(n), shift), dy(in.dy, shift),
          dx(std::vector<float>(n), shift), yi(std::vector<float>(n), shift);
      std::vector<float> mean(d.c), invstd(d.c), dg(d.c), db(d.c);
      std::vector<std::uint8_t> mask(n);
      simdgrad::batchnorm_forward_training(d, x.p, y.p, in.gamma.data(), in.beta.data(),
                                           mean.data(), invstd.data(), nullptr, nullptr, 0.1f,
                                           d.fuse_relu ? mask.data() : nullptr);
      simdgrad::batchnorm_backward(d, x.p, dy.p, mean.data(), invstd.data(), in.gamma.data(),
                                   dx.p, dg.data(), db.data(), d.fuse_relu ? y.p : nullptr);
      simdgrad::batchnorm_forward_inference(d, x.p, yi.p, in.gamma.data(), in.beta.data(),
                                            mean.data(), invstd.data());
      res[shift][0].assign(y.p, y.p + n);
      res[shift][1].assign(dx.p, dx.p + n);
      res[shift][2].assign(yi.p, yi.p + n);
      res[shift][3] = mean;
      res[shift][3].insert(res[shift][3].end(), dg.begin(), dg.end());
      masks[shift] = mask;
      if (shift == 0) {
        Fwd f;
        f.y = res[0][0], f.mean = mean, f.invstd = invstd;
        if (d.fuse_relu) f.mask = mask;
        check_forward(d, in, f, 2e-5);
      }
    }
    for (int k = 0; k < 4; ++k) EXPECT_EQ(res[0][k], res[1][k]) << "output " << k;
    EXPECT_EQ(masks[0], masks[1]);
  }
}

TEST_P(BatchNorm, NonFiniteInputStaysInItsChannel) {
  for (BatchNormDesc d : {desc(BatchNormLayout::nchw, 2, 3, 5, 7),
                          desc(BatchNormLayout::nhwc, 2, 19, 2, 3)}) {
    SCOPED_TRACE(label(d));
    Data in = make_data(d, 51);
    in.x[sgref::bn_index(d, 1, 1, 3)] = std::numeric_limits<float>::quiet_NaN();
    const Fwd f = run_forward(d, in, false);
    EXPECT_TRUE(std::isnan(f.mean[1]));
    for (std::size_t c = 0; c < d.c; ++c)
      for (std::size_t n = 0; n < d.n; ++n)
        for (std::size_t s = 0; s < d.h * d.w; ++s) {
          const float v = f.y[sgref::bn_index(d, n, c, s)];
          EXPECT_EQ(std::isnan(v), c == 1) << "c " << c;
        }
  }
}

TEST_P(BatchNorm, EmptyShapes) {
  // C = 0: nothing to do, null pointers allowed. N = 0: inference is a no-op.
  BatchNormDesc d = desc(BatchNormLayout::nchw, 4, 0, 3, 3);
  simdgrad::batchnorm_forward_training(d, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
  simdgrad::batchnorm_forward_inference(d, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
  simdgrad::batchnorm_backward(d, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                               nullptr);
  d = desc(BatchNormLayout::nhwc, 0, 3, 3, 3);
  const std::vector<float> p(3, 1.0f);
  simdgrad::batchnorm_forward_inference(d, nullptr, nullptr, p.data(), p.data(), p.data(),
                                        p.data());
}

// --------------------------------------------------------------------------------- bad input

// Expects fn() to throw simdgrad::error whose message starts with "simdgrad::<func>: <what>".
void expect_error(const std::function<void()>& fn, const std::string& func,
                  const std::string& what) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected simdgrad::" << func << ": " << what;
  } catch (const simdgrad::error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("simdgrad::" + func + ": " + what, 0), 0u) << msg;
  }
}

TEST(BatchNormErrors, ForwardTraining) {
  const BatchNormDesc good = desc(BatchNormLayout::nchw, 2, 3, 4, 5);
  const Data in = make_data(good, 61);
  std::vector<float> y(total(good), 5.0f), mean(3, 5.0f), invstd(3, 5.0f), rm(3, 5.0f),
      rv(3, 5.0f);
  std::vector<std::uint8_t> mask(total(good), 5);
  const std::string fn = "batchnorm_forward_training";
  auto call = [&](BatchNormDesc d, const float* x, float* yy, const float* gm, const float* bt,
                  float* m, float* s, float* r1, float* r2, float mo, std::uint8_t* mk) {
    return [=] {
      simdgrad::batchnorm_forward_training(d, x, yy, gm, bt, m, s, r1, r2, mo, mk);
    };
  };
  const float* x = in.x.data();
  const float* gm = in.gamma.data();
  const float* bt = in.beta.data();
  auto D = [&](auto f) {
    BatchNormDesc d = good;
    f(d);
    return d;
  };
  const float nan = std::numeric_limits<float>::quiet_NaN();
  expect_error(call(good, nullptr, y.data(), gm, bt, mean.data(), invstd.data(), nullptr,
                    nullptr, 0.1f, nullptr), fn, "x is null");
  expect_error(call(good, x, nullptr, gm, bt, mean.data(), invstd.data(), nullptr, nullptr, 0.1f,
                    nullptr), fn, "y is null");
  expect_error(call(good, x, y.data(), nullptr, bt, mean.data(), invstd.data(), nullptr, nullptr,
                    0.1f, nullptr), fn, "gamma is null");
  expect_error(call(good, x, y.data(), gm, nullptr, mean.data(), invstd.data(), nullptr, nullptr,
                    0.1f, nullptr), fn, "beta is null");
  expect_error(call(good, x, y.data(), gm, bt, nullptr, invstd.data(), nullptr, nullptr, 0.1f,
                    nullptr), fn, "save_mean is null");
  expect_error(call(good, x, y.data(), gm, bt, mean.data(), nullptr, nullptr, nullptr, 0.1f,
                    nullptr), fn, "save_invstd is null");
  expect_error(call(good, x, y.data(), gm, bt, mean.data(), invstd.data(), rm.data(), nullptr,
                    0.1f, nullptr), fn, "running_var is null");
  expect_error(call(good, x, y.data(), gm, bt, mean.data(), invstd.data(), nullptr, rv.data(),
                    0.1f, nullptr), fn, "running_mean is null");
  for (float eps : {0.0f, -1e-5f, nan, std::numeric_limits<float>::infinity()})
    expect_error(call(D([&](BatchNormDesc& d) { d.eps = eps; }), x, y.data(), gm, bt,
                      mean.data(), invstd.data(), nullptr, nullptr, 0.1f, nullptr),
                 fn, "d.eps must be finite and > 0");
  for (float mo : {-0.01f, 1.01f, nan})
    expect_error(call(good, x, y.data(), gm, bt, mean.data(), invstd.data(), rm.data(),
                      rv.data(), mo, nullptr), fn, "momentum must be in [0, 1]");
  expect_error(call(D([](BatchNormDesc& d) { d.layout = static_cast<BatchNormLayout>(3); }), x,
                    y.data(), gm, bt, mean.data(), invstd.data(), nullptr, nullptr, 0.1f,
                    nullptr), fn, "d.layout is not a BatchNormLayout");
  expect_error(call(D([](BatchNormDesc& d) { d.layout = BatchNormLayout::nc, d.n = 40; }), x,
                    y.data(), gm, bt, mean.data(), invstd.data(), nullptr, nullptr, 0.1f,
                    nullptr), fn, "d.h and d.w must be 1");
  expect_error(call(D([](BatchNormDesc& d) { d.n = 0; }), x, y.data(), gm, bt, mean.data(),
                    invstd.data(), nullptr, nullptr, 0.1f, nullptr), fn, "d.n * d.h * d.w is 0");
  expect_error(call(D([](BatchNormDesc& d) { d.h = 0; }), x, y.data(), gm, bt, mean.data(),
                    invstd.data(), nullptr, nullptr, 0.1f, nullptr), fn, "d.n * d.h * d.w is 0");
  expect_error(call(D([](BatchNormDesc& d) { d.n = 1, d.h = 1, d.w = 1; }), x, y.data(), gm, bt,
                    mean.data(), invstd.data(), rm.data(), rv.data(), 0.1f, nullptr),
               fn, "running_var needs more than one value per channel");
  expect_error(call(D([](BatchNormDesc& d) { d.n = std::size_t{1} << 40, d.h = 1 << 20; }), x,
                    y.data(), gm, bt, mean.data(), invstd.data(), nullptr, nullptr, 0.1f,
                    nullptr), fn, "d.n * d.c * d.h * d.w");
  expect_error(call(good, x, y.data(), gm, bt, mean.data(), invstd.data(), nullptr, nullptr, 0.1f,
                    mask.data()), fn, "relu_mask is given but d.fuse_relu is false");
  // Overlaps: y partially over x, a saved statistic inside x or y, two outputs on each other.
  std::vector<float> big(2 * total(good) + 8, 1.0f);
  expect_error(call(good, big.data(), big.data() + 3, gm, bt, mean.data(), invstd.data(), nullptr,
                    nullptr, 0.1f, nullptr), fn, "y partially overlaps x");
  expect_error(call(good, x, y.data(), gm, bt, y.data() + 5, invstd.data(), nullptr, nullptr,
                    0.1f, nullptr), fn, "y overlaps save_mean");
  expect_error(call(good, x, y.data(), gm, bt, const_cast<float*>(x) + 2, invstd.data(), nullptr,
                    nullptr, 0.1f, nullptr), fn, "save_mean overlaps x");
  expect_error(call(good, x, y.data(), gm, bt, mean.data(), mean.data() + 1, nullptr, nullptr,
                    0.1f, nullptr), fn, "save_mean overlaps save_invstd");
  expect_error(call(good, x, y.data(), gm, bt, mean.data(), invstd.data(), rm.data(),
                    const_cast<float*>(gm), 0.1f, nullptr), fn, "running_var overlaps gamma");
  expect_error(call(D([](BatchNormDesc& d) { d.fuse_relu = true; }), x, y.data(), gm, bt,
                    mean.data(), invstd.data(), nullptr, nullptr, 0.1f,
                    reinterpret_cast<std::uint8_t*>(y.data())), fn, "y overlaps relu_mask");
  // Nothing was written by any failed call.
  for (float v : y) ASSERT_EQ(v, 5.0f);
  for (float v : mean) ASSERT_EQ(v, 5.0f);
  for (float v : invstd) ASSERT_EQ(v, 5.0f);
  for (float v : rm) ASSERT_EQ(v, 5.0f);
  for (float v : rv) ASSERT_EQ(v, 5.0f);
  for (std::uint8_t v : mask) ASSERT_EQ(v, 5);
  // Without scale and shift, gamma and beta are not read and may be null.
  BatchNormDesc d = good;
  d.use_scale = d.use_shift = false;
  simdgrad::batchnorm_forward_training(d, x, y.data(), nullptr, nullptr, mean.data(),
                                       invstd.data());
}

TEST(BatchNormErrors, Inference) {
  const BatchNormDesc good = desc(BatchNormLayout::nhwc, 2, 3, 4, 5);
  const Data in = make_data(good, 62);
  std::vector<float> y(total(good), 5.0f);
  const std::vector<float> mean(3, 0.0f), var(3, 1.0f);
  const std::string fn = "batchnorm_forward_inference";
  auto call = [&](BatchNormDesc d, const float* x, float* yy, const float* gm, const float* bt,
                  const float* m, const float* v) {
    return [=] { simdgrad::batchnorm_forward_inference(d, x, yy, gm, bt, m, v); };
  };
  const float *x = in.x.data(), *gm = in.gamma.data(), *bt = in.beta.data();
  expect_error(call(good, nullptr, y.data(), gm, bt, mean.data(), var.data()), fn, "x is null");
  expect_error(call(good, x, nullptr, gm, bt, mean.data(), var.data()), fn, "y is null");
  expect_error(call(good, x, y.data(), nullptr, bt, mean.data(), var.data()), fn,
               "gamma is null");
  expect_error(call(good, x, y.data(), gm, nullptr, mean.data(), var.data()), fn,
               "beta is null");
  expect_error(call(good, x, y.data(), gm, bt, nullptr, var.data()), fn, "mean is null");
  expect_error(call(good, x, y.data(), gm, bt, mean.data(), nullptr), fn, "var is null");
  BatchNormDesc d = good;
  d.eps = -1.0f;
  expect_error(call(d, x, y.data(), gm, bt, mean.data(), var.data()), fn, "d.eps");
  d = good;
  d.layout = static_cast<BatchNormLayout>(-1);
  expect_error(call(d, x, y.data(), gm, bt, mean.data(), var.data()), fn, "d.layout");
  expect_error(call(good, x, y.data(), gm, bt, y.data() + 7, var.data()), fn,
               "y overlaps mean");
  std::vector<float> big(2 * total(good), 1.0f);
  expect_error(call(good, big.data(), big.data() + 1, gm, bt, mean.data(), var.data()), fn,
               "y partially overlaps x");
  for (float v : y) ASSERT_EQ(v, 5.0f);
}

TEST(BatchNormErrors, Backward) {
  const BatchNormDesc good = desc(BatchNormLayout::nc, 6, 5);
  const Data in = make_data(good, 63);
  std::vector<float> dx(total(good), 5.0f), dg(5, 5.0f), db(5, 5.0f);
  const std::vector<float> mean(5, 0.0f), invstd(5, 1.0f), ry(total(good), 1.0f);
  const std::vector<std::uint8_t> mask(total(good), 1);
  const std::string fn = "batchnorm_backward";
  auto call = [&](BatchNormDesc d, const float* x, const float* dy, const float* m,
                  const float* s, const float* gm, float* o, float* g1, float* g2,
                  const float* r, const std::uint8_t* mk) {
    return [=] { simdgrad::batchnorm_backward(d, x, dy, m, s, gm, o, g1, g2, r, mk); };
  };
  const float *x = in.x.data(), *dy = in.dy.data(), *gm = in.gamma.data();
  const float *m = mean.data(), *s = invstd.data();
  BatchNormDesc relu = good;
  relu.fuse_relu = true;
  expect_error(call(good, nullptr, dy, m, s, gm, dx.data(), dg.data(), db.data(), nullptr,
                    nullptr), fn, "x is null");
  expect_error(call(good, x, nullptr, m, s, gm, dx.data(), dg.data(), db.data(), nullptr,
                    nullptr), fn, "dy is null");
  expect_error(call(good, x, dy, m, s, gm, nullptr, dg.data(), db.data(), nullptr, nullptr), fn,
               "dx is null");
  expect_error(call(good, x, dy, nullptr, s, gm, dx.data(), dg.data(), db.data(), nullptr,
                    nullptr), fn, "save_mean is null");
  expect_error(call(good, x, dy, m, nullptr, gm, dx.data(), dg.data(), db.data(), nullptr,
                    nullptr), fn, "save_invstd is null");
  expect_error(call(good, x, dy, m, s, nullptr, dx.data(), dg.data(), db.data(), nullptr,
                    nullptr), fn, "gamma is null");
  expect_error(call(relu, x, dy, m, s, gm, dx.data(), dg.data(), db.data(), nullptr, nullptr),
               fn, "relu_y and relu_mask are both null");
  expect_error(call(relu, x, dy, m, s, gm, dx.data(), dg.data(), db.data(), ry.data(),
                    mask.data()), fn, "relu_y and relu_mask are both given");
  expect_error(call(good, x, dy, m, s, gm, dx.data(), dg.data(), db.data(), ry.data(), nullptr),
               fn, "relu_y is given but d.fuse_relu is false");
  expect_error(call(good, x, dy, m, s, gm, dx.data(), dg.data(), db.data(), nullptr,
                    mask.data()), fn, "relu_mask is given but d.fuse_relu is false");
  BatchNormDesc d = good;
  d.n = 0;
  expect_error(call(d, x, dy, m, s, gm, dx.data(), dg.data(), db.data(), nullptr, nullptr), fn,
               "d.n * d.h * d.w is 0");
  d = good;
  d.eps = std::numeric_limits<float>::quiet_NaN();
  expect_error(call(d, x, dy, m, s, gm, dx.data(), dg.data(), db.data(), nullptr, nullptr), fn,
               "d.eps");
  d = good;
  d.layout = static_cast<BatchNormLayout>(7);
  expect_error(call(d, x, dy, m, s, gm, dx.data(), dg.data(), db.data(), nullptr, nullptr), fn,
               "d.layout");
  std::vector<float> big(3 * total(good), 1.0f);
  expect_error(call(good, x, big.data(), m, s, gm, big.data() + 2, dg.data(), db.data(), nullptr,
                    nullptr), fn, "dx partially overlaps dy");
  expect_error(call(good, x, dy, m, s, gm, dx.data(), dg.data(), dg.data() + 2, nullptr, nullptr),
               fn, "dgamma overlaps dbeta");
  expect_error(call(good, x, dy, m, s, gm, dx.data(), const_cast<float*>(s), db.data(), nullptr,
                    nullptr), fn, "dgamma overlaps save_invstd");
  expect_error(call(good, x, dy, m, s, gm, dx.data(), dx.data() + 3, db.data(), nullptr, nullptr),
               fn, "dx overlaps dgamma");
  expect_error(call(relu, x, dy, m, s, gm, dx.data(), dg.data(), db.data(), nullptr,
                    reinterpret_cast<const std::uint8_t*>(dx.data())), fn,
               "dx overlaps relu_mask");
  for (float v : dx) ASSERT_EQ(v, 5.0f);
  for (float v : dg) ASSERT_EQ(v, 5.0f);
  for (float v : db) ASSERT_EQ(v, 5.0f);
}

}  // namespace
