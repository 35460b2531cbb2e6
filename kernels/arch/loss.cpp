// Softmax and loss kernels, compiled once per ISA.
#include "kernels/arch/prologue.hpp"
#include "kernels/loss_table.hpp"

#include <cmath>  // INFINITY

namespace simdgrad::kernels::SIMDGRAD_ISA_NS {

#include "kernels/simd.hpp"
#include "kernels/loss.hpp"

void fill(LossTable& t) {
  t.softmax = loss_softmax_rows;
  t.softmax_bwd = loss_softmax_bwd_rows;
  t.cross_entropy = loss_cross_entropy_rows;
  t.bce = loss_elementwise_entry<LossBceOp>;
  t.mse = loss_elementwise_entry<LossMseOp>;
}

}  // namespace simdgrad::kernels::SIMDGRAD_ISA_NS
