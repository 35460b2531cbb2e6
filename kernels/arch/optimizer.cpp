// Optimizer update kernels, compiled once per ISA (see CMakeLists.txt).
#include "kernels/arch/prologue.hpp"
#include "kernels/clip_table.hpp"
#include "kernels/optimizer_table.hpp"

namespace simdgrad::kernels::SIMDGRAD_ISA_NS {

#include "kernels/simd.hpp"
#include "kernels/reduce.hpp"
#include "kernels/optimizer.hpp"

void fill(OptimizerTable& t) {
  fill_sgd<kSgdVariants - 1>(t.sgd);
  fill_adam<kAdamVariants - 1>(t.adam);
  fill_rmsprop<kRmsVariants - 1>(t.rmsprop);
  fill_adagrad<kAdagradVariants - 1>(t.adagrad);
  fill_lamb<kLambVariants - 1>(t.lamb_norms, t.lamb_apply);
}

}  // namespace simdgrad::kernels::SIMDGRAD_ISA_NS
