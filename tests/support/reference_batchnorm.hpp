#pragma once
// Double-precision reference batch normalization, written from the definitions in
// include/simdgrad/batchnorm.hpp: two-pass statistics in double (mean, then the sum of squared
// deviations about it), so that no cancellation spoils them, whatever the data's offset.
#include <simdgrad/batchnorm.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sgref {

/// Index of element (n, c, s) (s = h*W + w) in the layout of d.
inline std::size_t bn_index(const simdgrad::BatchNormDesc& d, std::size_t n, std::size_t c,
                            std::size_t s) {
  const std::size_t hw = d.h * d.w;
  if (d.layout == simdgrad::BatchNormLayout::nchw) return (n * d.c + c) * hw + s;
  return (n * hw + s) * d.c + c;  // nhwc, nc
}

struct BnStats {
  std::vector<double> mean, var;  // var biased
};

/// Batch mean and biased variance per channel.
inline BnStats bn_stats(const simdgrad::BatchNormDesc& d, const float* x) {
  const std::size_t hw = d.h * d.w, M = d.n * hw;
  BnStats st{std::vector<double>(d.c, 0.0), std::vector<double>(d.c, 0.0)};
  for (std::size_t c = 0; c < d.c; ++c) {
    double s = 0;
    for (std::size_t n = 0; n < d.n; ++n)
      for (std::size_t i = 0; i < hw; ++i) s += x[bn_index(d, n, c, i)];
    const double mean = s / static_cast<double>(M);
    double q = 0;
    for (std::size_t n = 0; n < d.n; ++n)
      for (std::size_t i = 0; i < hw; ++i) {
        const double t = x[bn_index(d, n, c, i)] - mean;
        q += t * t;
      }
    st.mean[c] = mean;
    st.var[c] = q / static_cast<double>(M);
  }
  return st;
}

/// y = gamma * (x - mean) / sqrt(var + eps) + beta (then ReLU with d.fuse_relu).
inline std::vector<double> bn_normalize(const simdgrad::BatchNormDesc& d, const float* x,
                                        const float* gamma, const float* beta,
                                        const std::vector<double>& mean,
                                        const std::vector<double>& var) {
  const std::size_t hw = d.h * d.w;
  std::vector<double> y(d.n * d.c * hw);
  for (std::size_t c = 0; c < d.c; ++c) {
    const double s = 1.0 / std::sqrt(var[c] + static_cast<double>(d.eps));
    const double gm = d.use_scale ? gamma[c] : 1.0, bt = d.use_shift ? beta[c] : 0.0;
    for (std::size_t n = 0; n < d.n; ++n)
      for (std::size_t i = 0; i < hw; ++i) {
        const std::size_t k = bn_index(d, n, c, i);
        double v = gm * (x[k] - mean[c]) * s + bt;
        if (d.fuse_relu && !(v > 0)) v = 0;
        y[k] = v;
      }
  }
  return y;
}

struct BnGrad {
  std::vector<double> dx, dgamma, dbeta;
};

/// Backward of forward training at the batch's own mean (computed here from x) and the given
/// inverse standard deviation; g = dy, masked by relu_mask (nonzero: keep) when given.
inline BnGrad bn_backward(const simdgrad::BatchNormDesc& d, const float* x, const float* dy,
                          const float* invstd, const float* gamma,
                          const std::uint8_t* relu_mask = nullptr) {
  const std::size_t hw = d.h * d.w, M = d.n * hw;
  const BnStats st = bn_stats(d, x);
  BnGrad r{std::vector<double>(d.n * d.c * hw), std::vector<double>(d.c),
           std::vector<double>(d.c)};
  auto grad = [&](std::size_t k) { return relu_mask && !relu_mask[k] ? 0.0 : double(dy[k]); };
  for (std::size_t c = 0; c < d.c; ++c) {
    const double s = invstd[c], gm = d.use_scale ? gamma[c] : 1.0;
    double sg = 0, sgx = 0;
    for (std::size_t n = 0; n < d.n; ++n)
      for (std::size_t i = 0; i < hw; ++i) {
        const std::size_t k = bn_index(d, n, c, i);
        sg += grad(k);
        sgx += grad(k) * (x[k] - st.mean[c]) * s;
      }
    r.dbeta[c] = sg;
    r.dgamma[c] = sgx;
    for (std::size_t n = 0; n < d.n; ++n)
      for (std::size_t i = 0; i < hw; ++i) {
        const std::size_t k = bn_index(d, n, c, i);
        const double xhat = (x[k] - st.mean[c]) * s;
        r.dx[k] = gm * s * (grad(k) - sg / M - xhat * sgx / M);
      }
  }
  return r;
}

}  // namespace sgref
