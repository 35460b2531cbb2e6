// Every fp32 input (all 2^32 bit patterns) of every transcendental activation, forward, against a
// double-precision reference, on the best ISA of each formula family this CPU runs (fused: avx512,
// avx2 or neon; unfused: sse2, or scalar on x86-64). Records the maximum error in ULP where the
// correctly rounded result is a normal float (or overflows) and the maximum absolute error where it
// is subnormal or zero, prints the table and asserts the bounds documented in docs/accuracy.md.
//
// The reference is sgref::forward (libm in double) for 2^-25 <= |x| < 128. Outside that range
// every function is given by a short closed form that is exact to far below 2^-60 relative there
// (so the error measured against it is the true error): a Taylor polynomial for |x| < 2^-25
// (truncation error below |x|^4 < 2^-100 relative) and the saturated value for |x| >= 128 (the
// neglected term is below e^-128 relative: 1, 0, -alpha, x, lambda x, ...).
//
// Every input is evaluated and compared, except where the output is the saturated constant by
// construction: for x <= -128 every kernel clamps its argument in its first operations (sigmoid
// and silu at -120, tanh at |x| = 9.25, elu/selu in expm1 at -30, softplus at -120, gelu_erf at
// |x| = 14.5, gelu_tanh at |x| = 11, mish at -120; hardswish selects 0 below -3), so all of
// [-inf, -128] computes the same constant, and likewise x >= 128 for sigmoid (clamped at 40) and
// tanh; NaN inputs propagate by arithmetic. Those ranges (a quarter to a third of the bit
// patterns) are checked on every 4093rd pattern and both ends of each block of 2^22, against the
// same reference.
//
// Environment: SIMDGRAD_EXHAUSTIVE_STRIDE=k checks every k-th bit pattern only (for a quick look;
// the bounds are asserted either way).
#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <omp.h>

#include "common.hpp"
#include "support/reference_activation.hpp"

using simdgrad::Activation;
using simdgrad::ActivationSpec;

