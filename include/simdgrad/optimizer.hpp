#pragma once
// Optimizer updates, fp32, one fused pass over each parameter tensor (torch.optim semantics).
//
// Every optimizer is a parameter struct (the hyper-parameters, torch's defaults) and a step
// function over a list of tensors (a whole model in one call) or over one tensor. A tensor is a
// struct of pointers: the parameter (updated in place), its gradient (read only), the state
// buffers the rule needs (updated in place) and the element count n. Each element's update reads
// param, grad and state once and writes param and state once.
//
// Step count. The caller owns it and passes `step`: the number of this update, counting from 1
// (torch's state["step"] after its increment). step == 1 initializes the state: the state
// buffers are written, not read, exactly as torch creates them lazily on the first step
// (momentum_buffer = clone(grad) for SGD; zeros for the Adam/RMSprop buffers;
// initial_accumulator_value for Adagrad), so they need no initialization by the caller.
// For step > 1 the buffers hold the state the previous step left.
//
// Gradient scale. Every step takes grad_scale (default 1): the rule sees g = grad_scale * grad,
// computed on the fly (the gradient memory is not written). Pass the clip coefficient of
// clip_coefficient(grad_norm(...), max_norm) (clip.hpp) to clip by global norm without a pass
// that rewrites the gradients, or 1/loss_scale to unscale mixed-precision gradients.
// maximize negates g (g = -grad_scale * grad), like torch.
//
// lerp(a, b, w) is torch's: a + w * (b - a) when |w| < 0.5, else b - (1 - w) * (b - a) (exact
// at w = 1, i.e. beta1 = 0).
//
// In the formulas g is the scaled gradient, p the parameter, lr etc. the hyper-parameters,
// t = step. All hyper-parameter arithmetic (bias corrections, 1 - lr*weight_decay, ...) is done
// in double and rounded once to float, as torch does with Python floats; the element-wise
// arithmetic is fp32 with the multiply-adds fused (fma) on ISAs that have FMA (avx2, avx512,
// neon) and unfused on sse2/scalar x86-64; sqrt and division are IEEE (correctly rounded).
//
// SGD (torch.optim.SGD)                           state: momentum_buffer (momentum != 0)
//   if weight_decay != 0: g = g + weight_decay * p
//   if momentum != 0:
//     buf = (t == 1) ? g : momentum * buf + (1 - dampening) * g
//     g = nesterov ? g + momentum * buf : buf
//   p = p - lr * g
//
// Adam / AdamW (torch.optim.Adam, torch.optim.AdamW)
//                       state: exp_avg m, exp_avg_sq v, max_exp_avg_sq vmax (amsgrad only)
//   if weight_decay != 0: decoupled_weight_decay (AdamW) ? p = p * (1 - lr * weight_decay)
//                                                        : g = g + weight_decay * p
//   m = lerp(m, g, 1 - beta1)                (torch: exp_avg.lerp_(grad, 1 - beta1))
//   v = beta2 * v + (1 - beta2) * g * g
//   bc1 = 1 - beta1^t,  bc2 = 1 - beta2^t,  step_size = lr / bc1
//   if amsgrad: vmax = max(vmax, v) (NaN propagates, like torch.maximum); s = vmax, else s = v
//   denom = sqrt(s) / sqrt(bc2) + eps        (eps outside the sqrt)
//   p = p - step_size * m / denom
//
// RMSprop (torch.optim.RMSprop)
//               state: square_avg, momentum_buffer (momentum > 0), grad_avg (centered)
//   if weight_decay != 0: g = g + weight_decay * p
//   square_avg = alpha * square_avg + (1 - alpha) * g * g
//   if centered: grad_avg = lerp(grad_avg, g, 1 - alpha)
//                avg = sqrt(square_avg - grad_avg * grad_avg) + eps
//   else:        avg = sqrt(square_avg) + eps
//   if momentum > 0: buf = momentum * buf + g / avg;  p = p - lr * buf
//   else:            p = p - lr * g / avg
//
// Adagrad (torch.optim.Adagrad)                   state: sum (starts at initial_accumulator_value)
//   if weight_decay != 0: g = g + weight_decay * p
//   clr = lr / (1 + (t - 1) * lr_decay)
//   sum = sum + g * g
//   p = p - clr * g / (sqrt(sum) + eps)
//
// LAMB (You et al., "Large Batch Optimization for Deep Learning", 2019; no torch.optim class:
// the formulation of apex FusedLAMB / torch-optimizer Lamb with bias correction)
//                                                 state: exp_avg m, exp_avg_sq v
//   m = lerp(m, g, 1 - beta1),  v = beta2 * v + (1 - beta2) * g * g
//   bc1, bc2 as Adam when bias_correction, else 1
//   u = (m / bc1) / (sqrt(v) / sqrt(bc2) + eps) + weight_decay * p
//       (evaluated as (m * (1/bc1)) / (sqrt(v) * (1/sqrt(bc2)) + eps), one division)
//   per tensor: r = ||p||_2 / ||u||_2 if both norms are > 0, else 1  (the trust ratio;
//               the norms are accumulated in fp64, see clip.hpp)
//   p = p - lr * r * u
//   LAMB needs each tensor's ||u|| before it can update: it makes two passes (the first writes
//   m and v and accumulates the norms, the second recomputes u from them and writes p).
//
// Validation (simdgrad::error before any memory is written): lr, eps, betas, ... out of range or
// NaN/inf (lr >= 0, eps > 0, betas and alpha in [0, 1), momentum, weight_decay, lr_decay,
// initial_accumulator_value >= 0, dampening in [0, 1], all finite; nesterov needs momentum > 0
// and dampening == 0), step < 1, grad_scale negative or not finite, a null pointer with n > 0
// (unused state pointers may be null), and overlapping memory: within the list, all written
// buffers (params and state) must be pairwise disjoint, and no gradient may overlap a written
// buffer. Gradients may share memory with each other. eps = 0 (allowed by torch) is rejected.
//
// Threads: the list's elements are split over OpenMP threads (see docs/optimizer.md); the
// results are bitwise identical for any thread count. Any length and alignment.
#include <cstddef>
#include <cstdint>

