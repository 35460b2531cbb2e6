// GEMM kernels, compiled once per ISA (see CMakeLists.txt).
#include "kernels/arch/prologue.hpp"
#include "kernels/gemm_table.hpp"

#if defined(SIMDGRAD_ISA_SCALAR) && defined(__GNUC__) && !defined(__clang__)
// The scalar GEMM kernels without GCC's auto-vectorizer: in the 2-row tiles over A stored
// transposed it loaded each k step's two elements of A into one register together with the next
// step's two, also on the last step: 8 bytes past A's end (a fault where A ends at a page
// boundary: Gemm.SmallProducts, scalar). The scalar path is the portable reference, not a fast one.
#pragma GCC optimize("no-tree-vectorize")
#endif

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
static_assert(kNV * static_cast<int>(kW) == kBlocking.nr, "nr must be a whole number of vectors");
static_assert(kMR >= 1 && kMR <= 16, "mr out of range");
static_assert(kBlocking.mc % kMR == 0, "mc must be a multiple of mr");
static_assert(kBlocking.nc % kBlocking.nr == 0, "nc must be a multiple of nr");

// Microkernels for r rows (1 <= r <= kMR), by the layout of the A panel: [p][i] packed
// (kApi), [i][p] packed with row stride kc (kAip), or A itself with a run-time row stride
// (kAinplace) or a run-time column stride (kAinplaceT, A stored transposed). The narrow family
// has the main tile's kNV vectors; the wide family, for B read in place by few rows, spends the
// same accumulator budget on more columns (1 x 16 vectors on AVX-512): long contiguous runs of
// each row of B, fewer passes over the k block.
enum : int { kApi = 0, kAip = 1, kAinplace = 2, kAinplaceT = 3 };
constexpr int kAccBudget = kMR * kNV;
// A multiple of kNV, so that wide tiles end on the narrow tiles' (and packed panels') grid.
constexpr int wide_v_formula(int r) {
  const int v = (kAccBudget / r > 16 ? 16 : kAccBudget / r) / kNV * kNV;
  return v < kNV ? kNV : v;
}
// wide_v(r) for r = 1..kMR as a table: the driver asks for it with run-time r, once per row
// count tried by the narrow-block search, and as a formula each ask was an integer division
// (an idiv: 18% of gemm_block_impl's samples for one 6 x 64 x 64 tile, perf).
struct GemmWideV {
  int v[kMR + 1];
  constexpr GemmWideV() : v() {
    for (int r = 1; r <= kMR; ++r) v[r] = wide_v_formula(r);
  }
};
constexpr GemmWideV kGemmWideV{};
constexpr int wide_v(int r) { return kGemmWideV.v[r]; }
template <int Fmt, int R>
constexpr int ars_of() {
  return Fmt == kApi || Fmt == kAinplaceT ? 1 : Fmt == kAip ? static_cast<int>(kKC) : 0;
}
template <int Fmt, int R>
constexpr int acs_of() { return Fmt == kApi ? R : Fmt == kAinplaceT ? 0 : 1; }