namespace {

struct Bound {
  ActivationSpec spec;
  const char* name;
  double ulp;  // documented max error in ULP (normal results)
  double abs;  // documented max absolute error (subnormal and zero results)
};

// The documented bounds (docs/accuracy.md): the ULP bound where the result is a normal number,
// and an absolute bound of two steps of the smallest subnormal (2^-148) where it is subnormal or
// zero (the measured maxima are 0 to 1.5 steps, from results computed as a product or sum of
// normal numbers and rounded once into the subnormals).
const std::vector<Bound>& bounds() {
  constexpr double kSub = 0x1p-148;
  static const std::vector<Bound> b = {
      {{Activation::sigmoid}, "sigmoid", 2.0, kSub},
      {{Activation::tanh}, "tanh", 2.0, kSub},
      {{Activation::elu, 1.0f}, "elu", 2.0, kSub},
      {{Activation::selu}, "selu", 2.0, kSub},
      {{Activation::softplus}, "softplus", 2.0, kSub},
      {{Activation::silu}, "silu", 2.0, kSub},
      {{Activation::gelu_erf}, "gelu_erf", 4.0, kSub},
      {{Activation::gelu_tanh}, "gelu_tanh", 4.0, kSub},
      {{Activation::mish}, "mish", 4.0, kSub},
      {{Activation::hardswish}, "hardswish", 1.0, kSub},
  };
  return b;
}

constexpr double kSqrt2Pi = 2.5066282746310005024;

// Taylor polynomials at 0, |x| < 2^-25 (K is the activation, a compile-time constant so that the
// per-element loop below has no switch).
template <Activation K>
double series(double alpha, double x) {
  const double x2 = x * x, x3 = x2 * x;
  if constexpr (K == Activation::sigmoid) return 0.5 + x / 4 - x3 / 48;
  if constexpr (K == Activation::tanh) return x - x3 / 3;
  if constexpr (K == Activation::elu) return x > 0 ? x : alpha * (x + x2 / 2 + x3 / 6);
  if constexpr (K == Activation::selu)
    return sgref::kSeluScale * (x > 0 ? x : sgref::kSeluAlpha * (x + x2 / 2 + x3 / 6));
  if constexpr (K == Activation::softplus) return 0.69314718055994530942 + x / 2 + x2 / 8;
  if constexpr (K == Activation::silu) return x * (0.5 + x / 4 - x3 / 48);
  if constexpr (K == Activation::gelu_erf) return x * (0.5 + x / kSqrt2Pi - x3 / (6 * kSqrt2Pi));
  if constexpr (K == Activation::gelu_tanh) {
    const double v = 2 * sgref::kSqrt2OverPi * (x + sgref::kGeluK * x3);
    return x * (0.5 + v / 4 - v * v * v / 48);
  }
  if constexpr (K == Activation::mish) {
    const double u = 1 + x + x2 / 2 + x3 / 6;  // e^x
    const double n = u * (u + 2);
    return x * n / (n + 2);
  }
  if constexpr (K == Activation::hardswish) return x / 2 + x2 / 6;
  return NAN;
}

// Saturated values, |x| >= 128 (finite or infinite x).
template <Activation K>
double saturated(double alpha, double x) {
  const bool pos = x > 0;
  if constexpr (K == Activation::sigmoid) return pos ? 1.0 : 0.0;
  if constexpr (K == Activation::tanh) return pos ? 1.0 : -1.0;
  if constexpr (K == Activation::elu) return pos ? x : -alpha;
  if constexpr (K == Activation::selu)
    return pos ? sgref::kSeluScale * x : -sgref::kSeluScale * sgref::kSeluAlpha;
  return pos ? x : 0.0;  // softplus, silu, gelu_erf, gelu_tanh, mish, hardswish
}

template <Activation K>
double reference(ActivationSpec a, float xf) {
  const double x = xf, ax = std::fabs(x);
  if (ax < 0x1p-25) return series<K>(a.alpha, x);
  if (std::isnan(x)) return x;
  if (ax >= 128) return saturated<K>(a.alpha, x);
  return sgref::forward(a, x);
}

/// |got - ref| in ulps of fp32 at |ref| (as sgtest::ulp_error), for a finite ref >= FLT_MIN, with
/// the exponent taken from the bits (the sweep calls it billions of times).
inline double ulp_error_fast(float got, double ref) {
  std::uint64_t u;
  std::memcpy(&u, &ref, 8);
  const int e = static_cast<int>((u >> 52) & 0x7ff) - 1023;  // |ref| in [2^e, 2^(e+1))
  const std::uint64_t ulp_bits = static_cast<std::uint64_t>(e - 23 + 1023) << 52;
  double ulp;
  std::memcpy(&ulp, &ulp_bits, 8);
  return std::fabs(static_cast<double>(got) - ref) / ulp;
}

struct Stat {
  double max_ulp = 0;
  float ulp_x = 0;
  double max_abs = 0;  // subnormal / zero results
  float abs_x = 0;
  std::uint64_t bad_special = 0;  // NaN or infinity mismatches
  float special_x = 0;
  void merge(const Stat& o) {
    if (o.max_ulp > max_ulp) max_ulp = o.max_ulp, ulp_x = o.ulp_x;
    if (o.max_abs > max_abs) max_abs = o.max_abs, abs_x = o.abs_x;
    if (o.bad_special && !bad_special) special_x = o.special_x;
    bad_special += o.bad_special;
  }
  void add(float x, float y, double ref) {
    if (std::isnan(ref) || std::isnan(y)) {
      if (std::isnan(ref) != std::isnan(y)) {
        if (!bad_special) special_x = x;
        ++bad_special;
      }
      return;
    }
    const float rf = static_cast<float>(ref);  // correctly rounded (ref is exact to ~2^-60)
    // the correctly rounded result is within 0.5 ulp: skip the exact figure once the maxima
    // are at least that (the fast path that keeps the sweep cheap)
    if (y == rf && (std::fabs(rf) >= std::numeric_limits<float>::min() ? max_ulp >= 0.5
                                                                        : max_abs >= 0x1p-150))
      return;
    if (std::isinf(rf) || std::isinf(y)) {
      // at the overflow threshold a finite true value may round to infinity (or an almost
      // infinite one to FLT_MAX): measured in ulps of 2^104 with infinity counted as 2^128,
      // the usual convention; a wrong sign, or an infinity where the value is infinite, is a
      // mismatch
      const bool same_sign = std::signbit(y) == std::signbit(ref);
      if (rf == y) return;
      if (!std::isinf(ref) && same_sign) {
        const double yd = std::isinf(y) ? std::copysign(0x1p128, ref) : static_cast<double>(y);
        const double e = std::fabs(yd - ref) / 0x1p104;
        if (e > max_ulp) max_ulp = e, ulp_x = x;
        return;
      }
      if (!bad_special) special_x = x;
      ++bad_special;
      return;
    }
    if (std::fabs(ref) < std::numeric_limits<float>::min()) {
      const double e = std::fabs(static_cast<double>(y) - ref);
      if (e > max_abs) max_abs = e, abs_x = x;
    } else {
      const double e = ulp_error_fast(y, ref);
      if (e > max_ulp) max_ulp = e, ulp_x = x;
    }
  }
};

struct Row {
  std::string fn, isa;
  Stat s;
  double seconds;
};
std::vector<Row>& rows() {
  static std::vector<Row> r;
  return r;
}

// Best ISA of each formula family on this CPU.
std::vector<simdgrad::Isa> family_isas() {
  std::vector<simdgrad::Isa> out;
  const auto all = sgtest::test_isas();
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    bool have = false;
    for (auto o : out) have = have || sgtest::same_formula(o, *it);
    if (!have) out.push_back(*it);
  }
  return out;
}

