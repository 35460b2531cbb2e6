// Batch-normalization kernels, compiled once per ISA (see CMakeLists.txt).
#include "kernels/arch/prologue.hpp"
#include "kernels/batchnorm_table.hpp"

namespace simdgrad::kernels::SIMDGRAD_ISA_NS {

#include "kernels/simd.hpp"
#include "kernels/math.hpp"
#include "kernels/activation.hpp"
#include "kernels/batchnorm.hpp"

void fill(BatchNormTable& t) {
  t.stats_planes = bn_stats_planes;
  t.norm_planes = bn_norm_planes;
  t.norm_seq = bn_norm_seq;
  t.bwd_reduce_planes = bn_bwd_reduce_planes;
  t.bwd_dx_planes = bn_bwd_dx_planes;
  t.stats_rows = bn_stats_rows;
  t.norm_rows = bn_norm_rows;
  t.bwd_reduce_rows = bn_bwd_reduce_rows;
  t.bwd_dx_rows = bn_bwd_dx_rows;
}

}  // namespace simdgrad::kernels::SIMDGRAD_ISA_NS