// The kernel for r rows (1 <= r <= kMR) of A panel format Fmt with V vectors of columns (V = 0:
// the wide family's wide_v(r)), with the second prefetch stream when PF (GemmTileStore::pf).
template <int Fmt, int V, bool PF, int R = kMR>
GemmUkrFn pick_tile(std::size_t r) {
  if (r == static_cast<std::size_t>(R))
    return &gemm_ukr<R, V == 0 ? wide_v(R) : V, ars_of<Fmt, R>(), acs_of<Fmt, R>(), PF>;
  if constexpr (R > 1) return pick_tile<Fmt, V, PF, R - 1>(r);
  return nullptr;
}
template <int V, bool PF = false>
GemmUkrFn tile_for(int fmt, std::size_t r) {
  if (fmt == kApi) return pick_tile<kApi, V, PF>(r);
  if (fmt == kAip) return pick_tile<kAip, V, PF>(r);
  if (fmt == kAinplaceT) return pick_tile<kAinplaceT, V, PF>(r);
  return pick_tile<kAinplace, V, PF>(r);
}
// The main tiles (or the wide family), the main tiles with the prefetch stream, and one-vector
// tiles for the last columns of C when they fit a vector (n = 100 on AVX-512 leaves 4: half the
// time of a two-vector tile that would compute mostly padding).
inline GemmUkrFn ukr_for(int fmt, bool wide, std::size_t r) {
  return wide ? tile_for<0>(fmt, r) : tile_for<kNV>(fmt, r);
}
inline GemmUkrFn ukr_pf_for(int fmt, std::size_t r) { return tile_for<kNV, true>(fmt, r); }
// The main tile that also packs the B panel it reads in place (GemmTileStore::pack), with or
// without the prefetch stream: the first row tile over each panel; kMR rows only.
template <bool PF>
GemmUkrFn ukr_pack_fmt(int fmt) {
  constexpr int R = kMR;
  if (fmt == kApi) return &gemm_ukr<R, kNV, ars_of<kApi, R>(), acs_of<kApi, R>(), PF, true>;
  if (fmt == kAip) return &gemm_ukr<R, kNV, ars_of<kAip, R>(), acs_of<kAip, R>(), PF, true>;
  if (fmt == kAinplaceT)
    return &gemm_ukr<R, kNV, ars_of<kAinplaceT, R>(), acs_of<kAinplaceT, R>(), PF, true>;
  return &gemm_ukr<R, kNV, ars_of<kAinplace, R>(), acs_of<kAinplace, R>(), PF, true>;
}
inline GemmUkrFn ukr_pack_for(int fmt, bool pf) {
  return pf ? ukr_pack_fmt<true>(fmt) : ukr_pack_fmt<false>(fmt);
}
// The narrow-block tiles: rw rows of the wide family's width wide_v(rw) (rw < kMR), and the
// block's last r < rw rows at that same width (the wide tile of r rows would be wider than
// the block, and B, read in place, is only that wide).
template <int RW = kMR - 1>
GemmUkrFn ukr_narrow_for(int fmt, std::size_t rw, std::size_t r) {
  if constexpr (RW >= 1) {
    if (rw == static_cast<std::size_t>(RW)) {
      constexpr int V = wide_v(RW);
      if (fmt == kApi) return pick_tile<kApi, V, false, RW>(r);
      if (fmt == kAip) return pick_tile<kAip, V, false, RW>(r);
      if (fmt == kAinplaceT) return pick_tile<kAinplaceT, V, false, RW>(r);
      return pick_tile<kAinplace, V, false, RW>(r);
    }
    return ukr_narrow_for<RW - 1>(fmt, rw, r);
  }
  return nullptr;
}
inline GemmUkrFn ukr_v1_for(int fmt, std::size_t r) { return tile_for<1>(fmt, r); }
// Tiles taller than the main one, as tall as the register file holds (R x kNV accumulators, kNV
// B vectors and a broadcast): AVX-512 14 x 32 (31 of 32 zmm), NEON 9 x 12; none on AVX2 or
// SSE2. For few row tiles over B read in place, rows at one stride (A in place or packed
// [i][p]): 13 rows in one tile read each panel of B once instead of twice. ukr_tall_for(fmt, r)
// takes any 1 <= r <= kTallMR (the main tiles up to kMR); nullptr for taller [p][i] panels.
// ukr_tall_for<1>: the same heights with one vector of columns (a last panel of at most a vector).
constexpr int kTallMR = [] {
  int r = kMR;
  while ((r + 1) * kNV + kNV + 1 <= kVectorRegs && r + 1 <= 16) ++r;
  return r;
}();
template <int V = kNV>
GemmUkrFn ukr_tall_for(int fmt, std::size_t r) {
  if (r <= static_cast<std::size_t>(kMR)) return tile_for<V>(fmt, r);
  if constexpr (kTallMR > kMR) {
    if (r > static_cast<std::size_t>(kTallMR) || fmt == kApi) return nullptr;
    if (fmt == kAip) return pick_tile<kAip, V, false, kTallMR>(r);
    if (fmt == kAinplaceT) return pick_tile<kAinplaceT, V, false, kTallMR>(r);
    return pick_tile<kAinplace, V, false, kTallMR>(r);
  }
  return nullptr;
}
// Two row tiles' one-vector tile (2 kMR rows), where kMR one-vector chains are too few to hide
// the multiply-add latency, for A panels whose rows lie at one stride; nullptr elsewhere.
inline GemmUkrFn ukr_v1_pair_for(int fmt) {
  if constexpr (static_cast<std::size_t>(kMR) < kMinChains && 2 * kMR + 2 <= kVectorRegs) {
    constexpr int R = 2 * kMR;
    if (fmt == kAip) return &gemm_ukr<R, 1, ars_of<kAip, R>(), acs_of<kAip, R>()>;
    if (fmt == kAinplace) return &gemm_ukr<R, 1, ars_of<kAinplace, R>(), acs_of<kAinplace, R>()>;
    if (fmt == kAinplaceT)
      return &gemm_ukr<R, 1, ars_of<kAinplaceT, R>(), acs_of<kAinplaceT, R>()>;
  }
  return nullptr;
}

