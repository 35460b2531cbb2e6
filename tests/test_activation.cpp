// Activations: every algorithm on every ISA against the double reference and oneDNN, all tails,
// misaligned starts, in place, special values, ISA agreement, thread-count invariance, bad input.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "common.hpp"
#include "support/reference_activation.hpp"
#if defined(SIMDGRAD_TEST_ONEDNN)
#include "support/onednn_eltwise.hpp"
#endif

using simdgrad::Activation;
using simdgrad::ActivationSpec;

namespace {

struct Case {
  ActivationSpec spec;
  float lo, hi;        // range of the random inputs
  double fwd_ulp;      // bound on the forward error in ULP where the result is a normal float
  double fwd_abs;      // bound on the absolute error where the result is below FLT_MIN
  double bwd_rel;      // backward: |dx - dx_ref| <= bwd_rel * |dx_ref| + bwd_abs * |dy|
  double bwd_abs;
};

// Forward bounds: the maxima measured over all fp32 inputs (tests/exhaustive_activation.cpp,
// docs/accuracy.md), rounded up. Backward bounds: measured on every 2003rd fp32 bit pattern with
// dy = 1 and dy uniform in [-2, 2] on every ISA, rounded up; bwd_abs covers the zeros of f'
// (silu, gelu, mish), where the error is absolute, and derivatives that underflow.
const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {{Activation::relu}, -10, 10, 0, 0, 0, 0},
      {{Activation::leaky_relu, 0.01f}, -10, 10, 0.5, 0, 0, 0},
      {{Activation::leaky_relu, 0.3f}, -10, 10, 0.5, 0, 0, 0},
      {{Activation::elu, 1.0f}, -20, 10, 1.0, 1.5e-45, 1.6e-7, 1e-38},
      {{Activation::elu, 0.5f}, -20, 10, 1.5, 1.5e-45, 1.6e-7, 1e-38},
      {{Activation::selu}, -20, 10, 2, 1.5e-45, 1.9e-7, 1e-38},
      {{Activation::gelu_erf}, -12, 12, 4, 3e-45, 2.5e-7, 3.5e-8},
      {{Activation::gelu_tanh}, -12, 12, 4, 3e-45, 2.5e-7, 3.5e-8},
      {{Activation::sigmoid}, -30, 30, 2, 1.5e-45, 3e-7, 1e-15},
      {{Activation::tanh}, -12, 12, 2, 0, 3e-7, 1e-15},
      {{Activation::softplus}, -30, 30, 2, 1.5e-45, 1.9e-7, 1e-38},
      {{Activation::silu}, -30, 30, 2, 1.5e-45, 2.5e-7, 1.6e-8},
      {{Activation::mish}, -30, 30, 4, 3e-45, 2.5e-7, 5.5e-8},
      {{Activation::hardswish}, -6, 6, 1, 0, 1.8e-7, 0},
  };
  return c;
}

std::string label(const Case& c) {
  return std::string(simdgrad::activation_name(c.spec.kind)) + "(alpha=" +
         std::to_string(c.spec.alpha) + ")";
}

// Checks y against the reference at x; returns false (with a gtest failure) on the first miss.
bool check_fwd(const Case& c, float x, float y) {
  const double ref = sgref::forward(c.spec, x);
  // a result beyond the float range must round to infinity (selu(FLT_MAX))
  const double ulp = std::isinf(static_cast<float>(ref)) && !std::isinf(ref)
                         ? (y == static_cast<float>(ref) ? 0.0 : INFINITY)
                         : sgtest::ulp_error(y, ref);
  const bool tiny = std::fabs(ref) < std::numeric_limits<float>::min();
  const bool ok = tiny ? (std::fabs(y - ref) <= c.fwd_abs || ulp <= c.fwd_ulp) : ulp <= c.fwd_ulp;
  if (!ok)
    ADD_FAILURE() << label(c) << " forward x=" << x << " (0x" << std::hex << sgtest::bits(x)
                  << std::dec << "): got " << y << " ref " << ref << " (" << ulp << " ulp)";
  return ok;
}