std::uint64_t stride() {
  const char* s = std::getenv("SIMDGRAD_EXHAUSTIVE_STRIDE");
  const long v = s ? std::atol(s) : 1;
  return v > 1 ? static_cast<std::uint64_t>(v) : 1;
}

template <Activation K>
void compare_k(ActivationSpec a, const float* x, const std::vector<std::vector<float>>& y,
               std::int64_t n, std::vector<Stat>& stats) {
  const std::size_t m = y.size();
#pragma omp parallel
  {
    std::vector<Stat> local(m);
#pragma omp for schedule(dynamic, 16384)
    for (std::int64_t i = 0; i < n; ++i) {
      const double ref = reference<K>(a, x[i]);
      for (std::size_t k = 0; k < m; ++k) local[k].add(x[i], y[k][i], ref);
    }
#pragma omp critical
    for (std::size_t k = 0; k < m; ++k) stats[k].merge(local[k]);
  }
}

void compare(ActivationSpec a, const float* x, const std::vector<std::vector<float>>& y,
             std::int64_t n, std::vector<Stat>& stats) {
  switch (a.kind) {
#define SGX_CASE(K) \
  case Activation::K: return compare_k<Activation::K>(a, x, y, n, stats);
    SGX_CASE(sigmoid) SGX_CASE(tanh) SGX_CASE(elu) SGX_CASE(selu) SGX_CASE(softplus)
    SGX_CASE(silu) SGX_CASE(gelu_erf) SGX_CASE(gelu_tanh) SGX_CASE(mish) SGX_CASE(hardswish)
#undef SGX_CASE
    default: FAIL() << "no exhaustive reference for " << simdgrad::activation_name(a.kind);
  }
}

class Exhaustive : public ::testing::TestWithParam<Bound> {};