// The small-product tiles (gemm_ukr_small) by A's layout (0: row-major, 1: stored transposed),
// vectors of columns (1..kSmallV) and rows (1..kSmallMR), as a table (nullptr where R x V
// accumulators, V vectors of B and a broadcast would not fit the register file): the small path
// picks one per tile, and a chain of compares per pick was a visible part of an 8^3 product.
constexpr int kSmallV = 2 * kNV;
constexpr int kSmallMR = 2 * kMR;
constexpr bool small_fits(int r, int v) { return r * v + v + 1 <= kVectorRegs; }
// The most rows a small tile of v vectors takes (1 <= v <= kSmallV).
constexpr int small_rows(int v) {
  int r = kSmallMR;
  while (r > 1 && !small_fits(r, v)) --r;
  return r;
}
struct GemmSmallRows {
  int r[kSmallV + 1];
  constexpr GemmSmallRows() : r() {
    for (int v = 1; v <= kSmallV; ++v) r[v] = small_rows(v);
  }
};
constexpr GemmSmallRows kGemmSmallRows{};
struct GemmSmallTiles {
  GemmUkrFn f[2][kSmallV][kSmallMR];
  constexpr GemmSmallTiles() : f() { fill<kSmallMR>(); }
  template <int R>
  constexpr void fill() {
    fill_v<R, 1>();
    if constexpr (R > 1) fill<R - 1>();
  }
  template <int R, int V>
  constexpr void fill_v() {
    if constexpr (small_fits(R, V)) {
      f[0][V - 1][R - 1] = &gemm_ukr_small<R, V, 0, 1>;
      f[1][V - 1][R - 1] = &gemm_ukr_small<R, V, 1, 0>;
    }
    if constexpr (V < kSmallV) fill_v<R, V + 1>();
  }
};
// Only with 8- and 16-float vectors (AVX2, AVX-512), whose masked loads and stores are single
// instructions; elsewhere a partial vector goes through the stack (load_partial).
constexpr bool kHaveSmall = kW >= 8;
inline GemmUkrFn ukr_small_for(int a_transposed, std::size_t v, std::size_t r) {
  if constexpr (kHaveSmall) {
    static constexpr GemmSmallTiles tiles{};
    return tiles.f[a_transposed][v - 1][r - 1];
  }
  return nullptr;
}

// The epilogue of each activation whose functor exists in kernels/activation.hpp; act = -1 is
// the bias alone. Extend the list as the activation family grows.
#define SIMDGRAD_GEMM_ACTIVATIONS(X)                                                  \
  X(relu, ReluOp) X(leaky_relu, LeakyReluOp) X(elu, EluOp) X(selu, SeluOp)           \
  X(gelu_erf, GeluErfOp) X(gelu_tanh, GeluTanhOp) X(sigmoid, SigmoidOp) X(tanh, TanhOp) \
  X(softplus, SoftplusOp) X(silu, SiluOp) X(mish, MishOp) X(hardswish, HardswishOp)

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

bool small(const GemmArgs& g, float* ws) { return gemm_small_impl(g, ws); }

void fold(const GemmArgs& g, const float* sums, std::size_t ld, std::size_t bstride,
          std::size_t kb0, std::size_t kb1, std::size_t m0, std::size_t m1, std::size_t n0,
          std::size_t n1) {
  gemm_fold_impl(g, sums, ld, bstride, kb0, kb1, m0, m1, n0, n1);
}

void fill(GemmTable& t) {
  t.gemm_block = &gemm_block;
  t.fold = &fold;
  t.small = kHaveSmall ? &small : nullptr;
  t.colsum_rows = &gemm_colsum_rows;
  t.colsum_cols = &gemm_colsum_cols;
  for (int i = 0; i < kActivationCount; ++i) t.has_act[i] = false;
#define SIMDGRAD_GEMM_HAS_CASE(name, Op) t.has_act[static_cast<int>(Activation::name)] = true;
  SIMDGRAD_GEMM_ACTIVATIONS(SIMDGRAD_GEMM_HAS_CASE)
#undef SIMDGRAD_GEMM_HAS_CASE
}

}  // namespace simdgrad::kernels::SIMDGRAD_ISA_NS
