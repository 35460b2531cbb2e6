#pragma once
// Row-wise softmax and losses, forward and backward, fp32, numerically stable for any finite
// logits (|x| up to 1e4 and beyond: every exponent is taken of x - max <= 0, every log of a sum
// in [1, classes]).
//
// Matrices are row-major with a leading dimension (ld = 0 means "equal to the row length").
// Losses use PyTorch's mean reduction and return it as a float; they accumulate in double over a
// fixed blocking, so results are bitwise identical for any thread count (and for ISAs of the same
// formula family: avx2 = avx512 (= neon), sse2 = scalar on x86-64).
// An empty batch returns NaN (PyTorch's mean over nothing) and writes nothing.
// Errors throw simdgrad::error before anything is written.
#include <cstddef>
#include <cstdint>

namespace simdgrad {

// --------------------------------------------------------------------------------- softmax

/// y[r][j] = exp(x[r][j] - m) / sum_k exp(x[r][k] - m), m = max_k x[r][k].
/// y == x (with ldy == ldx) is allowed in place; any other overlap is an error.
void softmax_forward(const float* x, float* y, std::size_t rows, std::size_t cols,
                     std::size_t ldx = 0, std::size_t ldy = 0);
/// y[r][j] = (x[r][j] - m) - log(sum_k exp(x[r][k] - m)).
void log_softmax_forward(const float* x, float* y, std::size_t rows, std::size_t cols,
                         std::size_t ldx = 0, std::size_t ldy = 0);
/// From the softmax output y: dx = y * (dy - sum_k dy_k y_k). dx may alias dy exactly.
void softmax_backward(const float* y, const float* dy, float* dx, std::size_t rows,
                      std::size_t cols, std::size_t ldy = 0, std::size_t lddy = 0,
                      std::size_t lddx = 0);
/// From the log-softmax output y: dx = dy - exp(y) * sum_k dy_k. dx may alias dy exactly.
void log_softmax_backward(const float* y, const float* dy, float* dx, std::size_t rows,
                          std::size_t cols, std::size_t ldy = 0, std::size_t lddy = 0,
                          std::size_t lddx = 0);

// ---------------------------------------------------------------------- softmax cross-entropy

/// torch.nn.CrossEntropyLoss(label_smoothing = eps), class-index targets, mean over the batch:
///   loss = (1/B) sum_r [ (1 - eps) (lse_r - x[r][t_r]) + eps/C sum_j (lse_r - x[r][j]) ],
///   lse_r = log sum_j exp(x[r][j]),
/// evaluated as log(s_r) + (1 - eps)(m_r - x[r][t_r]) + eps/C sum_j (m_r - x[r][j]), every term
/// >= 0 (no cancellation). logits: batch x classes, leading dimension ld. targets[r] in
/// [0, classes); label_smoothing in [0, 1].
float softmax_cross_entropy_forward(const float* logits, const std::int32_t* targets,
                                    std::size_t batch, std::size_t classes,
                                    float label_smoothing = 0.0f, std::size_t ld = 0);

/// d(dloss * loss)/dlogits = dloss / B * (softmax(x) - (1 - eps) onehot(t) - eps / C).
/// dlogits may be the logits array itself (same leading dimension).
void softmax_cross_entropy_backward(const float* logits, const std::int32_t* targets,
                                    std::size_t batch, std::size_t classes, float dloss,
                                    float* dlogits, float label_smoothing = 0.0f,
                                    std::size_t ld = 0, std::size_t ld_dlogits = 0);

/// Forward and backward in one pass over the logits (the gradient for dloss = 1); returns the
/// loss. dlogits may be the logits array itself.
float softmax_cross_entropy(const float* logits, const std::int32_t* targets, std::size_t batch,
                            std::size_t classes, float* dlogits, float label_smoothing = 0.0f,
                            std::size_t ld = 0, std::size_t ld_dlogits = 0);

// ------------------------------------------------------------------- binary cross-entropy

/// torch.nn.BCEWithLogitsLoss, mean over n: l = max(x, 0) - x y + log(1 + exp(-|x|)), written
/// as (x >= 0 ? x (1 - y) : -x y) + log1p(exp(-|x|)). Any real targets (soft labels allowed).
float bce_with_logits_forward(const float* logits, const float* targets, std::size_t n);
/// dlogits = dloss / n * (sigmoid(x) - y). dlogits may alias logits or targets exactly.
void bce_with_logits_backward(const float* logits, const float* targets, std::size_t n,
                              float dloss, float* dlogits);
/// Both in one pass (dloss = 1); returns the loss.
float bce_with_logits(const float* logits, const float* targets, std::size_t n, float* dlogits);

// ---------------------------------------------------------------------- mean squared error

/// torch.nn.MSELoss: mean over n of (pred - target)^2.
float mse_forward(const float* pred, const float* target, std::size_t n);
/// dpred = dloss * 2 (pred - target) / n. dpred may alias pred or target exactly.
void mse_backward(const float* pred, const float* target, std::size_t n, float dloss,
                  float* dpred);
/// Both in one pass (dloss = 1); returns the loss.
float mse(const float* pred, const float* target, std::size_t n, float* dpred);

}  // namespace simdgrad
