#pragma once
// The optimizer family's kernel table (one per ISA). Plain data: no xsimd, included anywhere.
//
// Each rule has a few compile-time variants (first step, weight decay mode, amsgrad, ...), so
// that the hot loop carries no branch and skips what the hyper-parameters switch off (torch
// skips a zero weight decay, which matters for p = inf). The per-call constants are computed in
// double by src/optimizer.cpp and rounded once to float.
#include <cstddef>

namespace simdgrad::kernels {

/// torch's lerp(self, end, w) = self + w * (end - self) when |w| < 0.5, else
/// end - (1 - w) * (end - self) (exact at w = 1): fmadd(coeff, end - self, from_end ? end : self).
struct LerpConsts {
  float coeff;               // w, or w - 1
  float from_end;            // 0: base self, 1: base end
};

// Variant bits shared by the rules.
constexpr unsigned kOptFirst = 1;   // step == 1: the state is written, not read

struct SgdConsts {
  float gscale;               // grad_scale, negated for maximize
  float weight_decay;
  float momentum;
  float one_minus_dampening;
  float neg_lr;
};
// Variant = kOptFirst | kSgdWd | mode * kSgdModeUnit, mode 0: no momentum, 1: momentum,
// 2: Nesterov.
constexpr unsigned kSgdWd = 2;
constexpr unsigned kSgdModeUnit = 4;
constexpr unsigned kSgdVariants = 12;
using SgdFn = void (*)(const SgdConsts& k, float* p, const float* g, float* buf, std::size_t n);

struct AdamConsts {
  float gscale;
  float weight_decay;        // L2 mode: g += weight_decay * p
  float decay;               // decoupled mode: p *= decay = 1 - lr * weight_decay
  LerpConsts m_lerp;         // exp_avg.lerp_(grad, 1 - beta1)
  float beta2;
  float one_minus_beta2;
  float neg_step_size;       // -lr / (1 - beta1^t)
  float bc2_sqrt;            // sqrt(1 - beta2^t)
  float eps;
};
// Variant = kOptFirst | kAdamAmsgrad | wd_mode * kAdamWdUnit, wd_mode 0: none, 1: L2,
// 2: decoupled.
constexpr unsigned kAdamAmsgrad = 2;
constexpr unsigned kAdamWdUnit = 4;
constexpr unsigned kAdamVariants = 12;
using AdamFn = void (*)(const AdamConsts& k, float* p, const float* g, float* m, float* v,
                        float* vmax, std::size_t n);

struct RmspropConsts {
  float gscale;
  float weight_decay;
  float alpha;
  float one_minus_alpha;
  LerpConsts avg_lerp;       // grad_avg.lerp_(grad, 1 - alpha)
  float eps;
  float momentum;
  float neg_lr;
};
constexpr unsigned kRmsWd = 2;
constexpr unsigned kRmsCentered = 4;
constexpr unsigned kRmsMomentum = 8;
constexpr unsigned kRmsVariants = 16;
using RmspropFn = void (*)(const RmspropConsts& k, float* p, const float* g, float* sq,
                           float* buf, float* gavg, std::size_t n);

struct AdagradConsts {
  float gscale;
  float weight_decay;
  float initial;             // initial_accumulator_value (read on the first step)
  float eps;
  float neg_clr;             // -lr / (1 + (t - 1) * lr_decay)
};
constexpr unsigned kAdagradWd = 2;
constexpr unsigned kAdagradVariants = 4;
using AdagradFn = void (*)(const AdagradConsts& k, float* p, const float* g, float* sum,
                           std::size_t n);

struct LambConsts {
  float gscale;
  LerpConsts m_lerp;         // m = lerp(m, g, 1 - beta1)
  float beta2;
  float one_minus_beta2;
  float rbc1;                // 1 / (1 - beta1^t) (1 without bias correction)
  float rbc2_sqrt;           // 1 / sqrt(1 - beta2^t) (1 without bias correction)
  float eps;
  float weight_decay;
};
constexpr unsigned kLambWd = 2;
constexpr unsigned kLambVariants = 4;
/// Pass 1: updates m and v, adds sum p^2 and sum u^2 (fp64) of the n elements to *p_sq, *u_sq.
using LambNormsFn = void (*)(const LambConsts& k, const float* p, const float* g, float* m,
                             float* v, std::size_t n, double* p_sq, double* u_sq);
/// Pass 2: p += neg_lr_trust * u, with u recomputed from p, m, v exactly as in pass 1.
using LambApplyFn = void (*)(const LambConsts& k, float neg_lr_trust, float* p, const float* m,
                             const float* v, std::size_t n);

struct OptimizerTable {
  SgdFn sgd[kSgdVariants];
  AdamFn adam[kAdamVariants];
  RmspropFn rmsprop[kRmsVariants];
  AdagradFn adagrad[kAdagradVariants];
  LambNormsFn lamb_norms[kLambVariants];
  LambApplyFn lamb_apply[kLambVariants];  // indexed by kLambWd only (kOptFirst ignored)
};

}  // namespace simdgrad::kernels
