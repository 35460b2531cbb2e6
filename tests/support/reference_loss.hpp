#pragma once
// Double-precision references for the loss family (softmax, log-softmax, softmax cross-entropy
// with PyTorch's label smoothing, BCE with logits, MSE), written from the definitions. Shared by
// tests and benchmarks.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sgref {

/// log-softmax of one row, in double.
inline std::vector<double> log_softmax_row(const float* x, std::size_t c) {
  double m = -INFINITY;
  for (std::size_t j = 0; j < c; ++j) m = std::max(m, static_cast<double>(x[j]));
  double s = 0;
  for (std::size_t j = 0; j < c; ++j) s += std::exp(static_cast<double>(x[j]) - m);
  const double ls = std::log(s);
  std::vector<double> y(c);
  for (std::size_t j = 0; j < c; ++j) y[j] = (static_cast<double>(x[j]) - m) - ls;
  return y;
}

/// PyTorch's CrossEntropyLoss(label_smoothing = eps) of one row, literally:
/// (1 - eps) * (-log p_t) + eps * mean_j(-log p_j).
inline double cross_entropy_row(const float* x, std::size_t c, std::int32_t t, double eps) {
  const std::vector<double> lp = log_softmax_row(x, c);
  double mean = 0;
  for (double v : lp) mean += -v;
  mean /= static_cast<double>(c);
  return (1 - eps) * -lp[static_cast<std::size_t>(t)] + eps * mean;
}

/// d loss_row / d x_j = p_j - (1 - eps) [j == t] - eps / c.
inline std::vector<double> cross_entropy_row_grad(const float* x, std::size_t c, std::int32_t t,
                                                  double eps) {
  std::vector<double> g = log_softmax_row(x, c);
  for (std::size_t j = 0; j < c; ++j)
    g[j] = std::exp(g[j]) - eps / static_cast<double>(c) -
           (j == static_cast<std::size_t>(t) ? 1 - eps : 0.0);
  return g;
}

/// BCE with logits of one element: max(x, 0) - x y + log(1 + exp(-|x|)).
inline double bce_with_logits(double x, double y) {
  return std::max(x, 0.0) - x * y + std::log1p(std::exp(-std::fabs(x)));
}
inline double sigmoid(double x) {
  return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x));
}

}  // namespace sgref
