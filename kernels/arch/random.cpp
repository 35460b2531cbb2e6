// Random kernels (Philox-4x32-10 fills, truncated normal, dropout), compiled once per ISA.
#include "kernels/arch/prologue.hpp"
#include "kernels/random_table.hpp"

namespace simdgrad::kernels::SIMDGRAD_ISA_NS {

#include "kernels/simd.hpp"
#include "kernels/random.hpp"

void fill(RandomTable& t) {
  t.bits = rng_bits_entry;
  t.uniform = rng_uniform_entry;
  t.normal = rng_normal_entry;
  t.trunc_normal = rng_trunc_entry;
  t.dropout = rng_dropout_fwd;
  t.dropout_mask = rng_dropout_mask_bwd;
}

}  // namespace simdgrad::kernels::SIMDGRAD_ISA_NS
