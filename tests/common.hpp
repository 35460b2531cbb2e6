#pragma once
// Shared test support: run each test on every ISA the CPU has, ULP distances, data generators.
#include <gtest/gtest.h>
#include <simdgrad/simdgrad.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace sgtest {

/// True when the suite runs on a slow target (qemu emulation, sanitizers): CI sets
/// SIMDGRAD_TEST_SMALL=1 there. Tests then shrink their largest sizes with big().
inline bool small_run() {
  const char* v = std::getenv("SIMDGRAD_TEST_SMALL");
  return v && *v && *v != '0';
}
/// n, or n/16 (at least 1) on a slow target.
inline std::size_t big(std::size_t n) { return small_run() ? (n / 16 > 0 ? n / 16 : 1) : n; }

/// The ISAs this CPU runs, all of them (SIMDGRAD_TEST_ISAS="avx2,scalar" restricts the list).
inline std::vector<simdgrad::Isa> test_isas() {
  std::vector<simdgrad::Isa> out;
  const char* only = std::getenv("SIMDGRAD_TEST_ISAS");
  for (simdgrad::Isa i : {simdgrad::Isa::scalar, simdgrad::Isa::sse2, simdgrad::Isa::avx2,
                          simdgrad::Isa::avx512, simdgrad::Isa::neon}) {
    if (!simdgrad::isa_available(i)) continue;
    if (only && std::string(only).find(simdgrad::isa_name(i)) == std::string::npos) continue;
    out.push_back(i);
  }
  return out;
}

/// True when the two ISAs evaluate the same formula with the same rounding (both fuse their
/// multiply-adds, or neither does), so their results must agree bit for bit.
inline bool same_formula(simdgrad::Isa a, simdgrad::Isa b) {
  auto fused = [](simdgrad::Isa i) {
    return i == simdgrad::Isa::avx2 || i == simdgrad::Isa::avx512 || i == simdgrad::Isa::neon
#if defined(__aarch64__)
           || i == simdgrad::Isa::scalar
#endif
        ;
  };
  return fused(a) == fused(b);
}

/// Caps the ISA for the lifetime of the object, then restores the CPU's best.
struct IsaScope {
  explicit IsaScope(simdgrad::Isa isa) { simdgrad::set_max_isa(isa); }
  ~IsaScope() { simdgrad::set_max_isa(simdgrad::cpu_isa()); }
};

/// A fixture parameterized by ISA: every TEST_P runs on each ISA of test_isas().
class PerIsa : public ::testing::TestWithParam<simdgrad::Isa> {
 protected:
  void SetUp() override { simdgrad::set_max_isa(GetParam()); }
  void TearDown() override {
    simdgrad::set_max_isa(simdgrad::cpu_isa());
    simdgrad::set_num_threads(0);
  }
};

struct IsaName {
  std::string operator()(const ::testing::TestParamInfo<simdgrad::Isa>& info) const {
    return simdgrad::isa_name(info.param);
  }
};

#define SGTEST_INSTANTIATE_PER_ISA(Fixture) \
  INSTANTIATE_TEST_SUITE_P(Isa, Fixture, ::testing::ValuesIn(::sgtest::test_isas()), \
                           ::sgtest::IsaName())

inline std::uint32_t bits(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}
inline float from_bits(std::uint32_t u) {
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

/// Bitwise equality that treats every NaN as equal to every NaN.
inline bool same_bits(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return bits(a) == bits(b);
}

/// Error of a float result in units of the last place of the exact value ref (as double): the
/// ULP is that of fp32 at |ref| (2^-149 for subnormals). NaN/inf must match exactly (else +inf).
inline double ulp_error(float got, double ref) {
  if (std::isnan(ref)) return std::isnan(got) ? 0.0 : INFINITY;
  if (std::isnan(got)) return INFINITY;
  if (std::isinf(ref) || std::isinf(got)) {
    if (std::isinf(ref) && std::isinf(got) && (ref > 0) == (got > 0)) return 0.0;
    // got may be FLT_MAX-rounded: measure against the largest float's ULP
    if (std::isinf(got)) return INFINITY;
    const double r = std::copysign(std::ldexp(1.0, 128), ref);
    return std::fabs(got - r) / std::ldexp(1.0, 104);
  }
  const double a = std::fabs(ref);
  int e = 0;
  std::frexp(a, &e);               // a = m * 2^e, m in [0.5, 1)
  int ulp_exp = std::max(e - 24, -149);
  if (a == 0) ulp_exp = -149;
  return std::fabs(static_cast<double>(got) - ref) / std::ldexp(1.0, ulp_exp);
}

/// Deterministic uniform data in [lo, hi).
inline std::vector<float> uniform(std::size_t n, float lo, float hi, unsigned seed = 1) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

/// Special values every element-wise kernel must handle.
inline std::vector<float> special_values() {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  return {0.0f,    -0.0f,   1.0f,     -1.0f,    inf,     -inf,      nan,    -nan,
          1e-45f,  -1e-45f, 1e-40f,   -1e-40f,  1.17549435e-38f, -1.17549435e-38f,
          100.0f,  -100.0f, 88.7f,    -88.7f,   103.0f,  -104.0f,   20.0f,  -20.0f,
          3.0f,    -3.0f,   1e-8f,    -1e-8f,   0.5f,    -0.5f,     1e30f,  -1e30f,
          3.4028235e38f, -3.4028235e38f, 9.0f, -9.0f, 15.0f, -15.0f, 1e-3f, -1e-3f};
}

}  // namespace sgtest