bool check_bwd(const Case& c, float x, float dy, float dx) {
  const double d = sgref::derivative(c.spec, x);
  const double ref = static_cast<double>(dy) * d;
  if (std::isnan(ref)) {
    if (!std::isnan(dx)) ADD_FAILURE() << label(c) << " backward x=" << x << " dy=" << dy
                                       << ": got " << dx << " expected NaN";
    return std::isnan(dx);
  }
  const double err = std::fabs(static_cast<double>(dx) - ref);
  const double bound = c.bwd_rel * std::fabs(ref) + c.bwd_abs * std::fabs(static_cast<double>(dy));
  const bool ok = err <= bound || err == 0 || sgtest::ulp_error(dx, ref) <= 1.0;
  if (!ok)
    ADD_FAILURE() << label(c) << " backward x=" << x << " (0x" << std::hex << sgtest::bits(x)
                  << std::dec << ") dy=" << dy << ": got " << dx << " ref " << ref << " (error "
                  << err << ", bound " << bound << ")";
  return ok;
}

class Activations : public sgtest::PerIsa {};
SGTEST_INSTANTIATE_PER_ISA(Activations);

TEST_P(Activations, ForwardAllLengthsAndOffsetsMatchReference) {
  for (const Case& c : cases()) {
    for (std::size_t off = 0; off < 4; ++off) {
      for (std::size_t n = 0; n <= 300; n += (off == 0 ? 1 : 7)) {
        auto buf = sgtest::uniform(n + off + 8, c.lo, c.hi, static_cast<unsigned>(n * 7 + off));
        std::vector<float> out(n + off + 8, 12345.0f);
        simdgrad::activation_forward(c.spec, buf.data() + off, out.data() + off, n);
        for (std::size_t i = 0; i < n; ++i)
          if (!check_fwd(c, buf[off + i], out[off + i])) return;
        for (std::size_t i = 0; i < off; ++i) ASSERT_EQ(out[i], 12345.0f) << "wrote before y";
        for (std::size_t i = n + off; i < out.size(); ++i)
          ASSERT_EQ(out[i], 12345.0f) << label(c) << " wrote past y[n-1], n=" << n;
      }
    }
  }
}

TEST_P(Activations, ForwardInPlaceEqualsOutOfPlace) {
  for (const Case& c : cases()) {
    for (std::size_t n : {1u, 15u, 16u, 17u, 63u, 64u, 65u, 257u, 1000u}) {
      auto x = sgtest::uniform(n, c.lo, c.hi, 3);
      std::vector<float> y(n), z = x;
      simdgrad::activation_forward(c.spec, x.data(), y.data(), n);
      simdgrad::activation_forward(c.spec, z.data(), z.data(), n);
      for (std::size_t i = 0; i < n; ++i) ASSERT_TRUE(sgtest::same_bits(y[i], z[i])) << label(c);
    }
  }
}

TEST_P(Activations, ForwardSpecialValues) {
  const auto sv = sgtest::special_values();
  for (const Case& c : cases()) {
    std::vector<float> y(sv.size());
    simdgrad::activation_forward(c.spec, sv.data(), y.data(), sv.size());
    for (std::size_t i = 0; i < sv.size(); ++i) check_fwd(c, sv[i], y[i]);
  }
}