TEST_P(Exhaustive, ForwardAllInputs) {
  const Bound& b = GetParam();
  const auto isas = family_isas();
  const std::uint64_t step = stride();
  constexpr std::uint64_t kChunk = std::uint64_t{1} << 22;
  const std::uint64_t total = std::uint64_t{1} << 32;
  std::vector<float> x(kChunk);
  std::vector<std::vector<float>> y(isas.size(), std::vector<float>(kChunk));
  std::vector<Stat> stats(isas.size());
  const double t0 = omp_get_wtime();
  std::uint64_t evaluated = 0;
  for (std::uint64_t base = 0; base < total; base += kChunk * step) {
    const std::uint64_t count = std::min<std::uint64_t>(kChunk, (total - base + step - 1) / step);
    const std::uint64_t last = base + (count - 1) * step;
    // sampled blocks: [-inf, -128], NaN, and [128, inf] where the function saturates to a constant
    const bool neg_sat = base >= 0xC3000000u && last <= 0xFF800000u;
    const bool pos_const = b.spec.kind == Activation::sigmoid || b.spec.kind == Activation::tanh;
    const bool pos_sat = pos_const && base >= 0x43000000u && last <= 0x7F800000u;
    const bool nan = (base >= 0x7F800001u && last <= 0x7FFFFFFFu) || base >= 0xFF800001u;
    const std::uint64_t sub = (neg_sat || pos_sat || nan) ? 4093 : 1;
    std::int64_t n = 0;
    if (sub == 1) {
      n = static_cast<std::int64_t>(count);
#pragma omp parallel for schedule(static)
      for (std::int64_t i = 0; i < n; ++i)
        x[i] = sgtest::from_bits(static_cast<std::uint32_t>(base + static_cast<std::uint64_t>(i) * step));
    } else {
      for (std::uint64_t j = 0; j < count; j += sub)
        x[n++] = sgtest::from_bits(static_cast<std::uint32_t>(base + j * step));
      x[n++] = sgtest::from_bits(static_cast<std::uint32_t>(last));
    }
    for (std::size_t k = 0; k < isas.size(); ++k) {
      simdgrad::set_max_isa(isas[k]);
      simdgrad::activation_forward(b.spec, x.data(), y[k].data(), static_cast<std::size_t>(n));
    }
    simdgrad::set_max_isa(simdgrad::cpu_isa());
    compare(b.spec, x.data(), y, n, stats);
    evaluated += static_cast<std::uint64_t>(n);
  }
  const double secs = omp_get_wtime() - t0;
  for (std::size_t k = 0; k < isas.size(); ++k) {
    const Stat& s = stats[k];
    rows().push_back({b.name, simdgrad::isa_name(isas[k]), s, secs});
    std::printf("%-10s %-7s max %.3f ulp at x=%.9g (0x%08" PRIx32 "), subnormal/zero results: max abs "
                "%.3g at x=%.9g; %.0f s, %.3g inputs evaluated\n",
                b.name, simdgrad::isa_name(isas[k]), s.max_ulp, s.ulp_x, sgtest::bits(s.ulp_x),
                s.max_abs, s.abs_x, secs, static_cast<double>(evaluated));
    EXPECT_EQ(s.bad_special, 0u) << b.name << " on " << simdgrad::isa_name(isas[k])
                                 << ": NaN/inf mismatches, first at x=" << s.special_x;
    EXPECT_LE(s.max_ulp, b.ulp) << b.name << " on " << simdgrad::isa_name(isas[k]) << " at x="
                                << s.ulp_x;
    EXPECT_LE(s.max_abs, b.abs) << b.name << " on " << simdgrad::isa_name(isas[k]) << " at x="
                                << s.abs_x;
  }
}

INSTANTIATE_TEST_SUITE_P(Activations, Exhaustive, ::testing::ValuesIn(bounds()),
                         [](const ::testing::TestParamInfo<Bound>& i) { return std::string(i.param.name); });

class PrintTable : public ::testing::Environment {
 public:
  void TearDown() override {
    if (rows().empty()) return;
    std::printf("\n| function | ISA | max ULP (normal results) | at x | max abs error (subnormal results) | at x |\n");
    std::printf("|---|---|---|---|---|---|\n");
    for (const Row& r : rows())
      std::printf("| %s | %s | %.3f | %.9g | %.3g | %.9g |\n", r.fn.c_str(), r.isa.c_str(),
                  r.s.max_ulp, r.s.ulp_x, r.s.max_abs, r.s.abs_x);
  }
};
const auto* const kTable = ::testing::AddGlobalTestEnvironment(new PrintTable);

}  // namespace
