// Activation kernels, compiled once per ISA (see CMakeLists.txt).
#include "kernels/arch/prologue.hpp"
#include "kernels/activation_table.hpp"

namespace simdgrad::kernels::SIMDGRAD_ISA_NS {

#include "kernels/simd.hpp"
#include "kernels/math.hpp"
#include "kernels/activation.hpp"
#include "kernels/eltwise.hpp"

void fill(ActivationTable& t) {
  auto set = [&t](Activation a, ActFwdFn f, ActBwdFn b, ActBwdFn by) {
    const int i = static_cast<int>(a);
    t.fwd[i] = f;
    t.bwd[i] = b;
    t.bwd_y[i] = by;
  };
  set(Activation::relu, fwd_entry<ReluOp>, bwd_entry<ReluOp>, bwd_y_entry<ReluOp>);
  set(Activation::leaky_relu, fwd_entry<LeakyReluOp>, bwd_entry<LeakyReluOp>,
      bwd_y_entry<LeakyReluOp>);
  set(Activation::hardswish, fwd_entry<HardswishOp>, bwd_entry<HardswishOp>, nullptr);
}

}  // namespace simdgrad::kernels::SIMDGRAD_ISA_NS