TEST_P(Activations, ExactSaturation) {
  const float inf = std::numeric_limits<float>::infinity();
  auto f = [](ActivationSpec a, float x) {
    float y;
    simdgrad::activation_forward(a, &x, &y, 1);
    return y;
  };
  EXPECT_EQ(f(Activation::sigmoid, inf), 1.0f);
  EXPECT_EQ(f(Activation::sigmoid, -inf), 0.0f);
  EXPECT_EQ(f(Activation::sigmoid, 100.0f), 1.0f);
  EXPECT_EQ(f(Activation::tanh, -inf), -1.0f);
  EXPECT_EQ(f(Activation::tanh, inf), 1.0f);
  EXPECT_EQ(f(Activation::tanh, 20.0f), 1.0f);
  EXPECT_EQ(sgtest::bits(f(Activation::relu, -0.0f)), 0u);
  EXPECT_EQ(f(Activation::relu, -inf), 0.0f);
  EXPECT_EQ(f(Activation::relu, inf), inf);
  EXPECT_EQ(f(Activation::elu, -inf), -1.0f);
  EXPECT_EQ(f(Activation::softplus, inf), inf);
  EXPECT_EQ(f(Activation::softplus, -inf), 0.0f);
  EXPECT_EQ(f(Activation::gelu_erf, -inf), 0.0f);
  EXPECT_EQ(f(Activation::gelu_erf, inf), inf);
  EXPECT_EQ(f(Activation::silu, -inf), 0.0f);
  EXPECT_EQ(f(Activation::mish, inf), inf);
  EXPECT_EQ(f(Activation::hardswish, -inf), 0.0f);
  EXPECT_EQ(f(Activation::hardswish, inf), inf);
  for (const Case& c : cases())
    EXPECT_TRUE(std::isnan(f(c.spec, std::numeric_limits<float>::quiet_NaN()))) << label(c);
}

TEST_P(Activations, BackwardMatchesReference) {
  for (const Case& c : cases()) {
    for (std::size_t off = 0; off < 3; ++off) {
      for (std::size_t n = 0; n <= 300; n += (off == 0 ? 1 : 11)) {
        auto x = sgtest::uniform(n + off, c.lo, c.hi, static_cast<unsigned>(n + 100 * off));
        auto dy = sgtest::uniform(n + off, -2, 2, static_cast<unsigned>(n + 7));
        std::vector<float> dx(n + off + 4, 777.0f);
        simdgrad::activation_backward(c.spec, x.data() + off, dy.data() + off, dx.data() + off,
                                      n);
        for (std::size_t i = 0; i < n; ++i)
          if (!check_bwd(c, x[off + i], dy[off + i], dx[off + i])) return;
        for (std::size_t i = n + off; i < dx.size(); ++i) ASSERT_EQ(dx[i], 777.0f);
      }
    }
    // special values of x with dy = 1 and dy = -0.5
    const auto sv = sgtest::special_values();
    for (float g : {1.0f, -0.5f}) {
      std::vector<float> dy(sv.size(), g), dx(sv.size());
      simdgrad::activation_backward(c.spec, sv.data(), dy.data(), dx.data(), sv.size());
      for (std::size_t i = 0; i < sv.size(); ++i) check_bwd(c, sv[i], g, dx[i]);
    }
  }
}

TEST_P(Activations, BackwardInPlaceOnDyAndOnX) {
  for (const Case& c : cases()) {
    const std::size_t n = 333;
    auto x = sgtest::uniform(n, c.lo, c.hi, 5);
    auto dy = sgtest::uniform(n, -1, 1, 6);
    std::vector<float> dx(n), a = dy, b = x;
    simdgrad::activation_backward(c.spec, x.data(), dy.data(), dx.data(), n);
    simdgrad::activation_backward(c.spec, x.data(), a.data(), a.data(), n);
    simdgrad::activation_backward(c.spec, b.data(), dy.data(), b.data(), n);
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_TRUE(sgtest::same_bits(dx[i], a[i])) << label(c);
      ASSERT_TRUE(sgtest::same_bits(dx[i], b[i])) << label(c);
    }
  }
}

