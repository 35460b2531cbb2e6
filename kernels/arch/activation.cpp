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
  set(Activation::elu, fwd_entry<EluOp>, bwd_entry<EluOp>, bwd_y_entry<EluOp>);
  set(Activation::selu, fwd_entry<SeluOp>, bwd_entry<SeluOp>, nullptr);
  set(Activation::gelu_erf, fwd_entry<GeluErfOp>, bwd_entry<GeluErfOp>, nullptr);
  set(Activation::gelu_tanh, fwd_entry<GeluTanhOp>, bwd_entry<GeluTanhOp>, nullptr);
  set(Activation::sigmoid, fwd_entry<SigmoidOp>, bwd_entry<SigmoidOp>, bwd_y_entry<SigmoidOp>);
  set(Activation::tanh, fwd_entry<TanhOp>, bwd_entry<TanhOp>, bwd_y_entry<TanhOp>);
  set(Activation::softplus, fwd_entry<SoftplusOp>, bwd_entry<SoftplusOp>, nullptr);
  set(Activation::silu, fwd_entry<SiluOp>, bwd_entry<SiluOp>, nullptr);
  set(Activation::mish, fwd_entry<MishOp>, bwd_entry<MishOp>, nullptr);
}

}  // namespace simdgrad::kernels::SIMDGRAD_ISA_NS
