// GEMM kernels, compiled once per ISA (see CMakeLists.txt).
#include "kernels/arch/prologue.hpp"
#include "kernels/gemm_table.hpp"

namespace simdgrad::kernels::SIMDGRAD_ISA_NS {

#include "kernels/simd.hpp"
#include "kernels/math.hpp"
#include "kernels/activation.hpp"
#include "kernels/gemm_microkernel.hpp"
#include "kernels/gemm_pack.hpp"
#include "kernels/gemm_epilogue.hpp"

#if defined(SIMDGRAD_ISA_AVX512)
constexpr int kIsaIndex = 3;
#elif defined(SIMDGRAD_ISA_AVX2)
constexpr int kIsaIndex = 2;
#elif defined(SIMDGRAD_ISA_SSE2)
constexpr int kIsaIndex = 1;
#elif defined(SIMDGRAD_ISA_NEON)
constexpr int kIsaIndex = 4;
#else
constexpr int kIsaIndex = 0;
#endif

constexpr GemmBlocking kBlocking = kGemmBlocking[kIsaIndex];
constexpr int kMR = kBlocking.mr;
constexpr int kNV = kBlocking.nr / static_cast<int>(kW);
constexpr std::size_t kKC = static_cast<std::size_t>(kBlocking.kc);
constexpr std::size_t kMC = static_cast<std::size_t>(kBlocking.mc);
constexpr std::size_t kNC = static_cast<std::size_t>(kBlocking.nc);
static_assert(kNV * static_cast<int>(kW) == kBlocking.nr, "nr must be a whole number of vectors");
static_assert(kMR >= 1 && kMR <= 16, "mr out of range");
static_assert(kMC % kMR == 0, "mc must be a multiple of mr");

// Microkernel for r rows (1 <= r <= kMR) on an A panel laid out [p][i] (ukr_pi) or [i][p] with
// row stride kc (ukr_ip).
#define SIMDGRAD_GEMM_R(R) (R <= kMR ? R : 1)
#define SIMDGRAD_GEMM_UKR_CASE(R, ARS, ACS) \
  case R:                                   \
    return R <= kMR ? &gemm_ukr<SIMDGRAD_GEMM_R(R), kNV, ARS, ACS> : nullptr;
#define SIMDGRAD_GEMM_UKR_SWITCH(r, ARS, ACS)                                            \
  switch (r) {                                                                           \
    SIMDGRAD_GEMM_UKR_CASE(1, ARS(1), ACS(1)) SIMDGRAD_GEMM_UKR_CASE(2, ARS(2), ACS(2))     \
    SIMDGRAD_GEMM_UKR_CASE(3, ARS(3), ACS(3)) SIMDGRAD_GEMM_UKR_CASE(4, ARS(4), ACS(4))     \
    SIMDGRAD_GEMM_UKR_CASE(5, ARS(5), ACS(5)) SIMDGRAD_GEMM_UKR_CASE(6, ARS(6), ACS(6))     \
    SIMDGRAD_GEMM_UKR_CASE(7, ARS(7), ACS(7)) SIMDGRAD_GEMM_UKR_CASE(8, ARS(8), ACS(8))     \
    SIMDGRAD_GEMM_UKR_CASE(9, ARS(9), ACS(9)) SIMDGRAD_GEMM_UKR_CASE(10, ARS(10), ACS(10))  \
    SIMDGRAD_GEMM_UKR_CASE(11, ARS(11), ACS(11)) SIMDGRAD_GEMM_UKR_CASE(12, ARS(12), ACS(12)) \
    SIMDGRAD_GEMM_UKR_CASE(13, ARS(13), ACS(13)) SIMDGRAD_GEMM_UKR_CASE(14, ARS(14), ACS(14)) \
    SIMDGRAD_GEMM_UKR_CASE(15, ARS(15), ACS(15)) SIMDGRAD_GEMM_UKR_CASE(16, ARS(16), ACS(16)) \
    default: return nullptr;                                                             \
  }
#define SIMDGRAD_GEMM_ARS_PI(R) 1
#define SIMDGRAD_GEMM_ACS_PI(R) SIMDGRAD_GEMM_R(R)
#define SIMDGRAD_GEMM_ARS_IP(R) static_cast<int>(kKC)
#define SIMDGRAD_GEMM_ACS_IP(R) 1

inline GemmUkrFn ukr_pi(std::size_t r) {
  SIMDGRAD_GEMM_UKR_SWITCH(r, SIMDGRAD_GEMM_ARS_PI, SIMDGRAD_GEMM_ACS_PI)
}
inline GemmUkrFn ukr_ip(std::size_t r) {
  SIMDGRAD_GEMM_UKR_SWITCH(r, SIMDGRAD_GEMM_ARS_IP, SIMDGRAD_GEMM_ACS_IP)
}

// The epilogue of each activation whose functor exists in kernels/activation.hpp; act = -1 is
// the bias alone. Extend the list as the activation family grows.
#define SIMDGRAD_GEMM_ACTIVATIONS(X) \
  X(relu, ReluOp) X(leaky_relu, LeakyReluOp) X(hardswish, HardswishOp)

inline GemmEpilogueFn epilogue_fn(int act) {
  if (act < 0) return &gemm_tile_epilogue<IdentityOp>;
  switch (static_cast<Activation>(act)) {
#define SIMDGRAD_GEMM_EPI_CASE(name, Op) \
  case Activation::name: return &gemm_tile_epilogue<Op>;
    SIMDGRAD_GEMM_ACTIVATIONS(SIMDGRAD_GEMM_EPI_CASE)
#undef SIMDGRAD_GEMM_EPI_CASE
    default: return nullptr;
  }
}

#include "kernels/gemm_driver.hpp"

void gemm_block(const GemmArgs& g, std::size_t m0, std::size_t m1, std::size_t n0,
                std::size_t n1, float* ws) {
  gemm_block_impl(g, m0, m1, n0, n1, ws);
}

void fill(GemmTable& t) {
  t.gemm_block = &gemm_block;
  t.colsum_rows = &gemm_colsum_rows;
  t.colsum_cols = &gemm_colsum_cols;
  for (int i = 0; i < kActivationCount; ++i) t.has_act[i] = false;
#define SIMDGRAD_GEMM_HAS_CASE(name, Op) t.has_act[static_cast<int>(Activation::name)] = true;
  SIMDGRAD_GEMM_ACTIVATIONS(SIMDGRAD_GEMM_HAS_CASE)
#undef SIMDGRAD_GEMM_HAS_CASE
}

}  // namespace simdgrad::kernels::SIMDGRAD_ISA_NS
