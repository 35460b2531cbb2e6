#pragma once
// Gradient clipping, weight clipping and gradient health, fp32, over lists of tensors.
//
// Norms (torch.nn.utils.clip_grad_norm_ / get_total_norm semantics):
//   l1:   ||g||_1   = sum |g_i|            total = sum of the tensors' norms
//   l2:   ||g||_2   = sqrt(sum g_i^2)      total = sqrt(sum of the tensors' squared norms)
//   linf: ||g||_inf = max |g_i|            total = max of the tensors' norms
// A NaN element makes the norm NaN; an infinite one (and no NaN) makes it inf.
//
// Accuracy. Sums are accumulated in fp64: each element is widened to double (its square is
// exact there), each tensor is cut into fixed blocks of 16384 elements counted from its own
// start, a block's lanes are summed in a fixed order, and the blocks of a tensor and then the
// tensors are added in index order. The result does not depend on the thread count (bitwise),
// nor on the other tensors in the list, and it carries no fp32 loss however many elements are
// summed: the relative error of a sum is at most (16384 + blocks) * 2^-53, under 1e-11 for a
// billion elements, where a plain fp32 running sum loses all digits. Squares do not overflow or underflow in fp64, so gradients near 1e30 or below 1e-19
// (whose fp32 squares would be inf or 0) give their true norm. The norms are returned as double.
//
// Threads: OpenMP over the blocks of all tensors (one parallel region per call, however many
// tensors). Any length and alignment.
#include <cstddef>

namespace simdgrad {

/// A tensor a function writes (gradients to clip, weights to clamp).
struct TensorView {
  float* data = nullptr;
  std::size_t n = 0;
};
/// A tensor a function only reads.
struct ConstTensorView {
  const float* data = nullptr;
  std::size_t n = 0;
};

enum class Norm : int { l1 = 1, l2 = 2, linf = 3 };

/// The total norm of the list (see above). Reads only.
double grad_norm(const ConstTensorView* grads, std::size_t count, Norm norm = Norm::l2);

/// The clip coefficient torch's clip_grad_norm_ multiplies by: min(max_norm / (total_norm +
/// 1e-6), 1), computed in double and rounded to float. NaN when total_norm is NaN (as torch);
/// 0 when it is inf. Pass it as grad_scale to an optimizer step (optimizer.hpp) to clip on the fly.
float clip_coefficient(double total_norm, float max_norm);

/// torch.nn.utils.clip_grad_norm_: computes the total norm, then, where
/// c = max_norm / (total_norm + 1e-6) is below 1, multiplies every gradient by float(c).
/// Returns the total norm. A NaN total norm multiplies every gradient by NaN, as torch does,
/// unless error_if_nonfinite is set: then a NaN or infinite total norm throws simdgrad::error
/// and no gradient is written. max_norm must be finite and >= 0.
/// The gradients must be pairwise disjoint.
double clip_grad_norm(const TensorView* grads, std::size_t count, float max_norm,
                      Norm norm = Norm::l2, bool error_if_nonfinite = false);

/// torch.nn.utils.clip_grad_value_: g = clamp(g, -clip_value, clip_value); NaN stays NaN.
/// clip_value must be >= 0 and not NaN (inf leaves the gradients unchanged).
void clip_grad_value(const TensorView* grads, std::size_t count, float clip_value);

/// Weight clipping (WGAN): p = clamp(p, lo, hi) after the step; NaN stays NaN.
/// lo <= hi, neither NaN (either may be infinite).
void clip_weights(const TensorView* params, std::size_t count, float lo, float hi);

/// Gradient health of one tensor or of a whole list, from one pass over the gradients.
struct GradHealth {
  std::size_t count = 0;           // elements
  double l2_norm = 0;              // sqrt(sum g^2), fp64 (NaN if any NaN, inf if any inf)
  float max_abs = 0;               // max |g| (NaN if any NaN)
  double mean_abs = 0;             // sum |g| / count, fp64 (0 when count == 0)
  std::size_t nan_count = 0;       // elements that are NaN
  std::size_t inf_count = 0;       // elements that are +-inf
  std::size_t below_count = 0;     // elements with |g| < threshold (NaN never counts)
  double fraction_below = 0;       // below_count / count (0 when count == 0)
};

/// Health of every tensor (per_tensor[i], when per_tensor is not null) and of the whole list
/// (returned). per_tensor_count must equal count when per_tensor is given (0 otherwise).
/// threshold: finite, >= 0 (the "vanishing" bound, e.g. 1e-8).
GradHealth grad_health(const ConstTensorView* grads, std::size_t count, float threshold,
                       GradHealth* per_tensor = nullptr, std::size_t per_tensor_count = 0);

}  // namespace simdgrad
