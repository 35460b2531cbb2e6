#pragma once
// Element-wise activations, forward and backward, fp32.
//
// Semantics follow oneDNN's eltwise algorithms and PyTorch's definitions:
//   relu        y = max(x, 0)                       dy/dx = x > 0 ? 1 : 0
//   leaky_relu  y = x > 0 ? x : alpha*x             dy/dx = x > 0 ? 1 : alpha     (alpha default 0.01)
//   elu         y = x > 0 ? x : alpha*(e^x - 1)     dy/dx = x > 0 ? 1 : alpha*e^x (alpha default 1)
//   selu        y = scale * elu(x, a), scale = 1.0507009873554805, a = 1.6732632423543772
//   gelu_erf    y = 0.5*x*(1 + erf(x/sqrt(2)))
//   gelu_tanh   y = 0.5*x*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x^3)))
//   sigmoid     y = 1/(1 + e^-x)                    dy/dx = y*(1-y)
//   tanh        y = tanh(x)                         dy/dx = 1 - y^2
//   softplus    y = log(1 + e^x)                    dy/dx = sigmoid(x)
//   silu        y = x*sigmoid(x)  (oneDNN swish, alpha = 1)
//   mish        y = x*tanh(softplus(x))
//   hardswish   y = x*min(max(x+3, 0), 6)/6         dy/dx = x<=-3: 0, x>=3: 1, else (2x+3)/6
// Saturation is exact (sigmoid(+inf) = 1, tanh(-inf) = -1, relu(-0) = 0), NaN in gives NaN out.
// Accuracy (max error against a correctly rounded result, all fp32 inputs) is listed in README.md.
//
// Any length and alignment; y == x (in place) is allowed, any other overlap is an error.
// Long arrays run on OpenMP threads; results are bitwise identical for any thread count.
#include <cstddef>

namespace simdgrad {

enum class Activation : int {
  relu = 0, leaky_relu, elu, selu, gelu_erf, gelu_tanh, sigmoid, tanh, softplus, silu, mish,
  hardswish
};
constexpr int kActivationCount = 12;

/// "relu", "leaky_relu", ... ; nullptr for a value outside the enum.
const char* activation_name(Activation a) noexcept;

/// An activation and its parameter. Converts implicitly from Activation with the default alpha.
struct ActivationSpec {
  Activation kind = Activation::relu;
  float alpha = 0.0f;   // leaky_relu: negative slope; elu: alpha (>= 0); ignored by the others
  constexpr ActivationSpec() = default;
  constexpr ActivationSpec(Activation k)  // NOLINT: implicit on purpose
      : kind(k), alpha(k == Activation::leaky_relu ? 0.01f : k == Activation::elu ? 1.0f : 0.0f) {}
  constexpr ActivationSpec(Activation k, float a) : kind(k), alpha(a) {}
};

/// y[i] = f(x[i]) for i < n.
void activation_forward(ActivationSpec act, const float* x, float* y, std::size_t n);

/// dx[i] = dy[i] * f'(x[i]). dx may alias x or dy exactly.
void activation_backward(ActivationSpec act, const float* x, const float* dy, float* dx,
                         std::size_t n);

/// dx[i] = dy[i] * f'(x[i]) computed from the forward output y = f(x), for the activations whose
/// derivative is a function of y: relu, leaky_relu (alpha > 0), elu, sigmoid, tanh.
/// Other activations throw simdgrad::error. dx may alias y or dy exactly.
void activation_backward_from_output(ActivationSpec act, const float* y, const float* dy,
                                     float* dx, std::size_t n);

/// True when activation_backward_from_output accepts this activation.
bool activation_has_output_backward(ActivationSpec act) noexcept;

}  // namespace simdgrad
