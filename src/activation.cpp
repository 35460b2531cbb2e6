// Activations: argument checks, threading, dispatch to the active ISA's table.
#include "simdgrad/activation.hpp"

#include "kernels/activation_table.hpp"
#include "src/dispatch.hpp"
#include "src/parallel.hpp"
#include "src/validate.hpp"

SIMDGRAD_DECLARE_KERNEL_TABLE(simdgrad::kernels::ActivationTable)

namespace simdgrad {
namespace {

using detail::fail;

bool valid_kind(Activation a) {
  const int i = static_cast<int>(a);
  return i >= 0 && i < kActivationCount;
}

// Elements per thread below which a call stays on one thread (a call splits over t threads only
// when n >= 2 * min_per_thread), by the cost per element. relu, leaky_relu and hardswish
// (memory-bound, ~8 elements/ns in L1): 2 threads win from about 32K elements with a warm OpenMP
// pool, but waking a sleeping pool costs ~50 us on the 2-core VM, so they split only from 128K,
// where 2 threads also win from a cold pool. The transcendental functions run at 1-3 elements/ns
// per core: 16K elements of gelu, sigmoid, softplus, silu or mish take 10-15 us on one core,
// against 1-2 us for a warm fork/join, and oneDNN with 2 threads was measured 1.2-1.5x ahead of
// a single-threaded simdgrad there (docs/bench.md); so they split from 16K, and elu, selu and
// tanh (about twice as fast) from 32K.
std::size_t min_per_thread(Activation a) {
  switch (a) {
    case Activation::relu:
    case Activation::leaky_relu:
    case Activation::hardswish: return std::size_t{1} << 16;
    case Activation::elu:
    case Activation::selu:
    case Activation::tanh: return std::size_t{1} << 14;
    default: return std::size_t{1} << 13;  // gelu_erf, gelu_tanh, sigmoid, softplus, silu, mish
  }
}

// Validates the activation and its alpha; returns the spec the kernels run (leaky_relu with
// alpha = 0 is relu, which keeps relu(-inf) = 0 exact).
ActivationSpec check_spec(const char* fn, ActivationSpec act) {
  if (!valid_kind(act.kind))
    fail(fn, "act.kind is not an Activation (value " +
                 std::to_string(static_cast<int>(act.kind)) + ")");
  if (act.kind == Activation::leaky_relu || act.kind == Activation::elu) {
    detail::check_finite(fn, "act.alpha", act.alpha);
    if (act.kind == Activation::elu && act.alpha < 0)
      fail(fn, "act.alpha must be >= 0 for elu, got " + detail::fmt(act.alpha));
  }
  if (act.kind == Activation::leaky_relu && act.alpha == 0.0f) return {Activation::relu, 0.0f};
  return act;
}

const kernels::ActivationTable& table() {
  return detail::active_table<kernels::ActivationTable>();
}

}  // namespace

const char* activation_name(Activation a) noexcept {
  static const char* const names[kActivationCount] = {
      "relu", "leaky_relu", "elu", "selu", "gelu_erf", "gelu_tanh", "sigmoid", "tanh",
      "softplus", "silu", "mish", "hardswish"};
  return valid_kind(a) ? names[static_cast<int>(a)] : nullptr;
}

bool activation_has_output_backward(ActivationSpec act) noexcept {
  switch (act.kind) {
    case Activation::relu:
    case Activation::sigmoid:
    case Activation::tanh: return true;
    case Activation::leaky_relu:
    case Activation::elu: return act.alpha >= 0;
    default: return false;
  }
}

void activation_forward(ActivationSpec act, const float* x, float* y, std::size_t n) {
  const char* fn = "activation_forward";
  act = check_spec(fn, act);
  detail::check_count(fn, "n", n);
  detail::check_ptr(fn, "x", x, n);
  detail::check_ptr(fn, "y", y, n);
  detail::check_alias(fn, "y", y, "x", x, n);
  if (n == 0) return;
  const auto f = table().fwd[static_cast<int>(act.kind)];
  const float alpha = act.alpha;
  detail::parallel_ranges(n, min_per_thread(act.kind), 64,
                          [&](std::size_t b, std::size_t e) { f(x + b, y + b, e - b, alpha); });
}

void activation_backward(ActivationSpec act, const float* x, const float* dy, float* dx,
                         std::size_t n) {
  const char* fn = "activation_backward";
  act = check_spec(fn, act);
  detail::check_count(fn, "n", n);
  detail::check_ptr(fn, "x", x, n);
  detail::check_ptr(fn, "dy", dy, n);
  detail::check_ptr(fn, "dx", dx, n);
  detail::check_alias(fn, "dx", static_cast<const float*>(dx), "x", x, n);
  detail::check_alias(fn, "dx", static_cast<const float*>(dx), "dy", dy, n);
  if (n == 0) return;
  const auto f = table().bwd[static_cast<int>(act.kind)];
  const float alpha = act.alpha;
  detail::parallel_ranges(n, min_per_thread(act.kind), 64, [&](std::size_t b, std::size_t e) {
    f(x + b, dy + b, dx + b, e - b, alpha);
  });
}

void activation_backward_from_output(ActivationSpec act, const float* y, const float* dy,
                                     float* dx, std::size_t n) {
  const char* fn = "activation_backward_from_output";
  act = check_spec(fn, act);
  if (!activation_has_output_backward(act))
    fail(fn, std::string("act.kind ") + activation_name(act.kind) +
                 (act.kind == Activation::leaky_relu
                      ? " with a negative alpha has no backward from the output"
                      : " has no backward from the output (its derivative is not a function of y)"));
  detail::check_count(fn, "n", n);
  detail::check_ptr(fn, "y", y, n);
  detail::check_ptr(fn, "dy", dy, n);
  detail::check_ptr(fn, "dx", dx, n);
  detail::check_alias(fn, "dx", static_cast<const float*>(dx), "y", y, n);
  detail::check_alias(fn, "dx", static_cast<const float*>(dx), "dy", dy, n);
  if (n == 0) return;
  const auto f = table().bwd_y[static_cast<int>(act.kind)];
  const float alpha = act.alpha;
  detail::parallel_ranges(n, min_per_thread(act.kind), 64, [&](std::size_t b, std::size_t e) {
    f(y + b, dy + b, dx + b, e - b, alpha);
  });
}

}  // namespace simdgrad