TEST_P(Activations, BackwardFromOutputMatchesReference) {
  for (const Case& c : cases()) {
    if (!simdgrad::activation_has_output_backward(c.spec)) continue;
    for (std::size_t n = 0; n <= 300; n += 13) {
      auto x = sgtest::uniform(n, c.lo, c.hi, static_cast<unsigned>(n + 1));
      auto dy = sgtest::uniform(n, -2, 2, static_cast<unsigned>(n + 2));
      std::vector<float> y(n), dx(n);
      simdgrad::activation_forward(c.spec, x.data(), y.data(), n);
      simdgrad::activation_backward_from_output(c.spec, y.data(), dy.data(), dx.data(), n);
      for (std::size_t i = 0; i < n; ++i) {
        // the derivative is evaluated at the rounded y, so compare with f'(x) loosely where y
        // saturates
        const double ref = dy[i] * sgref::derivative(c.spec, x[i]);
        const double tol = 4e-7 * std::fabs(dy[i]) + 2e-6 * std::fabs(ref);
        ASSERT_NEAR(dx[i], ref, tol) << label(c) << " x=" << x[i] << " y=" << y[i];
      }
    }
  }
}

// ISAs that run the same formula give the same bits; all of them stay within the bounds.
TEST_P(Activations, IsasAgreeBitForBit) {
  const simdgrad::Isa mine = GetParam();
  for (const Case& c : cases()) {
    auto x = sgtest::uniform(4099, c.lo, c.hi, 11);
    const auto sv = sgtest::special_values();
    x.insert(x.end(), sv.begin(), sv.end());
    auto dy = sgtest::uniform(x.size(), -3, 3, 12);
    std::vector<float> y(x.size()), dx(x.size());
    simdgrad::activation_forward(c.spec, x.data(), y.data(), x.size());
    simdgrad::activation_backward(c.spec, x.data(), dy.data(), dx.data(), x.size());
    for (simdgrad::Isa other : sgtest::test_isas()) {
      if (other == mine || !sgtest::same_formula(mine, other)) continue;
      std::vector<float> y2(x.size()), dx2(x.size());
      {
        sgtest::IsaScope scope(other);
        simdgrad::activation_forward(c.spec, x.data(), y2.data(), x.size());
        simdgrad::activation_backward(c.spec, x.data(), dy.data(), dx2.data(), x.size());
      }
      simdgrad::set_max_isa(mine);
      for (std::size_t i = 0; i < x.size(); ++i) {
        ASSERT_TRUE(sgtest::same_bits(y[i], y2[i]))
            << label(c) << " forward x=" << x[i] << ": " << simdgrad::isa_name(mine) << " " << y[i]
            << " vs " << simdgrad::isa_name(other) << " " << y2[i];
        ASSERT_TRUE(sgtest::same_bits(dx[i], dx2[i]))
            << label(c) << " backward x=" << x[i] << ": " << simdgrad::isa_name(mine) << " "
            << dx[i] << " vs " << simdgrad::isa_name(other) << " " << dx2[i];
      }
    }
  }
}

TEST_P(Activations, LargeArraysIndependentOfThreadCount) {
  const std::size_t n = sgtest::big(std::size_t{1} << 20) + 13;
  for (const Case& c : cases()) {
    auto x = sgtest::uniform(n, c.lo, c.hi, 21);
    auto dy = sgtest::uniform(n, -1, 1, 22);
    std::vector<float> y1(n), y2(n), d1(n), d2(n);
    simdgrad::set_num_threads(1);
    simdgrad::activation_forward(c.spec, x.data(), y1.data(), n);
    simdgrad::activation_backward(c.spec, x.data(), dy.data(), d1.data(), n);
    simdgrad::set_num_threads(3);
    simdgrad::activation_forward(c.spec, x.data(), y2.data(), n);
    simdgrad::activation_backward(c.spec, x.data(), dy.data(), d2.data(), n);
    for (std::size_t i = 0; i < n; i += 1) {
      ASSERT_TRUE(sgtest::same_bits(y1[i], y2[i])) << label(c) << " i=" << i;
      ASSERT_TRUE(sgtest::same_bits(d1[i], d2[i])) << label(c) << " i=" << i;
    }
    for (std::size_t i = 0; i < n; i += 4097) check_fwd(c, x[i], y1[i]);
  }
}

