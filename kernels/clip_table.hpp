#pragma once
// The clip / norm / gradient-health family's kernel table (one per ISA). Plain data.
#include <cstddef>

namespace simdgrad::kernels {

/// One block's gradient statistics (sums in fp64, counts exact).
struct HealthPartial {
  double sum_sq;
  double sum_abs;
  float max_abs;           // NaN when any element is NaN
  std::size_t nan_count;
  std::size_t inf_count;
  std::size_t below_count;
};

struct ClipTable {
  double (*sum_sq)(const float* x, std::size_t n);    // sum x^2 in fp64
  double (*sum_abs)(const float* x, std::size_t n);   // sum |x| in fp64
  float (*max_abs)(const float* x, std::size_t n);    // max |x|, NaN if any NaN, 0 if n == 0
  void (*scale)(float* x, std::size_t n, float s);    // x *= s
  void (*clamp)(float* x, std::size_t n, float lo, float hi);  // NaN stays NaN
  void (*health)(const float* x, std::size_t n, float threshold, HealthPartial* out);
};

}  // namespace simdgrad::kernels
