// Norm, gradient-health and clipping kernels, compiled once per ISA (see CMakeLists.txt).
#include "kernels/arch/prologue.hpp"
#include "kernels/clip_table.hpp"

namespace simdgrad::kernels::SIMDGRAD_ISA_NS {

#include "kernels/simd.hpp"
#include "kernels/reduce.hpp"
#include "kernels/clip.hpp"

void fill(ClipTable& t) {
  t.sum_sq = sum_sq_kernel;
  t.sum_abs = sum_abs_kernel;
  t.max_abs = max_abs_kernel;
  t.scale = scale_kernel;
  t.clamp = clamp_kernel;
  t.health = health_kernel;
}

}  // namespace simdgrad::kernels::SIMDGRAD_ISA_NS