// Outputs of at least 2^19 elements per call are written with non-temporal stores after an
// aligning head (kernels/eltwise.hpp): at every misalignment the result is bitwise that of the
// same data computed in short calls (plain stores), in place stays in place, and nothing outside
// the output is written.
TEST_P(Activations, StreamedLargeOutputsEqualShortCalls) {
  const std::size_t n = (std::size_t{1} << 19) + 1000 + 7, chunk = 4096;
  const ActivationSpec specs[] = {{Activation::relu}, {Activation::sigmoid}, {Activation::tanh}};
  simdgrad::set_num_threads(1);
  for (const ActivationSpec& spec : specs) {
    const bool by = simdgrad::activation_has_output_backward(spec);
    for (std::size_t off : {0u, 1u, 3u, 5u}) {
      const auto x = sgtest::uniform(n + off + 16, -8, 8, static_cast<unsigned>(off + 40));
      const auto dy = sgtest::uniform(n + off + 16, -1, 1, static_cast<unsigned>(off + 50));
      std::vector<float> big(n + off + 16, 7.0f), ref(n + off + 16, 7.0f);
      const auto same = [&](const char* what) {
        for (std::size_t i = 0; i < big.size(); ++i)
          ASSERT_TRUE(sgtest::same_bits(big[i], ref[i]))
              << simdgrad::activation_name(spec.kind) << " " << what << " off=" << off << " i=" << i;
      };
      simdgrad::activation_forward(spec, x.data() + off, big.data() + off, n);
      for (std::size_t b = 0; b < n; b += chunk)
        simdgrad::activation_forward(spec, x.data() + off + b, ref.data() + off + b,
                                     std::min(chunk, n - b));
      same("forward");
      simdgrad::activation_backward(spec, x.data() + off, dy.data() + off, big.data() + off, n);
      for (std::size_t b = 0; b < n; b += chunk)
        simdgrad::activation_backward(spec, x.data() + off + b, dy.data() + off + b,
                                      ref.data() + off + b, std::min(chunk, n - b));
      same("backward");
      if (by) {
        simdgrad::activation_backward_from_output(spec, x.data() + off, dy.data() + off,
                                                  big.data() + off, n);
        for (std::size_t b = 0; b < n; b += chunk)
          simdgrad::activation_backward_from_output(spec, x.data() + off + b, dy.data() + off + b,
                                                    ref.data() + off + b, std::min(chunk, n - b));
        same("backward from y");
      }
      // in place (never streamed) gives the same bits as out of place
      std::vector<float> inplace(x);
      simdgrad::activation_forward(spec, inplace.data() + off, inplace.data() + off, n);
      simdgrad::activation_forward(spec, x.data() + off, ref.data() + off, n);
      for (std::size_t i = 0; i < n; ++i)
        ASSERT_TRUE(sgtest::same_bits(inplace[off + i], ref[off + i])) << "in place i=" << i;
    }
  }
  simdgrad::set_num_threads(0);
}

#if defined(SIMDGRAD_TEST_ONEDNN)
// oneDNN's own thresholds for f32 eltwise (benchdnn): 4e-6 relative, 4e-5 for tanh, gelu_tanh,
// elu and swish; we compare where oneDNN's result is not tiny. oneDNN 2.6's soft_relu is off by
// up to ~4e-5 relative on x < 0 (measured), so it is in the 4e-5 group too.
double onednn_tol(Activation a) {
  switch (a) {
    case Activation::softplus:
    case Activation::tanh:
    case Activation::gelu_tanh:
    case Activation::elu:
    case Activation::silu:
    case Activation::mish: return 4e-5;
    default: return 4e-6;
  }
}

