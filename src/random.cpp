// Random numbers, initialization and dropout: argument checks, threading, dispatch.
#include "simdgrad/random.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "kernels/random_table.hpp"
#include "src/dispatch.hpp"
#include "src/parallel.hpp"
#include "src/validate.hpp"

SIMDGRAD_DECLARE_KERNEL_TABLE(simdgrad::kernels::RandomTable)

namespace simdgrad {
namespace {

using detail::fail;
using kernels::PhiloxKey;

constexpr std::uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;  // Philox Weyl constants
constexpr std::uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;  // Philox multipliers

// Elements per thread below which a call stays on one thread (~20-40 us of work).
constexpr std::size_t kMinPerThread = std::size_t{1} << 15;
// Thread ranges start at multiples of a chunk (64 elements), so mask bytes are never shared.
constexpr std::size_t kAlign = 64;

const kernels::RandomTable& table() { return detail::active_table<kernels::RandomTable>(); }

PhiloxKey make_key(std::uint64_t seed) {
  PhiloxKey k;
  std::uint32_t k0 = static_cast<std::uint32_t>(seed), k1 = static_cast<std::uint32_t>(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    k.k0[r] = k0;
    k.k1[r] = k1;
    k0 += kW0;
    k1 += kW1;
  }
  return k;
}

void check_stream(const char* fn, RandomStream s, std::size_t n) {
  detail::check_count(fn, "n", n);
  if (static_cast<std::uint64_t>(n) > std::numeric_limits<std::uint64_t>::max() - s.offset)
    fail(fn, "n overflows the stream (s.offset + n > 2^64)");
}

template <class F>
void run_ranges(std::size_t n, F&& f) {
  detail::parallel_ranges(n, kMinPerThread, kAlign, f);
}

void fill_uniform(const char* fn, RandomStream s, float* out, std::size_t n, float lo, float hi) {
  check_stream(fn, s, n);
  detail::check_ptr(fn, "out", out, n);
  if (n == 0) return;
  const PhiloxKey key = make_key(s.seed);
  const float width = hi - lo;
  const auto f = table().uniform;
  run_ranges(n, [&](std::size_t b, std::size_t e) { f(key, s.offset + b, out + b, e - b, lo, width); });
}

void fill_normal(const char* fn, RandomStream s, float* out, std::size_t n, float mean,
                 float stddev) {
  check_stream(fn, s, n);
  detail::check_ptr(fn, "out", out, n);
  if (n == 0) return;
  const PhiloxKey key = make_key(s.seed);
  const auto f = table().normal;
  run_ranges(n, [&](std::size_t b, std::size_t e) {
    f(key, s.offset + b, out + b, e - b, mean, stddev);
  });
}

void check_gain(const char* fn, float gain) { detail::check_nonnegative(fn, "gain", gain); }

void check_fans(const char* fn, Fans fans) {
  if (fans.fan_in == 0) fail(fn, "fans.fan_in must be > 0");
  if (fans.fan_out == 0) fail(fn, "fans.fan_out must be > 0");
}

std::size_t pick_fan(const char* fn, Fans fans, FanMode mode) {
  const int m = static_cast<int>(mode);
  if (m != 0 && m != 1)
    fail(fn, "mode is not a FanMode (value " + std::to_string(m) + ")");
  const std::size_t fan = mode == FanMode::fan_in ? fans.fan_in : fans.fan_out;
  if (fan == 0)
    fail(fn, std::string("fans.") + (mode == FanMode::fan_in ? "fan_in" : "fan_out") +
                 " must be > 0");
  return fan;
}

double gain_of(const char* fn, Nonlinearity nl, double param) {
  switch (nl) {
    case Nonlinearity::linear:
    case Nonlinearity::sigmoid: return 1.0;
    case Nonlinearity::tanh: return 5.0 / 3.0;
    case Nonlinearity::relu: return std::sqrt(2.0);
    case Nonlinearity::leaky_relu:
      detail::check_finite(fn, "negative slope", param);
      return std::sqrt(2.0 / (1.0 + param * param));
    case Nonlinearity::selu: return 0.75;
  }
  fail(fn, "nonlinearity is not a Nonlinearity (value " + std::to_string(static_cast<int>(nl)) +
               ")");
}

// ---- truncated normal: pick the rejection proposal with the best acceptance rate

double phi_upper(double x) { return 0.5 * std::erfc(x / std::sqrt(2.0)); }  // P(Z > x)

// I(alpha, beta) = integral over [0, beta - alpha] of exp(-(alpha u + u^2 / 2)) du, alpha >= 0
// (composite Simpson over the part where the integrand exceeds e^-50).
double tail_integral(double alpha, double beta) {
  const double cut = 100.0 / (alpha + std::sqrt(alpha * alpha + 100.0));  // alpha u + u^2/2 = 50
  const double U = std::isinf(beta) ? cut : std::min(beta - alpha, cut);
  const int m = 2048;
  const double h = U / m;
  auto g = [alpha](double u) { return std::exp(-(alpha * u + 0.5 * u * u)); };
  double s = g(0) + g(U);
  for (int i = 1; i < m; ++i) s += (i % 2 ? 4.0 : 2.0) * g(i * h);
  return s * h / 3.0;
}

kernels::TruncNormalSpec trunc_spec(const char* fn, float mean, float stddev, float a, float b) {
  detail::check_finite(fn, "mean", mean);
  detail::check_positive(fn, "stddev", stddev);
  if (std::isnan(a)) fail(fn, "a must not be NaN");
  if (std::isnan(b)) fail(fn, "b must not be NaN");
  if (!(a < b)) fail(fn, "a must be < b, got a = " + detail::fmt(a) + ", b = " + detail::fmt(b));
  double alpha = (static_cast<double>(a) - mean) / stddev;
  double beta = (static_cast<double>(b) - mean) / stddev;
  for (double v : {alpha, beta})
    if (std::isfinite(v) && std::fabs(v) > 1e30)
      fail(fn, "a and b must be within 1e30 standard deviations of the mean (or infinite)");
  double scale = stddev;
  if (beta <= 0) {  // all in the lower tail: mirror
    const double t = alpha;
    alpha = -beta;
    beta = -t;
    scale = -scale;
  }
  kernels::TruncNormalSpec sp{};
  const double w = beta - alpha;
  const double rt2pi = std::sqrt(2.0 * 3.14159265358979323846);
  double r_normal, r_uniform, r_exp = 0, x0 = 0, lambda = 0;
  if (alpha < 0) {  // contains 0
    r_normal = 1.0 - phi_upper(beta) - phi_upper(-alpha);
    r_uniform = std::isinf(w) ? 0.0 : rt2pi * r_normal / w;
  } else {
    const double I = tail_integral(alpha, beta);
    x0 = alpha;
    r_normal = std::exp(-0.5 * alpha * alpha) / rt2pi * I;
    r_uniform = std::isinf(w) ? 0.0 : I / w;
    const double root = std::sqrt(alpha * alpha + 4.0);
    lambda = 0.5 * (alpha + root);
    const double gap = 2.0 / (alpha + root);  // lambda - alpha, without cancellation
    r_exp = lambda * I * std::exp(-0.5 * gap * gap);
  }
  // The best of the three accepts at least ~0.3 of its proposals for every interval.
  const double best = std::max(r_normal, std::max(r_uniform, r_exp));
  sp.mode = best == r_normal ? 0 : best == r_uniform ? 1 : 2;
  sp.alpha = static_cast<float>(alpha);
  sp.beta = static_cast<float>(beta);
  sp.width = static_cast<float>(w);
  sp.x0sq = static_cast<float>(x0 * x0);
  sp.lambda = static_cast<float>(lambda);
  sp.inv_lambda = lambda > 0 ? static_cast<float>(1.0 / lambda) : 0.0f;
  sp.mean = mean;
  sp.scale = static_cast<float>(scale);
  sp.lo = a;
  sp.hi = b;
  return sp;
}

void check_dropout_p(const char* fn, float p) {
  if (!(p >= 0.0f && p < 1.0f)) fail(fn, "p must be in [0, 1), got " + detail::fmt(p));
}

float dropout_scale(float p) { return static_cast<float>(1.0 / (1.0 - static_cast<double>(p))); }

}  // namespace

RandomStream Generator::take(std::uint64_t n) {
  if (n > std::numeric_limits<std::uint64_t>::max() - offset_)
    fail("Generator::take", "n overflows the stream (offset + n > 2^64)");
  const RandomStream s{seed_, offset_};
  offset_ += n;
  return s;
}

std::array<std::uint32_t, 4> philox4x32_10(std::array<std::uint32_t, 4> c,
                                           std::array<std::uint32_t, 2> k) noexcept {
  for (int r = 0; r < 10; ++r) {
    const std::uint64_t p0 = static_cast<std::uint64_t>(kM0) * c[0];
    const std::uint64_t p1 = static_cast<std::uint64_t>(kM1) * c[2];
    c = {static_cast<std::uint32_t>(p1 >> 32) ^ c[1] ^ k[0], static_cast<std::uint32_t>(p1),
         static_cast<std::uint32_t>(p0 >> 32) ^ c[3] ^ k[1], static_cast<std::uint32_t>(p0)};
    k[0] += kW0;
    k[1] += kW1;
  }
  return c;
}

void random_bits(RandomStream s, std::uint32_t* out, std::size_t n) {
  const char* fn = "random_bits";
  check_stream(fn, s, n);
  detail::check_ptr(fn, "out", out, n);
  if (n == 0) return;
  const PhiloxKey key = make_key(s.seed);
  const auto f = table().bits;
  run_ranges(n, [&](std::size_t b, std::size_t e) { f(key, s.offset + b, out + b, e - b); });
}

void random_uniform(RandomStream s, float* out, std::size_t n, float lo, float hi) {
  const char* fn = "random_uniform";
  detail::check_finite(fn, "lo", lo);
  detail::check_finite(fn, "hi", hi);
  if (!(lo <= hi)) fail(fn, "lo must be <= hi, got lo = " + detail::fmt(lo) + ", hi = " + detail::fmt(hi));
  if (!std::isfinite(hi - lo)) fail(fn, "hi - lo overflows float");
  fill_uniform(fn, s, out, n, lo, hi);
}

void random_normal(RandomStream s, float* out, std::size_t n, float mean, float stddev) {
  const char* fn = "random_normal";
  detail::check_finite(fn, "mean", mean);
  detail::check_nonnegative(fn, "stddev", stddev);
  fill_normal(fn, s, out, n, mean, stddev);
}

void trunc_normal(RandomStream s, float* out, std::size_t n, float mean, float stddev, float a,
                  float b) {
  const char* fn = "trunc_normal";
  const kernels::TruncNormalSpec sp = trunc_spec(fn, mean, stddev, a, b);
  check_stream(fn, s, n);
  detail::check_ptr(fn, "out", out, n);
  if (n == 0) return;
  const PhiloxKey key = make_key(s.seed);
  const auto f = table().trunc_normal;
  run_ranges(n, [&](std::size_t lo, std::size_t hi) {
    f(key, sp, s.offset + lo, out + lo, hi - lo);
  });
}

Fans fans_of(std::size_t out_features, std::size_t in_features, std::size_t receptive_field) {
  const char* fn = "fans_of";
  return {detail::checked_mul(fn, "in_features * receptive_field", in_features, receptive_field),
          detail::checked_mul(fn, "out_features * receptive_field", out_features, receptive_field)};
}

float calculate_gain(Nonlinearity nl, float param) {
  return static_cast<float>(gain_of("calculate_gain", nl, param));
}

void xavier_uniform(RandomStream s, float* w, std::size_t n, Fans fans, float gain) {
  const char* fn = "xavier_uniform";
  check_gain(fn, gain);
  check_fans(fn, fans);
  const double sd = gain * std::sqrt(2.0 / (static_cast<double>(fans.fan_in) + fans.fan_out));
  const float bound = static_cast<float>(std::sqrt(3.0) * sd);
  fill_uniform(fn, s, w, n, -bound, bound);
}

void xavier_normal(RandomStream s, float* w, std::size_t n, Fans fans, float gain) {
  const char* fn = "xavier_normal";
  check_gain(fn, gain);
  check_fans(fn, fans);
  const double sd = gain * std::sqrt(2.0 / (static_cast<double>(fans.fan_in) + fans.fan_out));
  fill_normal(fn, s, w, n, 0.0f, static_cast<float>(sd));
}

void kaiming_uniform(RandomStream s, float* w, std::size_t n, Fans fans, float a, FanMode mode,
                     Nonlinearity nl) {
  const char* fn = "kaiming_uniform";
  const std::size_t fan = pick_fan(fn, fans, mode);
  const double sd = gain_of(fn, nl, a) / std::sqrt(static_cast<double>(fan));
  const float bound = static_cast<float>(std::sqrt(3.0) * sd);
  fill_uniform(fn, s, w, n, -bound, bound);
}

void kaiming_normal(RandomStream s, float* w, std::size_t n, Fans fans, float a, FanMode mode,
                    Nonlinearity nl) {
  const char* fn = "kaiming_normal";
  const std::size_t fan = pick_fan(fn, fans, mode);
  const double sd = gain_of(fn, nl, a) / std::sqrt(static_cast<double>(fan));
  fill_normal(fn, s, w, n, 0.0f, static_cast<float>(sd));
}

void dropout_forward(RandomStream s, float p, const float* x, float* y, std::size_t n,
                     std::uint8_t* mask) {
  const char* fn = "dropout_forward";
  check_dropout_p(fn, p);
  check_stream(fn, s, n);
  detail::check_ptr(fn, "x", x, n);
  detail::check_ptr(fn, "y", y, n);
  detail::check_alias(fn, "y", static_cast<const float*>(y), "x", x, n);
  const std::size_t nbytes = (n + 7) / 8;
  if (mask) {
    detail::check_disjoint(fn, "mask", mask, nbytes, "x", x, n);
    detail::check_disjoint(fn, "mask", mask, nbytes, "y", y, n);
  }
  if (n == 0) return;
  const PhiloxKey key = make_key(s.seed);
  const float scale = dropout_scale(p);
  const auto f = table().dropout;
  run_ranges(n, [&](std::size_t b, std::size_t e) {
    f(key, s.offset + b, p, scale, x + b, y + b, e - b, mask ? mask + b / 8 : nullptr);
  });
  if (mask && n % 8) mask[n / 8] &= static_cast<std::uint8_t>((1u << (n % 8)) - 1u);
}

void dropout_backward(RandomStream s, float p, const float* dy, float* dx, std::size_t n) {
  const char* fn = "dropout_backward";
  check_dropout_p(fn, p);
  check_stream(fn, s, n);
  detail::check_ptr(fn, "dy", dy, n);
  detail::check_ptr(fn, "dx", dx, n);
  detail::check_alias(fn, "dx", static_cast<const float*>(dx), "dy", dy, n);
  if (n == 0) return;
  const PhiloxKey key = make_key(s.seed);
  const float scale = dropout_scale(p);
  const auto f = table().dropout;
  run_ranges(n, [&](std::size_t b, std::size_t e) {
    f(key, s.offset + b, p, scale, dy + b, dx + b, e - b, nullptr);
  });
}

void dropout_backward(const std::uint8_t* mask, float p, const float* dy, float* dx,
                      std::size_t n) {
  const char* fn = "dropout_backward";
  check_dropout_p(fn, p);
  detail::check_count(fn, "n", n);
  detail::check_ptr(fn, "mask", mask, n);
  detail::check_ptr(fn, "dy", dy, n);
  detail::check_ptr(fn, "dx", dx, n);
  detail::check_alias(fn, "dx", static_cast<const float*>(dx), "dy", dy, n);
  detail::check_disjoint(fn, "dx", dx, n, "mask", mask, (n + 7) / 8);
  if (n == 0) return;
  const float scale = dropout_scale(p);
  const auto f = table().dropout_mask;
  run_ranges(n, [&](std::size_t b, std::size_t e) { f(mask + b / 8, scale, dy + b, dx + b, e - b); });
}

}  // namespace simdgrad
