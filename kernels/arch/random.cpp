// Random kernels (Philox-4x32-10 fills, truncated normal, dropout), compiled once per ISA.
#include "kernels/arch/prologue.hpp"
#include "kernels/random_table.hpp"

namespace simdgrad::kernels::SIMDGRAD_ISA_NS {

#include "kernels/simd.hpp"
#include "kernels/random.hpp"

// fill() runs at table set-up on every CPU, also on one without this ISA (the dispatcher fills
// every ISA's table): volatile stores keep the compiler from merging the pointer stores into
// VEX/EVEX vector stores, which would fault there (seen under qemu-x86_64 -cpu Nehalem).
void fill(RandomTable& table) {
  volatile RandomTable& t = table;
  t.bits = rng_bits_entry;
  t.uniform = rng_uniform_entry;
  t.normal = rng_normal_entry;
  t.trunc_normal = rng_trunc_entry;
  t.dropout = rng_dropout_fwd;
  t.dropout_mask = rng_dropout_mask_bwd;
}

}  // namespace simdgrad::kernels::SIMDGRAD_ISA_NS
