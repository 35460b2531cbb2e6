// Optimizer steps: argument checks over the whole list, the per-call constants (in double),
// threading over the concatenated elements, dispatch to the active ISA's table.
#include "simdgrad/optimizer.hpp"

#include <cmath>
#include <string>
#include <vector>

#include "kernels/optimizer_table.hpp"
#include "src/dispatch.hpp"
#include "src/multi_tensor.hpp"
#include "src/validate.hpp"

SIMDGRAD_DECLARE_KERNEL_TABLE(simdgrad::kernels::OptimizerTable)

namespace simdgrad {
namespace {

using detail::fail;
using detail::fmt;

const kernels::OptimizerTable& table() {
  return detail::active_table<kernels::OptimizerTable>();
}

// ------------------------------------------------------------------ hyper-parameter checks

void check_step(const char* fn, std::int64_t step, float grad_scale) {
  if (step < 1)
    fail(fn, "step must be >= 1 (the number of this update, counting from 1), got " +
                 std::to_string(step));
  if (!(grad_scale >= 0.0f) || !std::isfinite(grad_scale))
    fail(fn, "grad_scale must be finite and >= 0, got " + fmt(grad_scale));
}

void check_lr(const char* fn, float lr) { detail::check_nonnegative(fn, "hp.lr", lr); }

void check_beta(const char* fn, const char* name, float b) {
  if (!(b >= 0.0f && b < 1.0f)) fail(fn, std::string(name) + " must be in [0, 1), got " + fmt(b));
}

void check_eps(const char* fn, float eps) { detail::check_positive(fn, "hp.eps", eps); }

// --------------------------------------------------------------------------- list checks

/// Checks the pointers of one tensor's fields as the caller registers them.
class TensorCheck {
 public:
  TensorCheck(const char* fn, bool single, detail::RegionSet& rs)
      : fn_(fn), single_(single), rs_(rs) {}
  void begin(std::size_t i, std::size_t n) {
    i_ = i;
    n_ = n;
    detail::check_count(fn_, detail::tensor_field(single_, i, "n").c_str(), n);
  }
  void written(const float* p, const char* field) {
    null_check(p, field);
    rs_.written(p, n_, i_, field);
  }
  void read(const float* p, const char* field) {
    null_check(p, field);
    rs_.read(p, n_, i_, field);
  }

