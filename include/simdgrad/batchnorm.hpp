#pragma once
// Batch normalization, fp32: forward training, forward inference, backward, optional fused ReLU.
//
// Semantics follow oneDNN's batch_normalization (biased batch variance for normalizing) and
// PyTorch's running statistics:
//   mean[c]   = sum_i x[i,c] / M                     M = N*H*W, the values per channel
//   var[c]    = sum_i (x[i,c] - mean[c])^2 / M       (biased)
//   invstd[c] = 1 / sqrt(var[c] + eps)
//   y[i,c]    = gamma[c] * (x[i,c] - mean[c]) * invstd[c] + beta[c]       (then max(y, 0) if
//                                                                           fuse_relu)
//   running_mean = (1 - momentum) * running_mean + momentum * mean
//   running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)   (unbiased)
// gamma = 1 without use_scale, beta = 0 without use_shift (those pointers are then not read).
//
// Layouts: nchw (x[((n*C + c)*H + h)*W + w]), nhwc (x[((n*H + h)*W + w)*C + c]) and nc (the 2-D
// activations of a dense layer, x[n*C + c]; H and W must be 1).
//
// Statistics are computed in one pass over x with shifted sums (each block of data is summed
// about one of its own values, blocks are merged in double precision in a fixed order), so that
// data far from zero (mean 1e4, standard deviation 1e-2) still gets its variance right, and so
// that results are bitwise identical for any thread count. See docs/batchnorm.md for the passes
// over memory each call makes.
//
// Aliasing: y may be x (in place); dx may be x, dy or relu_y. Every other pair of buffers must be
// disjoint; any overlap, and every other invalid argument, throws simdgrad::error before anything
// is written.
#include <cstddef>
#include <cstdint>

namespace simdgrad {

enum class BatchNormLayout : int { nchw = 0, nhwc = 1, nc = 2 };

/// The shape and options shared by the three entry points.
struct BatchNormDesc {
  BatchNormLayout layout = BatchNormLayout::nchw;
  std::size_t n = 0, c = 0, h = 1, w = 1;
  float eps = 1e-5f;       // > 0, finite
  bool use_scale = true;   // gamma is given (oneDNN use_scale)
  bool use_shift = true;   // beta is given (oneDNN use_shift)
  bool fuse_relu = false;  // y = max(bn(x), 0) (oneDNN fuse_norm_relu)
};

/// Forward training. Reads x, gamma[C] (use_scale), beta[C] (use_shift); writes y (N*C*H*W),
/// save_mean[C] and save_invstd[C] (required: the backward's inputs). When running_mean and
/// running_var are given (both or neither; C values each, read and written) they are updated
/// with momentum in [0, 1]; that needs M = N*H*W > 1 (the unbiased variance). With fuse_relu,
/// relu_mask (optional, N*C*H*W bytes, same layout as y) receives 1 where y > 0, else 0.
/// M must be > 0 unless C = 0.
void batchnorm_forward_training(const BatchNormDesc& d, const float* x, float* y,
                                const float* gamma, const float* beta, float* save_mean,
                                float* save_invstd, float* running_mean = nullptr,
                                float* running_var = nullptr, float momentum = 0.1f,
                                std::uint8_t* relu_mask = nullptr);

/// Forward inference from given statistics (mean[C], var[C], e.g. the running ones):
/// y = gamma * (x - mean) / sqrt(var + eps) + beta, then max(y, 0) with fuse_relu.
/// var must be >= 0 for the result to be meaningful (it is not checked, NaN propagates).
void batchnorm_forward_inference(const BatchNormDesc& d, const float* x, float* y,
                                 const float* gamma, const float* beta, const float* mean,
                                 const float* var);

/// Backward of forward training: from x, dy and the saved statistics, writes
///   dx     = gamma*invstd * (g - mean(g) - xhat * mean(g * xhat)),   xhat = (x - mean)*invstd
///   dgamma = sum(g * xhat),  dbeta = sum(g)                            (per channel)
/// where g = dy, or with fuse_relu g = dy where the forward output was > 0 and 0 elsewhere:
/// give exactly one of relu_y (the forward output y) and relu_mask (bytes, nonzero where y > 0,
/// as batchnorm_forward_training writes it). dgamma and dbeta are optional (nullptr: not
/// computed); gamma is read when use_scale. save_mean is used as a shift and corrected by the
/// batch's own residual mean(x) - save_mean, measured in the same pass, so the fp32 rounding of
/// the saved mean does not reach dx for data with a large mean. M must be > 0 unless C = 0.
void batchnorm_backward(const BatchNormDesc& d, const float* x, const float* dy,
                        const float* save_mean, const float* save_invstd, const float* gamma,
                        float* dx, float* dgamma, float* dbeta, const float* relu_y = nullptr,
                        const std::uint8_t* relu_mask = nullptr);

}  // namespace simdgrad
