#pragma once
// The GEMM family's kernel table (one per ISA) and its block sizes. Plain data: no xsimd.
//
// Every call is normalized by src/gemm.cpp to one row-major problem
//   C[i][j] = act(alpha * sum_p A(i,p) * B(p,j) + beta * C[i][j] + bias)
// with A(i,p) = a[i*a_rs + p*a_cs] and B(p,j) = b[p*b_rs + j*b_cs] (any strides: the transposes
// and the column-major layout become strides; column-major C is computed as its row-major
// transpose, which turns a bias per column of C into a bias per row of the normalized C).
#include <cstddef>

#include "simdgrad/activation.hpp"

namespace simdgrad::kernels {

/// Block sizes of one ISA. The register tile is mr rows of C by nr columns (nr = nv vectors).
/// The BLIS loops, as the row-major twin of BLIS's column-major ones:
///   ic over m by mc   (rows of A packed per block: mc x kc, lives in L3 / stays warm in L2)
///   pc over k by kc   (one k block; A micro-panel mr x kc is the L1-resident operand)
///   jc over n by nc   (B packed per block: kc x nc, L2-resident)
///   ir over mr rows, jr over nr columns, microkernel mr x nr.
struct GemmBlocking {
  int mr, nr, kc, mc, nc;
};

/// The k block is part of the result's formula (C keeps alpha * partial sum between blocks), so
/// it is the same on every ISA: then ISAs that fuse their multiply-adds agree bit for bit.
/// 256: a tile streams its A micro-panel (mr x kc) and its B panel (kc x nr) once per tile, so
/// both must fit in L1 together to be re-read from there: AVX-512's 12 x 32 needs 44 KB of the
/// 48 KB L1 at kc = 256 and 66 KB at 384 (Intel Xeon with AVX-512: 1024^3 0.94x -> 1.0x of
/// dnnl_sgemm, 2048^3 0.92x -> 0.97x), AVX2's 6 x 16 22 KB (33 KB at 384, over a 32 KB L1).
inline constexpr int kGemmKC = 256;

/// k in ceil(k / kc) blocks of equal size (at most kc): no short last block. Depends on k and
/// kc only, so it is the same on every ISA and thread. Returns the size of a block.
inline std::size_t gemm_kstep(std::size_t k) {
  constexpr std::size_t kc = static_cast<std::size_t>(kGemmKC);
  // One block without the division below (perf put a tenth of the block driver's samples in
  // a 6 x 64 x 16 product on it; 8^3 +4%).
  if (k <= kc) return k > 0 ? k : kc;
  const std::size_t nkb = (k + kc - 1) / kc;
  return (k + nkb - 1) / nkb;
}

/// How many k blocks of kstep = gemm_kstep(k) steps the formula walks (0 for k = 0).
inline std::size_t gemm_kblocks(std::size_t k, std::size_t kstep) {
  return (k + kstep - 1) / kstep;
}

/// Up to this many rows of A per block (192 x kc floats, 288 KB, which stays in L2 while B goes
/// by), the driver packs B panel by panel, its next panel prefetched, instead of a whole block
/// first (kernels/gemm_driver.hpp); src/gemm.cpp's thread grid takes it into account. Measured
/// on Zen 5 (1 MB L2): 64-192 rows x 2048 x 1024 went from 0.78-0.93x of dnnl_sgemm with the
/// block-packing loop to 0.96-1.03x; from 256 rows on it no longer helps.
inline constexpr std::size_t kGemmFewRows = 192;

// Index by static_cast<int>(Isa): scalar, sse2, avx2, avx512, neon. Chosen on the development
// machine (see docs/gemm.md for the measurements behind each number).
inline constexpr GemmBlocking kGemmBlocking[5] = {
    /* scalar */ {4, 4, kGemmKC, 1020, 512},
    /* sse2   */ {4, 8, kGemmKC, 1020, 512},
    /* avx2   */ {6, 16, kGemmKC, 6144, 1024},
    /* avx512 */ {12, 32, kGemmKC, 6144, 1024},
    /* neon   */ {8, 12, kGemmKC, 1024, 768},
};

enum class BiasMode : int { none = 0, per_col = 1, per_row = 2 };

/// The normalized problem, and which sub-block of C one call computes.
struct GemmArgs {
  std::size_t m, n, k;
  const float* a;
  std::ptrdiff_t a_rs, a_cs;
  const float* b;
  std::ptrdiff_t b_rs, b_cs;
  float* c;
  std::size_t ldc;
  float alpha, beta;
  const float* bias;  // indexed by the global column (per_col) or row (per_row)
  BiasMode bias_mode;
  int act;            // -1: none, else static_cast<int>(Activation)
  float act_alpha;
  bool dot;           // few rows, a_cs == 1, b_rs == 1: dot products along k (gemm_dot)
  bool dot_pack_b;    // dot with B row-major (b_cs == 1): its columns copied to rows first
  bool unpacked_a;    // read A in place (needs a_cs == 1 or a_rs == 1)
  bool unpacked_a_tall;  // A row-major (a_cs == 1): read in place by a block of more than
                         // kGemmFewRows rows (the block-packing loop) whatever unpacked_a says
  bool unpacked_b;    // read B in place (needs b_cs == 1); decided from the whole problem
  bool b_rows_spread; // B's rows (row stride b_rs) fall on 16 or more of the 64 sets of a 4 KB
                      // period (4096 / gcd(4 b_rs, 4096) >= 16)
  std::size_t mc, nc; // cache blocks for this CPU (multiples of mr and nr); not in the formula
  bool stream_c;      // C written with non-temporal stores (one k block, beta = 0, no epilogue)
  bool prefetch_a;    // tiles over A stored transposed and read in place prefetch it (A of 1 MB
                      // or more, rows 2 KB or more apart: GemmTileStore::pf_a)
  std::size_t row_chunk;  // columns of C per pass of the two-row path (its partial sums in L1;
                          // a power of two from 1024 to 16384, a multiple of every kW)
  std::size_t wide_chunk; // columns of C per pass of the one-row path (its partial sums in L2;
                          // a power of two from row_chunk to kGemmMaxRowChunk)
  std::size_t l2_floats;  // the L2 cache per core in floats (0: not known), for the block
                          // loop's slabs of C
};

/// Floats of the workspace a tile's accumulators go through on the way to an edge store (up to
/// 32 vectors of 16 floats).
inline constexpr std::size_t kGemmEdgeFloats = 512;

/// The most columns the one-row path takes per pass (GemmArgs::wide_chunk).
inline constexpr std::size_t kGemmMaxRowChunk = 32768;

/// Workspace (floats) one gemm_block call needs for its packed A (mc x kc) and B (kc x nc), and
/// the tiles' edge-store buffer after them; at least the one-row path's partial sums and the
/// up to 4 KB it shifts them by.
inline std::size_t gemm_workspace_floats(std::size_t mc, std::size_t nc, std::size_t kc) {
  const std::size_t blocks = mc * kc + kc * nc + kGemmEdgeFloats + 64;
  const std::size_t one_row = kGemmMaxRowChunk + 1024 + 64;
  return blocks > one_row ? blocks : one_row;
}

/// Computes rows [m0, m1) x columns [n0, n1) of C. ws: gemm_workspace_floats() floats, 64-byte
/// aligned. Single-threaded; a thread per sub-block gives bitwise the same C as one thread.
using GemmBlockFn = void (*)(const GemmArgs& g, std::size_t m0, std::size_t m1, std::size_t n0,
                             std::size_t n1, float* ws);

/// sums[j] = sum_i x[i*ldx + j] (+ beta*sums[j] unless beta == 0) for j in [0, n): the columns of
/// a row-major m x n matrix. Rows are added in a fixed order (two interleaved partial sums,
/// even and odd rows), the same on every ISA and for any split of the columns.
using ColSumRowsFn = void (*)(std::size_t m, std::size_t n, const float* x, std::size_t ldx,
                              float beta, float* sums);
/// sums[j] = sum_i x[j*ldx + i] (+ beta*sums[j]): the columns of a column-major m x n matrix.
using ColSumColsFn = ColSumRowsFn;

/// C's rows [m0, m1) x columns [n0, n1) from the sums of k blocks [kb0, kb1) (blocks as in the
/// formula; block b's element (i, j) at sums[(b - kb0) * bstride + i * ld + j], each computed
/// by GemmBlockFn with alpha 1, beta 0 and no epilogue over that block alone), folded in block
/// order (the epilogue after the last block of k): then C is what GemmBlockFn gives over all
/// of k, to the bit (every path but the dot path, g.dot, sums a block the same way).
/// Single-threaded.
using GemmFoldFn = void (*)(const GemmArgs& g, const float* sums, std::size_t ld,
                            std::size_t bstride, std::size_t kb0, std::size_t kb1,
                            std::size_t m0, std::size_t m1, std::size_t n0, std::size_t n1);

/// Small products (up to one thread's share of multiply-adds, src/gemm.cpp): all of C in one pass
/// of register tiles over A and B, where A is row-major or stored transposed (a_cs == 1 or
/// a_rs == 1), k >= 1 (each tile walks the formula's k blocks, C kept between them as GemmBlockFn's
/// tiles keep it: the same bits) and alpha != 0. A row-major B (b_cs == 1) is read in place; a
/// transposed one (b_rs == 1) is packed into ws first (at least kc x nc floats, 64-byte aligned;
/// unused and may be null for a row-major B). Returns false, having written nothing, for the shapes
/// it leaves to GemmBlockFn (few columns against many rows, x W^T at batch 1-4: the dot and column
/// tiles; over more than one k block, a last panel of fewer than kMinChains accumulators).
/// Single-threaded.
using GemmSmallFn = bool (*)(const GemmArgs& g, float* ws);

struct GemmTable {
  GemmBlockFn gemm_block;
  GemmFoldFn fold;
  GemmSmallFn small;  // nullptr where the ISA has no small path
  ColSumRowsFn colsum_rows;
  ColSumColsFn colsum_cols;
  bool has_act[kActivationCount];  // epilogue kernels compiled for this activation
};

}  // namespace simdgrad::kernels
