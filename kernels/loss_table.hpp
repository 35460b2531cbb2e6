#pragma once
// The loss family's kernel table (one per ISA): row-wise softmax / log-softmax forward and
// backward, fused softmax cross-entropy, binary cross-entropy with logits, mean squared error.
// Plain data: no xsimd, included anywhere.
#include <cstddef>
#include <cstdint>

namespace simdgrad::kernels {

/// rows x cols: y = softmax(x) (log_softmax when log != 0), row by row.
using SoftmaxFn = void (*)(const float* x, std::size_t ldx, float* y, std::size_t ldy,
                           std::size_t rows, std::size_t cols, int log);
/// dx from the forward output y and dy (log != 0: of log_softmax).
using SoftmaxBwdFn = void (*)(const float* y, std::size_t ldy, const float* dy, std::size_t lddy,
                              float* dx, std::size_t lddx, std::size_t rows, std::size_t cols,
                              int log);
/// Sum over the rows (in row order, in double) of the label-smoothed cross-entropy of each row;
/// when dx is not null it receives gscale * (softmax - (1 - eps) onehot - eps / cols).
/// dx may be x itself (lddx == ldx).
using CrossEntropyFn = double (*)(const float* x, std::size_t ldx, const std::int32_t* targets,
                                  std::size_t rows, std::size_t cols, float eps, float gscale,
                                  float* dx, std::size_t lddx);
/// Sum of the element losses (in double, over groups of 256 from the start of the call); when
/// dx is not null it receives gscale * dloss/dx per element.
using ElementLossFn = double (*)(const float* x, const float* y, std::size_t n, float gscale,
                                 float* dx);

struct LossTable {
  SoftmaxFn softmax;
  SoftmaxBwdFn softmax_bwd;
  CrossEntropyFn cross_entropy;
  ElementLossFn bce;
  ElementLossFn mse;
};

}  // namespace simdgrad::kernels
