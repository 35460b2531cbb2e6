#pragma once
// Double-precision reference activations (forward and derivative), written from the definitions
// in include/simdgrad/activation.hpp, evaluated so that no cancellation spoils them.
#include <simdgrad/activation.hpp>

#include <cmath>

namespace sgref {

constexpr double kSeluScale = 1.0507009873554804934193349852946;
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSqrt2OverPi = 0.79788456080286535587989211986876;  // sqrt(2/pi)
constexpr double kGeluK = 0.044715;

inline double sigmoid(double x) {
  return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x));
}
inline double softplus(double x) {
  return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

/// tanh(softplus(x)) = ((1+u)^2 - 1) / ((1+u)^2 + 1), u = e^x, written without cancellation.
inline double tanh_softplus(double x) {
  if (x > 0) {
    const double e = std::exp(-x);
    return (1 + 2 * e) / (1 + 2 * e + 2 * e * e);
  }
  const double u = std::exp(x), n = u * (u + 2);
  return n / (n + 2);
}

/// f(x); alpha as ActivationSpec::alpha. The input is the float x widened to double.
inline double forward(simdgrad::ActivationSpec a, double x) {
  using simdgrad::Activation;
  if (std::isnan(x)) return x;
  switch (a.kind) {
    case Activation::relu: return x > 0 ? x : 0.0;
    case Activation::leaky_relu: return x > 0 ? x : a.alpha * x;
    case Activation::elu: return x > 0 ? x : a.alpha * std::expm1(x);
    case Activation::selu: return kSeluScale * (x > 0 ? x : kSeluAlpha * std::expm1(x));
    case Activation::gelu_erf:
      if (std::isinf(x)) return x > 0 ? x : -0.0;
      return 0.5 * x * std::erfc(-x / std::sqrt(2.0));
    case Activation::gelu_tanh: {
      if (std::isinf(x)) return x > 0 ? x : 0.0;
      const double u = kSqrt2OverPi * (x + kGeluK * x * x * x);
      return x * sigmoid(2 * u);  // 0.5*(1 + tanh(u)) = sigmoid(2u)
    }
    case Activation::sigmoid: return sigmoid(x);
    case Activation::tanh: return std::tanh(x);
    case Activation::softplus: return softplus(x);
    case Activation::silu: return std::isinf(x) ? (x > 0 ? x : 0.0) : x * sigmoid(x);
    case Activation::mish: return std::isinf(x) ? (x > 0 ? x : 0.0) : x * tanh_softplus(x);
    case Activation::hardswish:
      return x <= -3 ? 0.0 : x >= 3 ? x : x * (x + 3) / 6;
  }
  return NAN;
}

/// f'(x).
inline double derivative(simdgrad::ActivationSpec a, double x) {
  using simdgrad::Activation;
  if (std::isnan(x)) return x;
  switch (a.kind) {
    case Activation::relu: return x > 0 ? 1.0 : 0.0;
    case Activation::leaky_relu: return x > 0 ? 1.0 : a.alpha;
    case Activation::elu: return x > 0 ? 1.0 : a.alpha * std::exp(x);
    case Activation::selu: return kSeluScale * (x > 0 ? 1.0 : kSeluAlpha * std::exp(x));
    case Activation::gelu_erf: {
      if (std::isinf(x)) return x > 0 ? 1.0 : 0.0;
      const double pdf = std::exp(-0.5 * x * x) / std::sqrt(2.0 * M_PI);
      return 0.5 * std::erfc(-x / std::sqrt(2.0)) + x * pdf;
    }
    case Activation::gelu_tanh: {
      if (std::fabs(x) > 30) return x > 0 ? 1.0 : 0.0;  // the rest is below 1e-300
      const double u = kSqrt2OverPi * (x + kGeluK * x * x * x);
      const double s = sigmoid(2 * u);
      const double du = kSqrt2OverPi * (1 + 3 * kGeluK * x * x);
      return s + x * 2 * s * (1 - s) * du;
    }
    case Activation::sigmoid: {
      const double s = sigmoid(x);
      return s * (1 - s);
    }
    case Activation::tanh: {
      const double t = std::tanh(x);
      return 1 - t * t;
    }
    case Activation::softplus: return sigmoid(x);
    case Activation::silu: {
      if (std::isinf(x)) return x > 0 ? 1.0 : 0.0;
      const double s = sigmoid(x);
      return s + x * s * (1 - s);
    }
    case Activation::mish: {
      if (std::isinf(x)) return x > 0 ? 1.0 : 0.0;
      const double t = std::tanh(softplus(x));
      return t + x * (1 - t * t) * sigmoid(x);
    }
    case Activation::hardswish: return x <= -3 ? 0.0 : x >= 3 ? 1.0 : (2 * x + 3) / 6;
  }
  return NAN;
}

}  // namespace sgref