TEST_P(Activations, MatchesOneDnnForwardAndBackward) {
  for (const Case& c : cases()) {
    const auto algo = sgdnnl::algo_for(c.spec);
    if (!algo) continue;
    for (std::size_t n : {1u, 17u, 300u, 4096u + 5u}) {
      auto x = sgtest::uniform(n, c.lo, c.hi, static_cast<unsigned>(n));
      auto dy = sgtest::uniform(n, -2, 2, static_cast<unsigned>(n + 1));
      std::vector<float> y(n), yd(n), dx(n), dxd(n);
      sgdnnl::Eltwise prim(*algo, n);
      prim.forward(x.data(), yd.data());
      prim.backward(x.data(), dy.data(), dxd.data());
      simdgrad::activation_forward(c.spec, x.data(), y.data(), n);
      simdgrad::activation_backward(c.spec, x.data(), dy.data(), dx.data(), n);
      const double tol = onednn_tol(c.spec.kind);
      // oneDNN's gelu_erf uses an erf with an absolute error of ~1.5e-7 (Abramowitz-Stegun
      // 7.1.26) and its gelu_tanh forms 1 + tanh(u), which cancels for x < 0, so their results
      // are also allowed an absolute error of 1e-7 max(1, x^2); its soft_relu forms log(1 + e^x)
      // and is off by up to ~2e-6 absolute for x << 0 (even negative), which its mish inherits
      // times |x|; its backward forms derivatives such as
      // y (1 - y) and 1 - y^2 from a rounded y (0 where y rounds to 1), so backward is allowed
      // an absolute error of 2^-22 on top (all times |dy| in backward).
      const bool gelu = c.spec.kind == Activation::gelu_erf || c.spec.kind == Activation::gelu_tanh;
      auto near = [&](float dnn, float xi, double bwd_scale) {
        const double ax = std::fabs(static_cast<double>(xi));
        const double abs0 = c.spec.kind == Activation::softplus ? 4e-6
                            : c.spec.kind == Activation::mish   ? 4e-6 * std::max(1.0, ax)
                                                                : 0.0;
        const double abs = abs0 + (gelu ? 1e-7 * std::max(1.0, static_cast<double>(xi) * xi) : 0.0) +
                           (bwd_scale > 0 ? 0x1p-22 : 0.0);
        return std::max(tol * std::max(1e-3, std::fabs(static_cast<double>(dnn))),
                        abs * (bwd_scale > 0 ? bwd_scale : 1.0));
      };
      for (std::size_t i = 0; i < n; ++i) {
        ASSERT_NEAR(y[i], yd[i], near(yd[i], x[i], 0.0))
            << label(c) << " forward x=" << x[i];
        ASSERT_NEAR(dx[i], dxd[i], near(dxd[i], x[i], std::fabs(dy[i])))
            << label(c) << " backward x=" << x[i] << " dy=" << dy[i];
      }
      if (algo->has_bwd_from_y && simdgrad::activation_has_output_backward(c.spec)) {
        sgdnnl::Eltwise prim_y(*algo, n, true);
        std::vector<float> dxy(n), dxyd(n);
        prim_y.backward(y.data(), dy.data(), dxyd.data());
        simdgrad::activation_backward_from_output(c.spec, y.data(), dy.data(), dxy.data(), n);
        for (std::size_t i = 0; i < n; ++i)
          ASSERT_NEAR(dxy[i], dxyd[i], tol * std::max(1e-3, std::fabs(static_cast<double>(dxyd[i]))))
              << label(c) << " backward from y, x=" << x[i];
      }
    }
  }
}
#endif

// ------------------------------------------------------------------------------ bad input
template <class F>
void expect_error(F&& f, const std::string& fn, const std::string& arg) {
  try {
    f();
    ADD_FAILURE() << "no simdgrad::error thrown (expected " << fn << " / " << arg << ")";
  } catch (const simdgrad::error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("simdgrad::" + fn + ":"), std::string::npos) << what;
    EXPECT_NE(what.find(arg), std::string::npos) << what;
  }
}

