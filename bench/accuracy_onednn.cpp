// simdgrad_accuracy: the forward error of simdgrad's activations and of oneDNN's eltwise primitive
// for the same functions, side by side, against the double-precision reference of the tests
// (tests/support/reference_activation.hpp). It is what the accuracy of each costs in the
// benchmark table: both run on the same inputs, on the ISA each picks (or the caps
// SIMDGRAD_MAX_ISA / ONEDNN_MAX_CPU_ISA).
//
// Inputs: every k-th fp32 bit pattern (default k = 61, about 70 M inputs) with
// 2^-25 <= |x| < 128, where libm in double is the reference (tests/exhaustive_activation.cpp
// covers the rest of the range for simdgrad). Errors in ULP where the correctly rounded result is
// a normal float; absolute where it is subnormal or zero; NaN/inf mismatches counted.
//
//   simdgrad_accuracy [stride] [--markdown]
#include <simdgrad/simdgrad.hpp>

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "support/onednn_eltwise.hpp"
#include "support/reference_activation.hpp"

namespace {

using simdgrad::Activation;
using simdgrad::ActivationSpec;

float from_bits(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

struct Stat {
  double max_ulp = 0, max_abs = 0;
  float ulp_x = 0;
  std::uint64_t bad = 0, over1 = 0, over2 = 0, n = 0;
  void add(float x, float y, double ref) {
    ++n;
    const float rf = static_cast<float>(ref);
    if (std::isnan(y) || std::isinf(y) || std::isinf(rf)) {
      if (!(std::isinf(y) && y == rf)) ++bad;
      return;
    }
    if (std::fabs(ref) < std::numeric_limits<float>::min()) {
      max_abs = std::max(max_abs, std::fabs(static_cast<double>(y) - ref));
      return;
    }
    const double ulp = std::ldexp(1.0, std::ilogb(ref) - 23);
    const double e = std::fabs(static_cast<double>(y) - ref) / ulp;
    if (e > 1) ++over1;
    if (e > 2) ++over2;
    if (e > max_ulp) max_ulp = e, ulp_x = x;
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t stride = 61;
  bool markdown = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--markdown") == 0) {
      markdown = true;
    } else {
      char* end = nullptr;
      const long v = std::strtol(argv[i], &end, 10);
      if (!end || *end || v < 1) {
        std::fprintf(stderr, "usage: %s [stride >= 1] [--markdown]\n", argv[0]);
        return 2;
      }
      stride = static_cast<std::uint64_t>(v);
    }
  }
  std::vector<float> x;
  for (std::uint64_t u = 0; u < (std::uint64_t{1} << 32); u += stride) {
    const float f = from_bits(static_cast<std::uint32_t>(u));
    const float a = std::fabs(f);
    if (a >= 0x1p-25f && a < 128.0f) x.push_back(f);
  }
  const ActivationSpec specs[] = {{Activation::elu, 1.0f}, {Activation::gelu_erf},
                                  {Activation::gelu_tanh}, {Activation::sigmoid},
                                  {Activation::tanh},      {Activation::softplus},
                                  {Activation::silu},      {Activation::mish},
                                  {Activation::hardswish}};
  std::printf("%zu inputs (every %" PRIu64 "th bit pattern, 2^-25 <= |x| < 128); simdgrad isa %s\n",
              x.size(), stride, simdgrad::isa_name(simdgrad::active_isa()));
  if (markdown) {
    std::printf("\n| function | simdgrad max ULP | oneDNN max ULP | oneDNN at x | oneDNN inputs > 2 ULP |"
                " simdgrad abs (subnormal) | oneDNN abs (subnormal) |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|\n");
  }
  std::vector<float> ys(x.size()), yd(x.size());
  std::vector<double> ref(x.size());
  for (const ActivationSpec& s : specs) {
    const auto algo = sgdnnl::algo_for(s);
    if (!algo) continue;
#pragma omp parallel for schedule(static)
    for (std::size_t i = 0; i < x.size(); ++i) ref[i] = sgref::forward(s, x[i]);
    simdgrad::activation_forward(s, x.data(), ys.data(), x.size());
    sgdnnl::Eltwise(*algo, x.size()).forward(x.data(), yd.data());
    Stat ss, sd;
    for (std::size_t i = 0; i < x.size(); ++i) {
      ss.add(x[i], ys[i], ref[i]);
      sd.add(x[i], yd[i], ref[i]);
    }
    const char* name = simdgrad::activation_name(s.kind);
    if (markdown) {
      std::printf("| %s | %.2f | %.3g | %.7g | %.2g%% | %.2g | %.2g |\n", name, ss.max_ulp,
                  sd.max_ulp, sd.ulp_x, 100.0 * static_cast<double>(sd.over2) / sd.n, ss.max_abs,
                  sd.max_abs);
    } else {
      std::printf("%-10s simdgrad max %.2f ulp (at %.7g), %" PRIu64 " > 2 ulp, %" PRIu64
                  " nan/inf mismatches, subnormal abs %.2g\n",
                  name, ss.max_ulp, ss.ulp_x, ss.over2, ss.bad, ss.max_abs);
      std::printf("%-10s oneDNN   max %.3g ulp (at %.7g), %" PRIu64 " > 2 ulp (%.2g%%), %" PRIu64
                  " nan/inf mismatches, subnormal abs %.2g\n",
                  "", sd.max_ulp, sd.ulp_x, sd.over2, 100.0 * static_cast<double>(sd.over2) / sd.n,
                  sd.bad, sd.max_abs);
    }
  }
  return 0;
}
