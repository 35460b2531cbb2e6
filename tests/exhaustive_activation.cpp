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
// neglected term is below e^-128 relative: 1, 0, -alpha, x, lambda x, ...). Every output is
// compared; only the cost of the reference differs.
//
// Environment: SIMDGRAD_EXHAUSTIVE_STRIDE=k checks every k-th bit pattern only (for a quick look;
// the bounds are asserted either way).
#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
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

// The documented bounds (docs/accuracy.md); each is the measured maximum, rounded up.
const std::vector<Bound>& bounds() {
  static const std::vector<Bound> b = {
      {{Activation::sigmoid}, "sigmoid", 2.0, 1.5e-45},
      {{Activation::tanh}, "tanh", 2.0, 1.5e-45},
      {{Activation::elu, 1.0f}, "elu", 2.0, 1.5e-45},
      {{Activation::selu}, "selu", 2.0, 1.5e-45},
      {{Activation::softplus}, "softplus", 2.0, 1.5e-45},
      {{Activation::silu}, "silu", 2.0, 1.5e-45},
      {{Activation::gelu_erf}, "gelu_erf", 4.0, 1.5e-45},
      {{Activation::gelu_tanh}, "gelu_tanh", 4.0, 1.5e-45},
      {{Activation::mish}, "mish", 4.0, 1.5e-45},
  };
  return b;
}

constexpr double kSqrt2Pi = 2.5066282746310005024;

// Taylor polynomials at 0, |x| < 2^-25.
double series(ActivationSpec a, double x) {
  using simdgrad::Activation;
  const double x2 = x * x, x3 = x2 * x;
  switch (a.kind) {
    case Activation::sigmoid: return 0.5 + x / 4 - x3 / 48;
    case Activation::tanh: return x - x3 / 3;
    case Activation::elu: return x > 0 ? x : a.alpha * (x + x2 / 2 + x3 / 6);
    case Activation::selu:
      return sgref::kSeluScale * (x > 0 ? x : sgref::kSeluAlpha * (x + x2 / 2 + x3 / 6));
    case Activation::softplus: return std::log(2.0) + x / 2 + x2 / 8;
    case Activation::silu: return x * (0.5 + x / 4 - x3 / 48);
    case Activation::gelu_erf: return x * (0.5 + x / kSqrt2Pi - x3 / (6 * kSqrt2Pi));
    case Activation::gelu_tanh: {
      const double v = 2 * sgref::kSqrt2OverPi * (x + sgref::kGeluK * x3);
      return x * (0.5 + v / 4 - v * v * v / 48);
    }
    case Activation::mish: {
      const double u = 1 + x + x2 / 2 + x3 / 6;  // e^x
      const double n = u * (u + 2);
      return x * n / (n + 2);
    }
    default: return NAN;
  }
}

// Saturated values, |x| >= 128 (finite or infinite x).
double saturated(ActivationSpec a, double x) {
  using simdgrad::Activation;
  const bool pos = x > 0;
  switch (a.kind) {
    case Activation::sigmoid: return pos ? 1.0 : 0.0;
    case Activation::tanh: return pos ? 1.0 : -1.0;
    case Activation::elu: return pos ? x : -static_cast<double>(a.alpha);
    case Activation::selu: return pos ? sgref::kSeluScale * x : -sgref::kSeluScale * sgref::kSeluAlpha;
    case Activation::softplus:
    case Activation::silu:
    case Activation::gelu_erf:
    case Activation::gelu_tanh:
    case Activation::mish: return pos ? x : 0.0;
    default: return NAN;
  }
}

double reference(ActivationSpec a, float xf) {
  const double x = xf, ax = std::fabs(x);
  if (std::isnan(x)) return x;
  if (ax < 0x1p-25) return series(a, x);
  if (ax >= 128) return saturated(a, x);
  return sgref::forward(a, x);
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
    if (std::isinf(rf) || std::isinf(y)) {
      if (rf != y) {
        if (!bad_special) special_x = x;
        ++bad_special;
      }
      return;
    }
    if (std::fabs(ref) < std::numeric_limits<float>::min()) {
      const double e = std::fabs(static_cast<double>(y) - ref);
      if (e > max_abs) max_abs = e, abs_x = x;
    } else {
      const double e = sgtest::ulp_error(y, ref);
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
  for (std::uint64_t base = 0; base < total; base += kChunk * step) {
    const std::int64_t n = static_cast<std::int64_t>(
        std::min<std::uint64_t>(kChunk, (total - base + step - 1) / step));
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i)
      x[i] = sgtest::from_bits(static_cast<std::uint32_t>(base + static_cast<std::uint64_t>(i) * step));
    for (std::size_t k = 0; k < isas.size(); ++k) {
      simdgrad::set_max_isa(isas[k]);
      simdgrad::activation_forward(b.spec, x.data(), y[k].data(), static_cast<std::size_t>(n));
    }
    simdgrad::set_max_isa(simdgrad::cpu_isa());
#pragma omp parallel
    {
      std::vector<Stat> local(isas.size());
#pragma omp for schedule(dynamic, 4096)
      for (std::int64_t i = 0; i < n; ++i) {
        const double ref = reference(b.spec, x[i]);
        for (std::size_t k = 0; k < isas.size(); ++k) local[k].add(x[i], y[k][i], ref);
      }
#pragma omp critical
      for (std::size_t k = 0; k < isas.size(); ++k) stats[k].merge(local[k]);
    }
  }
  const double secs = omp_get_wtime() - t0;
  for (std::size_t k = 0; k < isas.size(); ++k) {
    const Stat& s = stats[k];
    rows().push_back({b.name, simdgrad::isa_name(isas[k]), s, secs});
    std::printf("%-10s %-7s max %.3f ulp at x=%.9g (0x%08" PRIx32 "), subnormal/zero results: max abs "
                "%.3g at x=%.9g; %.0f s\n",
                b.name, simdgrad::isa_name(isas[k]), s.max_ulp, s.ulp_x, sgtest::bits(s.ulp_x),
                s.max_abs, s.abs_x, secs);
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
