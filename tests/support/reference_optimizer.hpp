#pragma once
// Double-precision references for the optimizer updates, written line by line after torch.optim's
// single-tensor implementations (torch/optim/{sgd,adam,adamw,rmsprop,adagrad}.py,
// _single_tensor_* functions, torch 2.x) and, for LAMB, after apex FusedLAMB / torch-optimizer's
// Lamb with bias correction. The hyper-parameters are the float values simdgrad receives, widened
// to double. The gradient is the fp32 gradient times grad_scale (in double); step counts from 1.
//
// Shared by tests/test_optimizer.cpp and the benchmarks (bench/ includes "support/...").
#include <simdgrad/optimizer.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace sgref {

/// The gradient the rule sees: grad_scale * grad, negated for maximize.
inline double scaled_grad(float g, double scale, bool maximize) {
  const double x = static_cast<double>(g) * scale;
  return maximize ? -x : x;
}

// torch.optim.SGD
//   grad = grad if not maximize else -grad
//   if weight_decay != 0: grad = grad.add(param, alpha=weight_decay)
//   if momentum != 0:
//     buf = clone(grad) on the first step, else buf.mul_(momentum).add_(grad, alpha=1-dampening)
//     grad = grad.add(buf, alpha=momentum) if nesterov else buf
//   param.add_(grad, alpha=-lr)
inline void sgd(const simdgrad::SgdParams& hp, std::int64_t step, double scale, double* p,
                const float* grad, double* buf, std::size_t n) {
  const double lr = hp.lr, mom = hp.momentum, damp = hp.dampening, wd = hp.weight_decay;
  for (std::size_t i = 0; i < n; ++i) {
    double g = scaled_grad(grad[i], scale, hp.maximize);
    if (wd != 0) g = g + wd * p[i];
    if (mom != 0) {
      if (step == 1) buf[i] = g;
      else buf[i] = buf[i] * mom + (1 - damp) * g;
      g = hp.nesterov ? g + mom * buf[i] : buf[i];
    }
    p[i] = p[i] - lr * g;
  }
}

// torch.optim.Adam / AdamW (decoupled_weight_decay)
//   if weight_decay != 0: AdamW: param.mul_(1 - lr * weight_decay)
//                         Adam:  grad = grad.add(param, alpha=weight_decay)
//   exp_avg.lerp_(grad, 1 - beta1)
//   exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
//   bias_correction1 = 1 - beta1 ** step; bias_correction2 = 1 - beta2 ** step
//   step_size = lr / bias_correction1; bias_correction2_sqrt = sqrt(bias_correction2)
//   amsgrad: torch.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq), denom from it
//   denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
//   param.addcdiv_(exp_avg, denom, value=-step_size)
// State starts at zero (step 1).
inline void adam(const simdgrad::AdamParams& hp, std::int64_t step, double scale, double* p,
                 const float* grad, double* m, double* v, double* vmax, std::size_t n) {
  const double lr = hp.lr, b1 = hp.beta1, b2 = hp.beta2, eps = hp.eps, wd = hp.weight_decay;
  const double t = static_cast<double>(step);
  const double bc1 = 1 - std::pow(b1, t), bc2 = 1 - std::pow(b2, t);
  const double step_size = lr / bc1, bc2_sqrt = std::sqrt(bc2);
  for (std::size_t i = 0; i < n; ++i) {
    if (step == 1) {
      m[i] = 0;
      v[i] = 0;
      if (vmax) vmax[i] = 0;
    }
    double g = scaled_grad(grad[i], scale, hp.maximize);
    if (wd != 0) {
      if (hp.decoupled_weight_decay) p[i] = p[i] * (1 - lr * wd);
      else g = g + wd * p[i];
    }
    m[i] = m[i] + (1 - b1) * (g - m[i]);
    v[i] = v[i] * b2 + (1 - b2) * g * g;
    double s = v[i];
    if (hp.amsgrad) {
      vmax[i] = (std::isnan(vmax[i]) || std::isnan(v[i]))
                    ? std::numeric_limits<double>::quiet_NaN()
                    : std::max(vmax[i], v[i]);
      s = vmax[i];
    }
    const double denom = std::sqrt(s) / bc2_sqrt + eps;
    p[i] = p[i] - step_size * m[i] / denom;
  }
}