TEST(ActivationErrors, NullPointersWithNonZeroLength) {
  std::vector<float> a(8, 1.0f), b(8, 2.0f);
  expect_error([&] { simdgrad::activation_forward(Activation::relu, nullptr, b.data(), 8); },
               "activation_forward", "x is null");
  expect_error([&] { simdgrad::activation_forward(Activation::relu, a.data(), nullptr, 8); },
               "activation_forward", "y is null");
  expect_error([&] { simdgrad::activation_backward(Activation::tanh, a.data(), nullptr, b.data(), 8); },
               "activation_backward", "dy is null");
  expect_error([&] { simdgrad::activation_backward(Activation::tanh, nullptr, a.data(), b.data(), 8); },
               "activation_backward", "x is null");
  expect_error([&] { simdgrad::activation_backward(Activation::tanh, a.data(), a.data(), nullptr, 8); },
               "activation_backward", "dx is null");
  expect_error([&] { simdgrad::activation_backward_from_output(Activation::sigmoid, nullptr, a.data(), b.data(), 8); },
               "activation_backward_from_output", "y is null");
  // n == 0 with null pointers is fine
  simdgrad::activation_forward(Activation::relu, nullptr, nullptr, 0);
  simdgrad::activation_backward(Activation::relu, nullptr, nullptr, nullptr, 0);
  EXPECT_EQ(b[0], 2.0f);
}

TEST(ActivationErrors, PartialOverlapIsRejectedAndNothingWritten) {
  std::vector<float> a(64);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i) - 30.0f;
  const auto before = a;
  expect_error([&] { simdgrad::activation_forward(Activation::relu, a.data(), a.data() + 1, 32); },
               "activation_forward", "y partially overlaps x");
  expect_error([&] { simdgrad::activation_backward(Activation::relu, a.data(), a.data() + 32, a.data() + 16, 32); },
               "activation_backward", "dx partially overlaps");
  expect_error([&] { simdgrad::activation_backward_from_output(Activation::tanh, a.data(), a.data() + 32, a.data() + 31, 32); },
               "activation_backward_from_output", "dx partially overlaps");
  EXPECT_EQ(a, before);
}

TEST(ActivationErrors, BadKindAndAlpha) {
  std::vector<float> x(16, -1.0f), y(16, 5.0f);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  expect_error([&] { simdgrad::activation_forward({static_cast<Activation>(99), 0.f}, x.data(), y.data(), 16); },
               "activation_forward", "act.kind is not an Activation");
  expect_error([&] { simdgrad::activation_forward({static_cast<Activation>(-1), 0.f}, x.data(), y.data(), 16); },
               "activation_forward", "act.kind");
  expect_error([&] { simdgrad::activation_forward({Activation::leaky_relu, nan}, x.data(), y.data(), 16); },
               "activation_forward", "act.alpha must be finite");
  expect_error([&] { simdgrad::activation_backward({Activation::elu, INFINITY}, x.data(), x.data(), y.data(), 16); },
               "activation_backward", "act.alpha must be finite");
  expect_error([&] { simdgrad::activation_forward({Activation::elu, -0.5f}, x.data(), y.data(), 16); },
               "activation_forward", "act.alpha must be >= 0");
  expect_error([&] { simdgrad::activation_backward_from_output(Activation::gelu_erf, x.data(), x.data(), y.data(), 16); },
               "activation_backward_from_output", "act.kind gelu_erf has no backward from the output");
  expect_error([&] { simdgrad::activation_backward_from_output({Activation::leaky_relu, -0.1f}, x.data(), x.data(), y.data(), 16); },
               "activation_backward_from_output", "act.kind leaky_relu");
  for (float v : y) EXPECT_EQ(v, 5.0f);
}

TEST(ActivationNames, AllNamed) {
  for (int i = 0; i < simdgrad::kActivationCount; ++i)
    EXPECT_NE(simdgrad::activation_name(static_cast<Activation>(i)), nullptr);
  EXPECT_EQ(simdgrad::activation_name(static_cast<Activation>(simdgrad::kActivationCount)), nullptr);
}

}  // namespace