 private:
  void null_check(const float* p, const char* field) {
    if (n_ != 0 && p == nullptr)
      fail(fn_, detail::tensor_field(single_, i_, field) + " is null with " +
                    std::to_string(n_) + " elements");
  }
  const char* fn_;
  bool single_;
  detail::RegionSet& rs_;
  std::size_t i_ = 0, n_ = 0;
};

/// Validates the list: fields(check, tensor) registers each tensor's buffers, extra(regions) any
/// other buffer the call writes. Returns the total element count.
struct NoExtra {
  void operator()(detail::RegionSet&) const {}
};

template <class T, class Fields, class Extra = NoExtra>
std::size_t check_list(const char* fn, const T* tensors, std::size_t count, bool single,
                       Fields&& fields, Extra&& extra = Extra{}) {
  if (count != 0 && tensors == nullptr)
    fail(fn, "tensors is null with " + std::to_string(count) + " tensors");
  detail::RegionSet rs;
  TensorCheck check(fn, single, rs);
  std::size_t total = 0;
  for (std::size_t i = 0; i < count; ++i) {
    check.begin(i, tensors[i].n);
    fields(check, tensors[i]);
    if (tensors[i].n > SIZE_MAX / sizeof(float) / 2 - total)
      fail(fn, "the total element count of tensors is too large");
    total += tensors[i].n;
  }
  extra(rs);
  rs.check(fn, single);
  return total;
}

template <class T>
auto size_of(const T* tensors) {
  return [tensors](std::size_t i) { return tensors[i].n; };
}

/// torch's lerp weight w (rounded to float, as torch passes it to its kernel) in the form that
/// is exact at w = 1.
kernels::LerpConsts lerp_consts(double w) {
  const float wf = static_cast<float>(w);
  if (std::fabs(wf) < 0.5f) return kernels::LerpConsts{wf, 0.0f};
  return kernels::LerpConsts{wf - 1.0f, 1.0f};
}

unsigned first_bit(std::int64_t step) { return step == 1 ? kernels::kOptFirst : 0u; }

// ------------------------------------------------------------------------------------ SGD

void sgd_impl(const char* fn, bool single, const SgdParams& hp, const SgdTensor* tensors,
              std::size_t count, std::int64_t step, float grad_scale) {
  check_lr(fn, hp.lr);
  detail::check_nonnegative(fn, "hp.momentum", hp.momentum);
  detail::check_range(fn, "hp.dampening", hp.dampening, 0.0, 1.0);
  detail::check_nonnegative(fn, "hp.weight_decay", hp.weight_decay);
  if (hp.nesterov && (hp.momentum <= 0.0f || hp.dampening != 0.0f))
    fail(fn, "hp.nesterov requires momentum > 0 and dampening == 0 (got momentum " +
                 fmt(hp.momentum) + ", dampening " + fmt(hp.dampening) + ")");
  check_step(fn, step, grad_scale);
  const bool mom = hp.momentum != 0.0f;
  const std::size_t total =
      check_list(fn, tensors, count, single, [&](TensorCheck& c, const SgdTensor& t) {
        c.written(t.param, "param");
        c.read(t.grad, "grad");
        if (mom) c.written(t.momentum_buffer, "momentum_buffer");
      });
  if (total == 0) return;

  kernels::SgdConsts k{};
  k.gscale = hp.maximize ? -grad_scale : grad_scale;
  k.weight_decay = hp.weight_decay;
  k.momentum = hp.momentum;
  k.one_minus_dampening = static_cast<float>(1.0 - static_cast<double>(hp.dampening));
  k.neg_lr = -hp.lr;
  const unsigned mode = !mom ? 0u : hp.nesterov ? 2u : 1u;
  const unsigned v = first_bit(step) | (hp.weight_decay != 0.0f ? kernels::kSgdWd : 0u) |
                     mode * kernels::kSgdModeUnit;
  const kernels::SgdFn f = table().sgd[v];
  detail::for_each_piece(count, size_of(tensors), total, detail::kListMinPerThread,
                         [&](std::size_t i, std::size_t b, std::size_t e) {
                           const SgdTensor& t = tensors[i];
                           f(k, t.param + b, t.grad + b, mom ? t.momentum_buffer + b : nullptr,
                             e - b);
                         });
}

// ----------------------------------------------------------------------------------- Adam

void adam_impl(const char* fn, bool single, const AdamParams& hp, const AdamTensor* tensors,
               std::size_t count, std::int64_t step, float grad_scale) {
  check_lr(fn, hp.lr);
  check_beta(fn, "hp.beta1", hp.beta1);
  check_beta(fn, "hp.beta2", hp.beta2);
  check_eps(fn, hp.eps);
  detail::check_nonnegative(fn, "hp.weight_decay", hp.weight_decay);
  check_step(fn, step, grad_scale);
  const std::size_t total =
      check_list(fn, tensors, count, single, [&](TensorCheck& c, const AdamTensor& t) {
        c.written(t.param, "param");
        c.read(t.grad, "grad");
        c.written(t.exp_avg, "exp_avg");
        c.written(t.exp_avg_sq, "exp_avg_sq");
        if (hp.amsgrad) c.written(t.max_exp_avg_sq, "max_exp_avg_sq");
      });
  if (total == 0) return;

  const double lr = hp.lr, b1 = hp.beta1, b2 = hp.beta2, wd = hp.weight_decay;
  const double t = static_cast<double>(step);
  const double bc1 = 1.0 - std::pow(b1, t), bc2 = 1.0 - std::pow(b2, t);
  kernels::AdamConsts k{};
  k.gscale = hp.maximize ? -grad_scale : grad_scale;
  k.weight_decay = hp.weight_decay;
  k.decay = static_cast<float>(1.0 - lr * wd);
  k.m_lerp = lerp_consts(1.0 - b1);
  k.beta2 = hp.beta2;
  k.one_minus_beta2 = static_cast<float>(1.0 - b2);
  k.neg_step_size = static_cast<float>(-(lr / bc1));
  k.bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  k.eps = hp.eps;
  const unsigned wd_mode = hp.weight_decay == 0.0f ? 0u : hp.decoupled_weight_decay ? 2u : 1u;
  const unsigned v = first_bit(step) | (hp.amsgrad ? kernels::kAdamAmsgrad : 0u) |
                     wd_mode * kernels::kAdamWdUnit;
  const kernels::AdamFn f = table().adam[v];
  const bool ams = hp.amsgrad;
  detail::for_each_piece(count, size_of(tensors), total, detail::kListMinPerThread,
                         [&](std::size_t i, std::size_t b, std::size_t e) {
                           const AdamTensor& x = tensors[i];
                           f(k, x.param + b, x.grad + b, x.exp_avg + b, x.exp_avg_sq + b,
                             ams ? x.max_exp_avg_sq + b : nullptr, e - b);
                         });
}

// -------------------------------------------------------------------------------- RMSprop

void rmsprop_impl(const char* fn, bool single, const RmspropParams& hp,
                  const RmspropTensor* tensors, std::size_t count, std::int64_t step,
                  float grad_scale) {
  check_lr(fn, hp.lr);
  check_beta(fn, "hp.alpha", hp.alpha);
  check_eps(fn, hp.eps);
  detail::check_nonnegative(fn, "hp.weight_decay", hp.weight_decay);
  detail::check_nonnegative(fn, "hp.momentum", hp.momentum);
  check_step(fn, step, grad_scale);
  const bool mom = hp.momentum > 0.0f, centered = hp.centered;
  const std::size_t total =
      check_list(fn, tensors, count, single, [&](TensorCheck& c, const RmspropTensor& t) {
        c.written(t.param, "param");
        c.read(t.grad, "grad");
        c.written(t.square_avg, "square_avg");
        if (mom) c.written(t.momentum_buffer, "momentum_buffer");
        if (centered) c.written(t.grad_avg, "grad_avg");
      });
  if (total == 0) return;

  kernels::RmspropConsts k{};
  k.gscale = hp.maximize ? -grad_scale : grad_scale;
  k.weight_decay = hp.weight_decay;
  k.alpha = hp.alpha;
  k.one_minus_alpha = static_cast<float>(1.0 - static_cast<double>(hp.alpha));
  k.avg_lerp = lerp_consts(1.0 - static_cast<double>(hp.alpha));
  k.eps = hp.eps;
  k.momentum = hp.momentum;
  k.neg_lr = -hp.lr;
  const unsigned v = first_bit(step) | (hp.weight_decay != 0.0f ? kernels::kRmsWd : 0u) |
                     (centered ? kernels::kRmsCentered : 0u) |
                     (mom ? kernels::kRmsMomentum : 0u);
  const kernels::RmspropFn f = table().rmsprop[v];
  detail::for_each_piece(count, size_of(tensors), total, detail::kListMinPerThread,
                         [&](std::size_t i, std::size_t b, std::size_t e) {
                           const RmspropTensor& x = tensors[i];
                           f(k, x.param + b, x.grad + b, x.square_avg + b,
                             mom ? x.momentum_buffer + b : nullptr,
                             centered ? x.grad_avg + b : nullptr, e - b);
                         });
}

// -------------------------------------------------------------------------------- Adagrad

void adagrad_impl(const char* fn, bool single, const AdagradParams& hp,
                  const AdagradTensor* tensors, std::size_t count, std::int64_t step,
                  float grad_scale) {
  check_lr(fn, hp.lr);
  detail::check_nonnegative(fn, "hp.lr_decay", hp.lr_decay);
  detail::check_nonnegative(fn, "hp.weight_decay", hp.weight_decay);
  detail::check_nonnegative(fn, "hp.initial_accumulator_value", hp.initial_accumulator_value);
  check_eps(fn, hp.eps);
  check_step(fn, step, grad_scale);
  const std::size_t total =
      check_list(fn, tensors, count, single, [&](TensorCheck& c, const AdagradTensor& t) {
        c.written(t.param, "param");
        c.read(t.grad, "grad");
        c.written(t.sum, "sum");
      });
  if (total == 0) return;

  const double clr =
      static_cast<double>(hp.lr) /
      (1.0 + static_cast<double>(step - 1) * static_cast<double>(hp.lr_decay));
  kernels::AdagradConsts k{};
  k.gscale = hp.maximize ? -grad_scale : grad_scale;
  k.weight_decay = hp.weight_decay;
  k.initial = hp.initial_accumulator_value;
  k.eps = hp.eps;
  k.neg_clr = static_cast<float>(-clr);
  const unsigned v = first_bit(step) | (hp.weight_decay != 0.0f ? kernels::kAdagradWd : 0u);
  const kernels::AdagradFn f = table().adagrad[v];
  detail::for_each_piece(count, size_of(tensors), total, detail::kListMinPerThread,
                         [&](std::size_t i, std::size_t b, std::size_t e) {
                           const AdagradTensor& x = tensors[i];
                           f(k, x.param + b, x.grad + b, x.sum + b, e - b);
                         });
}

// ----------------------------------------------------------------------------------- LAMB

void lamb_impl(const char* fn, bool single, const LambParams& hp, const AdamTensor* tensors,
               std::size_t count, std::int64_t step, float grad_scale, float* trust_ratios) {
  check_lr(fn, hp.lr);
  check_beta(fn, "hp.beta1", hp.beta1);
  check_beta(fn, "hp.beta2", hp.beta2);
  check_eps(fn, hp.eps);
  detail::check_nonnegative(fn, "hp.weight_decay", hp.weight_decay);
  check_step(fn, step, grad_scale);
  const std::size_t total = check_list(
      fn, tensors, count, single,
      [&](TensorCheck& c, const AdamTensor& t) {
        c.written(t.param, "param");
        c.read(t.grad, "grad");
        c.written(t.exp_avg, "exp_avg");
        c.written(t.exp_avg_sq, "exp_avg_sq");
      },
      [&](detail::RegionSet& rs) {
        rs.written_other(trust_ratios, single ? 1 : count, single ? "trust_ratio" : "trust_ratios");
      });

  const double lr = hp.lr, b1 = hp.beta1, b2 = hp.beta2;
  const double t = static_cast<double>(step);
  const double bc1 = hp.bias_correction ? 1.0 - std::pow(b1, t) : 1.0;
  const double bc2 = hp.bias_correction ? 1.0 - std::pow(b2, t) : 1.0;
  kernels::LambConsts k{};
  k.gscale = hp.maximize ? -grad_scale : grad_scale;
  k.m_lerp = lerp_consts(1.0 - b1);
  k.beta2 = hp.beta2;
  k.one_minus_beta2 = static_cast<float>(1.0 - b2);
  k.rbc1 = static_cast<float>(1.0 / bc1);
  k.rbc2_sqrt = static_cast<float>(1.0 / std::sqrt(bc2));
  k.eps = hp.eps;
  k.weight_decay = hp.weight_decay;
  const unsigned v = first_bit(step) | (hp.weight_decay != 0.0f ? kernels::kLambWd : 0u);
  const kernels::OptimizerTable& tab = table();

  std::vector<double> ratio(count, 1.0);
  if (total != 0) {
    // Pass 1: m, v and each block's sum p^2, sum u^2.
    const detail::BlockPlan plan(count, size_of(tensors));
    std::vector<double> psq(plan.blocks.size()), usq(plan.blocks.size());
    const kernels::LambNormsFn norms = tab.lamb_norms[v];
    plan.run(detail::kListMinPerThread, [&](std::size_t bi, const detail::BlockPlan::Block& b) {
      const AdamTensor& x = tensors[b.tensor];
      double ps = 0.0, us = 0.0;
      norms(k, x.param + b.begin, x.grad + b.begin, x.exp_avg + b.begin,
            x.exp_avg_sq + b.begin, b.len, &ps, &us);
      psq[bi] = ps;
      usq[bi] = us;
    });
    for (std::size_t i = 0; i < count; ++i) {
      double ps = 0.0, us = 0.0;
      for (std::size_t bi = plan.first[i]; bi < plan.first[i + 1]; ++bi) {
        ps += psq[bi];
        us += usq[bi];
      }
      const double wn = std::sqrt(ps), un = std::sqrt(us);
      ratio[i] = (wn > 0.0 && un > 0.0) ? wn / un : 1.0;
    }
    // Pass 2: p -= lr * r * u.
    const kernels::LambApplyFn apply = tab.lamb_apply[v];
    detail::for_each_piece(count, size_of(tensors), total, detail::kListMinPerThread,
                           [&](std::size_t i, std::size_t b, std::size_t e) {
                             const AdamTensor& x = tensors[i];
                             apply(k, static_cast<float>(-lr * ratio[i]), x.param + b,
                                   x.exp_avg + b, x.exp_avg_sq + b, e - b);
                           });
  }
  if (trust_ratios)
    for (std::size_t i = 0; i < count; ++i) trust_ratios[i] = static_cast<float>(ratio[i]);
}

}  // namespace

// ------------------------------------------------------------------------- entry points

void sgd_step(const SgdParams& hp, const SgdTensor* tensors, std::size_t count, std::int64_t step,
              float grad_scale) {
  sgd_impl("sgd_step", false, hp, tensors, count, step, grad_scale);
}
void sgd_step(const SgdParams& hp, const SgdTensor& tensor, std::int64_t step, float grad_scale) {
  sgd_impl("sgd_step", true, hp, &tensor, 1, step, grad_scale);
}

void adam_step(const AdamParams& hp, const AdamTensor* tensors, std::size_t count,
               std::int64_t step, float grad_scale) {
  adam_impl("adam_step", false, hp, tensors, count, step, grad_scale);
}
void adam_step(const AdamParams& hp, const AdamTensor& tensor, std::int64_t step,
               float grad_scale) {
  adam_impl("adam_step", true, hp, &tensor, 1, step, grad_scale);
}

void rmsprop_step(const RmspropParams& hp, const RmspropTensor* tensors, std::size_t count,
                  std::int64_t step, float grad_scale) {
  rmsprop_impl("rmsprop_step", false, hp, tensors, count, step, grad_scale);
}
void rmsprop_step(const RmspropParams& hp, const RmspropTensor& tensor, std::int64_t step,
                  float grad_scale) {
  rmsprop_impl("rmsprop_step", true, hp, &tensor, 1, step, grad_scale);
}

void adagrad_step(const AdagradParams& hp, const AdagradTensor* tensors, std::size_t count,
                  std::int64_t step, float grad_scale) {
  adagrad_impl("adagrad_step", false, hp, tensors, count, step, grad_scale);
}
void adagrad_step(const AdagradParams& hp, const AdagradTensor& tensor, std::int64_t step,
                  float grad_scale) {
  adagrad_impl("adagrad_step", true, hp, &tensor, 1, step, grad_scale);
}

void lamb_step(const LambParams& hp, const AdamTensor* tensors, std::size_t count,
               std::int64_t step, float grad_scale, float* trust_ratios) {
  lamb_impl("lamb_step", false, hp, tensors, count, step, grad_scale, trust_ratios);
}
void lamb_step(const LambParams& hp, const AdamTensor& tensor, std::int64_t step,
               float grad_scale, float* trust_ratio) {
  lamb_impl("lamb_step", true, hp, &tensor, 1, step, grad_scale, trust_ratio);
}

}  // namespace simdgrad