namespace simdgrad {

// ---------------------------------------------------------------------------------------- SGD

struct SgdParams {
  float lr = 1e-3f;
  float momentum = 0.0f;
  float dampening = 0.0f;
  float weight_decay = 0.0f;
  bool nesterov = false;
  bool maximize = false;
};

struct SgdTensor {
  float* param = nullptr;
  const float* grad = nullptr;
  float* momentum_buffer = nullptr;  // needed when momentum != 0
  std::size_t n = 0;
};

void sgd_step(const SgdParams& hp, const SgdTensor* tensors, std::size_t count, std::int64_t step,
              float grad_scale = 1.0f);
void sgd_step(const SgdParams& hp, const SgdTensor& tensor, std::int64_t step,
              float grad_scale = 1.0f);

// --------------------------------------------------------------------------------- Adam/AdamW

struct AdamParams {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
  bool amsgrad = false;
  bool maximize = false;
  bool decoupled_weight_decay = false;  // true: AdamW
};

/// torch.optim.AdamW's defaults: Adam with decoupled weight decay 1e-2.
inline AdamParams adamw_params(float lr = 1e-3f, float weight_decay = 1e-2f) {
  AdamParams p;
  p.lr = lr;
  p.weight_decay = weight_decay;
  p.decoupled_weight_decay = true;
  return p;
}

struct AdamTensor {
  float* param = nullptr;
  const float* grad = nullptr;
  float* exp_avg = nullptr;
  float* exp_avg_sq = nullptr;
  float* max_exp_avg_sq = nullptr;  // needed when amsgrad
  std::size_t n = 0;
};

void adam_step(const AdamParams& hp, const AdamTensor* tensors, std::size_t count,
               std::int64_t step, float grad_scale = 1.0f);
void adam_step(const AdamParams& hp, const AdamTensor& tensor, std::int64_t step,
               float grad_scale = 1.0f);

// ------------------------------------------------------------------------------------ RMSprop

struct RmspropParams {
  float lr = 1e-2f;
  float alpha = 0.99f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
  float momentum = 0.0f;
  bool centered = false;
  bool maximize = false;
};

struct RmspropTensor {
  float* param = nullptr;
  const float* grad = nullptr;
  float* square_avg = nullptr;
  float* momentum_buffer = nullptr;  // needed when momentum > 0
  float* grad_avg = nullptr;         // needed when centered
  std::size_t n = 0;
};

void rmsprop_step(const RmspropParams& hp, const RmspropTensor* tensors, std::size_t count,
                  std::int64_t step, float grad_scale = 1.0f);
void rmsprop_step(const RmspropParams& hp, const RmspropTensor& tensor, std::int64_t step,
                  float grad_scale = 1.0f);

// ------------------------------------------------------------------------------------ Adagrad

struct AdagradParams {
  float lr = 1e-2f;
  float lr_decay = 0.0f;
  float weight_decay = 0.0f;
  float initial_accumulator_value = 0.0f;
  float eps = 1e-10f;
  bool maximize = false;
};

struct AdagradTensor {
  float* param = nullptr;
  const float* grad = nullptr;
  float* sum = nullptr;
  std::size_t n = 0;
};

void adagrad_step(const AdagradParams& hp, const AdagradTensor* tensors, std::size_t count,
                  std::int64_t step, float grad_scale = 1.0f);
void adagrad_step(const AdagradParams& hp, const AdagradTensor& tensor, std::int64_t step,
                  float grad_scale = 1.0f);

// --------------------------------------------------------------------------------------- LAMB

struct LambParams {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-6f;
  float weight_decay = 0.01f;
  bool bias_correction = true;
  bool maximize = false;
};

/// LAMB uses Adam's tensor (max_exp_avg_sq is ignored). trust_ratios, when not null, receives
/// each tensor's trust ratio r (count entries).
void lamb_step(const LambParams& hp, const AdamTensor* tensors, std::size_t count,
               std::int64_t step, float grad_scale = 1.0f, float* trust_ratios = nullptr);
void lamb_step(const LambParams& hp, const AdamTensor& tensor, std::int64_t step,
               float grad_scale = 1.0f, float* trust_ratio = nullptr);

}  // namespace simdgrad