// torch.optim.RMSprop
//   if weight_decay != 0: grad = grad.add(param, alpha=weight_decay)
//   square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
//   centered: grad_avg.lerp_(grad, 1 - alpha)
//             avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
//   else:     avg = square_avg.sqrt()
//   avg = avg.add_(eps)
//   momentum > 0: buf.mul_(momentum).addcdiv_(grad, avg); param.add_(buf, alpha=-lr)
//   else:         param.addcdiv_(grad, avg, value=-lr)
// State starts at zero (step 1).
inline void rmsprop(const simdgrad::RmspropParams& hp, std::int64_t step, double scale, double* p,
                    const float* grad, double* sq, double* buf, double* gavg, std::size_t n) {
  const double lr = hp.lr, alpha = hp.alpha, eps = hp.eps, wd = hp.weight_decay,
               mom = hp.momentum;
  for (std::size_t i = 0; i < n; ++i) {
    if (step == 1) {
      sq[i] = 0;
      if (buf) buf[i] = 0;
      if (gavg) gavg[i] = 0;
    }
    double g = scaled_grad(grad[i], scale, hp.maximize);
    if (wd != 0) g = g + wd * p[i];
    sq[i] = sq[i] * alpha + (1 - alpha) * g * g;
    double avg;
    if (hp.centered) {
      gavg[i] = gavg[i] + (1 - alpha) * (g - gavg[i]);
      avg = std::sqrt(sq[i] - gavg[i] * gavg[i]);
    } else {
      avg = std::sqrt(sq[i]);
    }
    avg = avg + eps;
    if (mom > 0) {
      buf[i] = buf[i] * mom + g / avg;
      p[i] = p[i] - lr * buf[i];
    } else {
      p[i] = p[i] - lr * g / avg;
    }
  }
}

// torch.optim.Adagrad
//   if weight_decay != 0: grad = grad.add(param, alpha=weight_decay)
//   clr = lr / (1 + (step - 1) * lr_decay)
//   state_sum.addcmul_(grad, grad, value=1)
//   std = state_sum.sqrt().add_(eps)
//   param.addcdiv_(grad, std, value=-clr)
// state_sum starts at initial_accumulator_value (step 1).
inline void adagrad(const simdgrad::AdagradParams& hp, std::int64_t step, double scale, double* p,
                    const float* grad, double* sum, std::size_t n) {
  const double lr = hp.lr, decay = hp.lr_decay, wd = hp.weight_decay, eps = hp.eps;
  const double clr = lr / (1 + static_cast<double>(step - 1) * decay);
  for (std::size_t i = 0; i < n; ++i) {
    if (step == 1) sum[i] = hp.initial_accumulator_value;
    double g = scaled_grad(grad[i], scale, hp.maximize);
    if (wd != 0) g = g + wd * p[i];
    sum[i] = sum[i] + g * g;
    const double sd = std::sqrt(sum[i]) + eps;
    p[i] = p[i] - clr * g / sd;
  }
}

// LAMB (You et al. 2019), per tensor:
//   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
//   u = (m / bc1) / (sqrt(v / bc2) + eps) + weight_decay p   (bc = 1 without bias correction)
//   r = ||p|| / ||u|| when both are > 0, else 1;  p = p - lr r u
// Returns r. State starts at zero (step 1).
inline double lamb(const simdgrad::LambParams& hp, std::int64_t step, double scale, double* p,
                   const float* grad, double* m, double* v, std::size_t n) {
  const double lr = hp.lr, b1 = hp.beta1, b2 = hp.beta2, eps = hp.eps, wd = hp.weight_decay;
  const double t = static_cast<double>(step);
  const double bc1 = hp.bias_correction ? 1 - std::pow(b1, t) : 1.0;
  const double bc2 = hp.bias_correction ? 1 - std::pow(b2, t) : 1.0;
  std::vector<double> u(n);
  double pn = 0, un = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (step == 1) m[i] = v[i] = 0;
    const double g = scaled_grad(grad[i], scale, hp.maximize);
    m[i] = b1 * m[i] + (1 - b1) * g;
    v[i] = b2 * v[i] + (1 - b2) * g * g;
    u[i] = (m[i] / bc1) / (std::sqrt(v[i] / bc2) + eps) + wd * p[i];
    pn += p[i] * p[i];
    un += u[i] * u[i];
  }
  pn = std::sqrt(pn);
  un = std::sqrt(un);
  const double r = (pn > 0 && un > 0) ? pn / un : 1.0;
  for (std::size_t i = 0; i < n; ++i) p[i] = p[i] - lr * r * u[i];
  return r;
}

}  // namespace sgref
