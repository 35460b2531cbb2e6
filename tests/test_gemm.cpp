// GEMM: every layout and transpose on every ISA against the double reference and oneDNN, tile
// and block edges, padded leading dimensions, alpha/beta, beta = 0 with NaN in C, epilogues,
// thread-count and ISA agreement, column sums, bad input.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "../kernels/gemm_table.hpp"
#include "common.hpp"
#include "support/reference_gemm.hpp"

using simdgrad::Activation;
using simdgrad::ActivationSpec;
using simdgrad::GemmEpilogue;
using simdgrad::MatLayout;
using simdgrad::Trans;

namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kSentinel = 12345.0f;  // fills the gaps of padded matrices; must never change

const simdgrad::kernels::GemmBlocking& blocking_of(simdgrad::Isa isa) {
  return simdgrad::kernels::kGemmBlocking[static_cast<int>(isa)];
}

std::string name_of(MatLayout l, Trans ta, Trans tb) {
  return std::string(l == MatLayout::row_major ? "row" : "col") + "-" +
         (ta == Trans::none ? "N" : "T") + (tb == Trans::none ? "N" : "T");
}

struct Problem {
  MatLayout layout = MatLayout::row_major;
  Trans ta = Trans::none, tb = Trans::none;
  std::size_t m = 0, n = 0, k = 0;
  std::size_t pad_a = 0, pad_b = 0, pad_c = 0;  // leading dimension above the minimum
  float alpha = 1.0f, beta = 0.0f;
  bool nan_c = false;  // C starts as NaN (with beta = 0 it must not leak)
  GemmEpilogue ep;
  unsigned seed = 1;

  std::size_t rows_a() const { return ta == Trans::none ? m : k; }
  std::size_t cols_a() const { return ta == Trans::none ? k : m; }
  std::size_t rows_b() const { return tb == Trans::none ? k : n; }
  std::size_t cols_b() const { return tb == Trans::none ? n : k; }
  std::size_t inner(std::size_t rows, std::size_t cols) const {
    return layout == MatLayout::row_major ? cols : rows;
  }
  std::size_t outer(std::size_t rows, std::size_t cols) const {
    return layout == MatLayout::row_major ? rows : cols;
  }
  std::size_t lda() const { return std::max<std::size_t>(1, inner(rows_a(), cols_a())) + pad_a; }
  std::size_t ldb() const { return std::max<std::size_t>(1, inner(rows_b(), cols_b())) + pad_b; }
  std::size_t ldc() const { return std::max<std::size_t>(1, inner(m, n)) + pad_c; }
  std::string str() const {
    return name_of(layout, ta, tb) + " m=" + std::to_string(m) + " n=" + std::to_string(n) +
           " k=" + std::to_string(k) + " alpha=" + std::to_string(alpha) +
           " beta=" + std::to_string(beta) + (nan_c ? " nanC" : "") +
           (ep.bias ? " bias" : "") +
           (ep.activate ? std::string(" act=") + simdgrad::activation_name(ep.act.kind) : "");
  }
};

/// A problem of layout l, transposes ta and tb, m x n x k (the rest as Problem's defaults).
Problem shaped(MatLayout l, Trans ta, Trans tb, std::size_t m, std::size_t n, std::size_t k) {
  Problem p;
  p.layout = l;
  p.ta = ta;
  p.tb = tb;
  p.m = m;
  p.n = n;
  p.k = k;
  return p;
}

/// shaped(...) with alpha and beta; C starts as NaN where beta = 0 (which must not leak).
Problem sized(MatLayout l, Trans ta, Trans tb, std::size_t m, std::size_t n, std::size_t k,
              float alpha, float beta) {
  Problem p = shaped(l, ta, tb, m, n, k);
  p.alpha = alpha;
  p.beta = beta;
  p.nan_c = beta == 0.0f;
  return p;
}

/// A stored matrix filled with data, its gaps (ld beyond the row) with the sentinel.
std::vector<float> make_matrix(MatLayout layout, std::size_t rows, std::size_t cols,
                               std::size_t ld, unsigned seed, float lo = -1.0f, float hi = 1.0f) {
  const std::size_t outer = layout == MatLayout::row_major ? rows : cols;
  const std::size_t inner = layout == MatLayout::row_major ? cols : rows;
  std::vector<float> v(std::max<std::size_t>(1, outer) * ld, kSentinel);
  const auto d = sgtest::uniform(outer * inner + 1, lo, hi, seed);
  for (std::size_t o = 0; o < outer; ++o)
    for (std::size_t i = 0; i < inner; ++i) v[o * ld + i] = d[o * inner + i];
  return v;
}

struct Data {
  std::vector<float> a, b, c0, bias;
};

Data make_data(const Problem& p) {
  Data d;
  d.a = make_matrix(p.layout, p.rows_a(), p.cols_a(), p.lda(), p.seed);
  d.b = make_matrix(p.layout, p.rows_b(), p.cols_b(), p.ldb(), p.seed + 1);
  d.c0 = make_matrix(p.layout, p.m, p.n, p.ldc(), p.seed + 2);
  if (p.nan_c)
    for (std::size_t i = 0; i < p.m; ++i)
      for (std::size_t j = 0; j < p.n; ++j)
        d.c0[sgref::stored_index(p.layout, i, j, p.ldc())] = kNaN;
  d.bias = sgtest::uniform(p.n + 1, -1.0f, 1.0f, p.seed + 3);
  return d;
}

// A non-null bias in a Problem's epilogue means "with a bias": epilogue_for() puts the Data's
// bias vector in its place.
const float* const kWithBias = reinterpret_cast<const float*>(1);

GemmEpilogue epilogue_for(const Problem& p, const Data& d) {
  GemmEpilogue ep = p.ep;
  if (ep.bias) ep.bias = d.bias.data();
  return ep;
}

std::vector<float> run_gemm(const Problem& p, const Data& d) {
  std::vector<float> c = d.c0;
  simdgrad::gemm(p.layout, p.ta, p.tb, p.m, p.n, p.k, p.alpha, d.a.data(), p.lda(), d.b.data(),
                 p.ldb(), p.beta, c.data(), p.ldc(), epilogue_for(p, d));
  return c;
}

/// Checks c against the reference; the gaps of C must hold the sentinel still.
bool check_result(const Problem& p, const Data& d, const std::vector<float>& c,
                  double act_ulp = 4.0) {
  const auto ref = sgref::gemm_reference(p.layout, p.ta, p.tb, p.m, p.n, p.k, p.alpha,
                                         d.a.data(), p.lda(), d.b.data(), p.ldb(), p.beta,
                                         d.c0.data(), p.ldc(), epilogue_for(p, d), act_ulp);
  int bad = 0;
  for (std::size_t i = 0; i < p.m; ++i)
    for (std::size_t j = 0; j < p.n; ++j) {
      const float got = c[sgref::stored_index(p.layout, i, j, p.ldc())];
      const double want = ref.value[i * p.n + j];
      const bool ok = std::isnan(want)   ? std::isnan(got)
                      : std::isinf(want) ? static_cast<double>(got) == want
                                         : std::fabs(got - want) <= ref.bound[i * p.n + j];
      if (!ok && bad++ < 3)
        ADD_FAILURE() << p.str() << " at (" << i << "," << j << "): got " << got << " want "
                      << want << " bound " << ref.bound[i * p.n + j];
    }
  const std::size_t outer = p.outer(p.m, p.n), inner = p.inner(p.m, p.n);
  for (std::size_t o = 0; o < outer; ++o)
    for (std::size_t x = inner; x < p.ldc(); ++x)
      if (c[o * p.ldc() + x] != kSentinel && bad++ < 3)
        ADD_FAILURE() << p.str() << ": gap of C written at " << o << "," << x;
  return bad == 0;
}

const Trans kTrans[2] = {Trans::none, Trans::transpose};
const MatLayout kLayouts[2] = {MatLayout::row_major, MatLayout::col_major};

class Gemm : public sgtest::PerIsa {
 protected:
  const simdgrad::kernels::GemmBlocking& bk() const { return blocking_of(GetParam()); }
};

// m, n around the register tile, small k; every layout and transpose; padded lds.
TEST_P(Gemm, TileEdgesAllLayouts) {
  const auto& b = bk();
  const std::size_t mr = b.mr, nr = b.nr;
  const std::vector<std::size_t> ms = {1, mr - 1 > 0 ? mr - 1 : 2, mr, mr + 1, 2 * mr + 3};
  const std::vector<std::size_t> ns = {1, nr - 1, nr, nr + 1, 2 * nr + 5};
  const std::vector<std::size_t> ks = {1, 2, 17};
  for (MatLayout l : kLayouts)
    for (Trans ta : kTrans)
      for (Trans tb : kTrans)
        for (std::size_t m : ms)
          for (std::size_t n : ns)
            for (std::size_t k : ks) {
              Problem p = shaped(l, ta, tb, m, n, k);
              p.pad_a = (m + k) % 3;
              p.pad_b = 1 + (n % 5);
              p.pad_c = 3;
              p.seed = static_cast<unsigned>(m * 131 + n * 7 + k);
              const Data d = make_data(p);
              if (!check_result(p, d, run_gemm(p, d))) return;
            }
}

// k across the k blocking (kc - 1, kc, kc + 1, 2kc + 3): partial sums are stored and reloaded.
TEST_P(Gemm, KBlocksAllLayouts) {
  const auto& b = bk();
  const std::size_t kc = b.kc;
  for (MatLayout l : kLayouts)
    for (Trans ta : kTrans)
      for (Trans tb : kTrans)
        for (std::size_t k : {kc - 1, kc, kc + 1, 2 * kc + 3}) {
          Problem p = shaped(l, ta, tb, b.mr + 2, b.nr + 3, k);
          p.pad_a = 2;
          p.pad_b = 1;
          p.pad_c = 5;
          p.beta = 0.5f;
          const Data d = make_data(p);
          if (!check_result(p, d, run_gemm(p, d))) return;
        }
}

// A few hundred in every dimension, past the mc/nc blocks on the small ISAs' tables.
TEST_P(Gemm, HundredsAllLayouts) {
  const std::size_t m = sgtest::big(16 * 19) + 3, n = sgtest::big(16 * 21) + 5,
                    k = sgtest::big(16 * 17) + 1;
  for (MatLayout l : kLayouts)
    for (Trans ta : kTrans)
      for (Trans tb : kTrans) {
        if (sgtest::small_run() && (ta != tb)) continue;
        Problem p = shaped(l, ta, tb, m, n, k);
        p.pad_c = 1;
        p.pad_a = 4;
        p.beta = 1.0f;
        const Data d = make_data(p);
        if (!check_result(p, d, run_gemm(p, d))) return;
      }
}

// Shapes that exercise the whole blocking: more rows than mc or more columns than nc (at a
// full k block), or than the wider column block of a short k block under more than 192 rows
// (kc nc / 2k columns).
TEST_P(Gemm, BeyondBlockSizes) {
  const auto& b = bk();
  const std::size_t mr = static_cast<std::size_t>(b.mr), nr = static_cast<std::size_t>(b.nr);
  const std::size_t kc = static_cast<std::size_t>(b.kc), nc = static_cast<std::size_t>(b.nc);
  struct S { std::size_t m, n, k; };
  const S shapes[] = {{static_cast<std::size_t>(b.mc) + mr + 1, 9, 5},
                      {3, nc + nr + 1, kc},
                      {200, kc * nc / 2 / 20 / nr * nr + nr + 1, 20}};
  for (const S& s : shapes)
    for (Trans tb : kTrans) {
      Problem p;
      p.tb = tb;
      p.m = s.m;
      p.n = s.n;
      p.k = s.k;
      const Data d = make_data(p);
      if (!check_result(p, d, run_gemm(p, d))) return;
    }
}

// Few row tiles (mr < m <= 192) over a B too large to read in place: B is packed panel by
// panel just before its tiles, with the next panel's source prefetched (rows of B, or columns
// of B stored transposed), over more than one column block and several k blocks, partial last
// panel; then more rows than that path takes (the block-packing loop).
TEST_P(Gemm, FewRowTilesPackedB) {
  const auto& b = bk();
  const std::size_t mr = static_cast<std::size_t>(b.mr), nr = static_cast<std::size_t>(b.nr);
  const std::size_t n = static_cast<std::size_t>(b.nc) + 3 * nr + 7;
  for (std::size_t m : {mr + 1, 2 * mr + 5, std::size_t{192}, std::size_t{197}})
    for (Trans tb : kTrans) {
      if (sgtest::small_run() && m != 2 * mr + 5) continue;
      Problem p;
      p.tb = tb;
      p.m = m;
      p.n = n;
      p.k = 800;
      p.pad_b = 3;
      p.alpha = -0.5f;
      p.beta = 1.0f;
      p.ep = GemmEpilogue(kWithBias, Activation::gelu_erf);
      const Data d = make_data(p);
      if (!check_result(p, d, run_gemm(p, d))) return;
    }
}

// Row-major A read in place by the block loop (more than 192 rows; GemmArgs::unpacked_a_tall) at
// row strides that put a tile's rows on many cache sets, on 4 (1 KB), on 2 (2 KB) and on one (a
// 4 KB multiple), narrow and wide C, both layouts (column-major C reads B^T as the normalized A),
// with a last row tile of 5 rows; and 192 rows, which the few-rows loop packs.
TEST_P(Gemm, TallAInPlace) {
  const auto& b = bk();
  const std::size_t mr = static_cast<std::size_t>(b.mr), nr = static_cast<std::size_t>(b.nr);
  const std::size_t n_wide = static_cast<std::size_t>(b.nc) + 3 * nr + 7;
  struct S { std::size_t m, n, k, pad_a; };
  const S shapes[] = {{193, 100, 300, 0},        {20 * mr + 5, 100, 256, 0},
                      {20 * mr + 5, 70, 500, 12}, {200, n_wide, 1024, 0},
                      {197, 45, 600, 424},       {192, 300, 1024, 0}};
  for (const S& s : shapes)
    for (MatLayout l : {MatLayout::row_major, MatLayout::col_major}) {
      if (sgtest::small_run() && (s.n == n_wide || l == MatLayout::col_major)) continue;
      Problem p;
      p.layout = l;
      p.m = l == MatLayout::row_major ? s.m : s.n;
      p.n = l == MatLayout::row_major ? s.n : s.m;
      p.k = s.k;
      // Column-major C is computed as C^T = B^T A^T: the normalized A is B^T, whose rows (the
      // columns of a column-major B) are contiguous at the stride ldb.
      (l == MatLayout::row_major ? p.pad_a : p.pad_b) = s.pad_a;
      p.alpha = -0.5f;
      p.beta = 2.0f;
      p.ep = GemmEpilogue(kWithBias, Activation::tanh);
      const Data d = make_data(p);
      if (!check_result(p, d, run_gemm(p, d))) return;
    }
}

// A block of a few hundred rows with A read in place, B stored transposed and several k blocks
// goes in slabs of C's columns, every k block of a slab before the next slab (on a 1-2 MB L2:
// 320-640 columns at 200 rows, so 700 columns end in a partial slab): beta = 0 with NaN in C and
// beta = 2, with the epilogue, which must run once per element, after the last k block.
TEST_P(Gemm, SlabsOfC) {
  struct S { std::size_t m, n, k; float beta; };
  const S full[] = {{200, 700, 520, 2.0f}, {200, 700, 520, 0.0f}, {250, 1100, 300, 2.0f}};
  const S small[] = {{200, 700, 300, 2.0f}};  // qemu and ASan runs: two k blocks, two slabs
  // One thread: two would split these rows into blocks of the few-rows loop.
  simdgrad::set_num_threads(1);
  const S* const shapes = sgtest::small_run() ? small : full;
  const std::size_t count = sgtest::small_run() ? 1 : 3;
  for (const S* s = shapes; s != shapes + count; ++s) {
    Problem p;
    p.m = s->m;
    p.n = s->n;
    p.k = s->k;
    p.tb = Trans::transpose;
    p.pad_c = 5;
    p.beta = s->beta;
    p.nan_c = s->beta == 0.0f;
    p.ep = GemmEpilogue(kWithBias, Activation::elu);
    const Data d = make_data(p);
    if (!check_result(p, d, run_gemm(p, d))) break;
  }
  simdgrad::set_num_threads(0);
}

// The same loop over a row-major B whose row stride is a 4 KB multiple (2048 floats): its rows
// fall on few cache sets, so no tile packs B while reading it; the panels are packed (and the
// next ones prefetched) in groups of two where a panel row is one cache line (AVX2), down to a
// last group of one full and one partial panel, or of one partial panel. Up to 4 mr rows read
// this B in place instead where a tile row spans two cache lines (AVX-512): 4 mr + 5 and 100
// rows take the packed loop on every ISA.
TEST_P(Gemm, FewRowTilesPackedBAliasedRows) {
  const auto& b = bk();
  const std::size_t mr = static_cast<std::size_t>(b.mr), nr = static_cast<std::size_t>(b.nr);
  for (std::size_t tail : {3 * nr + 7, 2 * nr + 7, nr})
    for (std::size_t m : {mr + 1, 2 * mr + 5, 4 * mr + 5, std::size_t{100}}) {
      if (sgtest::small_run() && m != 4 * mr + 5) continue;
      Problem p;
      p.m = m;
      p.n = static_cast<std::size_t>(b.nc) + tail;
      p.k = 600;
      p.pad_b = 2048 - p.n;
      p.alpha = 2.0f;
      p.beta = 0.0f;
      p.ep = GemmEpilogue(kWithBias, Activation::relu);
      const Data d = make_data(p);
      if (!check_result(p, d, run_gemm(p, d))) return;
    }
}

// C a little wider than the register tile and tall (4096 x 64 x 64 layers): the tiles of fewer
// rows and more columns (6 x 64 on AVX-512), B in place or packed into one padded panel; and a
// last column block that narrow (n = nc + nr + 8) after wide ones, with A packed in each of its
// layouts (A transposed packs [p][i] panels of mr rows).
TEST_P(Gemm, TallNarrowC) {
  const std::size_t nr = static_cast<std::size_t>(bk().nr), nc = static_cast<std::size_t>(bk().nc);
  for (std::size_t n : {nr + 1, nr + nr / 2, 2 * nr, 2 * nr + 3, nc + nr + 8})
    for (int t = 0; t < 4; ++t) {
      const Trans ta = kTrans[t / 2], tb = kTrans[t % 2];
      if (sgtest::small_run() && n != 2 * nr && n != nc + nr + 8) continue;
      if (n > nc && ta == Trans::none) continue;  // the packed [p][i] panels are what matters
      Problem p;
      p.ta = ta;
      p.tb = tb;
      p.m = 301;
      p.n = n;
      p.k = 871;  // m k > 2^18 floats: A is packed, not read in place
      p.beta = -0.5f;
      p.ep = GemmEpilogue(kWithBias, Activation::silu);
      const Data d = make_data(p);
      if (!check_result(p, d, run_gemm(p, d))) return;
    }
}

// Many rows against few columns of B (y = W x, X W^T with few outputs): dot products along k
// in tiles of kW x 1, kW/2 x 2 and kW/4 x 4 on AVX-512 and AVX2 (up to half a vector of
// columns from k = 128), the columns of a row-major B copied to rows first; tiles elsewhere. Rows that end in a part
// of a dot tile, column counts that end in a part of one, k that ends in a part of a vector;
// both layouts (column-major C is the transposed product: few rows, the other dot products).
TEST_P(Gemm, DotFewColumns) {
  struct S { std::size_t m, n, k; Trans tb; float beta; };
  const Trans N = Trans::none, T = Trans::transpose;
  const S full[] = {{37, 1, 100, N, 0.0f}, {100, 1, 700, T, 2.0f}, {53, 2, 300, T, 1.0f},
                    {19, 3, 40, T, -0.5f}, {70, 4, 17, T, 0.0f},  {45, 5, 130, T, 2.0f},
                    {33, 6, 257, T, 1.0f}, {129, 8, 200, T, 0.0f}, {300, 3, 1000, T, 2.0f},
                    {53, 4, 300, N, 1.0f}, {45, 3, 130, N, 0.0f},  {129, 8, 200, N, 2.0f},
                    {70, 2, 17, N, -0.5f}, {61, 10, 300, T, 1.0f}, {90, 12, 512, T, 0.0f},
                    {40, 11, 260, T, -0.5f}};
  const S small[] = {{37, 1, 100, N, 0.0f}, {45, 5, 130, T, 2.0f}, {19, 3, 40, T, -0.5f},
                     {53, 4, 300, N, 1.0f}};
  const std::size_t count = sgtest::small_run() ? 4 : sizeof(full) / sizeof(full[0]);
  const S* const shapes = sgtest::small_run() ? small : full;
  for (const S* s = shapes; s != shapes + count; ++s)
    for (MatLayout l : kLayouts) {
      Problem p = sized(l, Trans::none, s->tb, s->m, s->n, s->k, 2.0f, s->beta);
      p.pad_a = 1;
      p.pad_c = 3;
      p.ep = GemmEpilogue(kWithBias, Activation::tanh);
      const Data d = make_data(p);
      if (!check_result(p, d, run_gemm(p, d))) return;
    }
}

// A stored transposed (the weight gradient X^T dY) with C's last columns less than a vector
// (10 outputs, n = 100): column tiles, the rows in the vector lanes, for the tail (on AVX-512
// and AVX2; the other ISAs keep one-vector tiles). Tails of 1 to 13 columns after 0 to 6
// vectors; rows a multiple of a vector and not (a partial vector of rows, the tiles of 4, 2 and
// 1 vectors after the tallest); one to three k blocks, with the beta and epilogue of each; A of
// 1 MB or more (its tiles prefetch it). Both layouts against the reference; row-major also
// the same bits as the same columns of a product wide enough for whole vectors of columns (the
// same chain per element).
TEST_P(Gemm, ColumnTilesTransposedA) {
  struct S { std::size_t m, n, k; float beta; };
  const S full[] = {{100, 100, 100, 2.0f}, {257, 10, 300, 0.0f},  {130, 4, 64, 1.0f},
                    {64, 1, 520, -0.5f},  {48, 12, 40, 0.0f},    {33, 29, 70, 2.0f},
                    {200, 18, 100, 1.0f}, {600, 20, 500, -0.5f}, {17, 3, 33, 0.0f},
                    {160, 13, 90, 1.0f},  {383, 7, 260, 2.0f}};
  const S small[] = {{257, 10, 300, 0.0f}, {33, 29, 70, 2.0f}, {130, 4, 64, 1.0f}};
  const std::size_t count = sgtest::small_run() ? 3 : sizeof(full) / sizeof(full[0]);
  const S* const shapes = sgtest::small_run() ? small : full;
  simdgrad::set_num_threads(1);
  for (const S* s = shapes; s != shapes + count; ++s)
    for (MatLayout l : kLayouts) {
      Problem p = sized(l, Trans::transpose, Trans::none, s->m, s->n, s->k, -0.5f, s->beta);
      p.pad_a = 3;
      p.pad_b = 1;
      p.pad_c = 2;
      p.ep = GemmEpilogue(kWithBias, Activation::elu);
      const Data d = make_data(p);
      const auto c = run_gemm(p, d);
      if (!check_result(p, d, c)) break;
      // The same columns of a product whose B is widened with zeros to a multiple of 16
      // columns (no column tiles there, whole vectors of columns): the same bits.
      if (l != MatLayout::row_major) continue;
      Problem q = p;
      q.n = (p.n + 15) / 16 * 16;
      q.pad_b = 0;
      q.pad_c = 0;
      q.nan_c = false;
      Data e = d;
      e.b.assign(q.k * q.n, 0.0f);
      e.c0.assign(q.m * q.n, 0.0f);
      e.bias.assign(q.n, 0.0f);
      for (std::size_t j = 0; j < p.n; ++j) {
        for (std::size_t t = 0; t < p.k; ++t) e.b[t * q.n + j] = d.b[t * p.ldb() + j];
        for (std::size_t i = 0; i < p.m; ++i) e.c0[i * q.n + j] = d.c0[i * p.ldc() + j];
        e.bias[j] = d.bias[j];
      }
      const auto cq = run_gemm(q, e);
      for (std::size_t i = 0; i < p.m; ++i)
        for (std::size_t j = 0; j < p.n; ++j)
          ASSERT_TRUE(sgtest::same_bits(c[i * p.ldc() + j], cq[i * q.n + j]))
              << p.str() << " against the widened product at " << i << "," << j;
    }
  simdgrad::set_num_threads(0);
}

// The narrow-block tiles' last rows: a block of fewer rows than their tile height runs at
// the same width (the wide tile of fewer rows is wider than the block, and B read in place
// ends there: ASan sees a read past it). Widths of 2-6 vectors of the main tile, every row
// count up to two main tiles, B in place (exact ldb) and packed (transposed).
TEST_P(Gemm, NarrowBlockLastRows) {
  const std::size_t mr = static_cast<std::size_t>(bk().mr), nr = static_cast<std::size_t>(bk().nr);
  for (std::size_t n : {2 * nr, 3 * nr, 4 * nr, 6 * nr})
    for (std::size_t m = 1; m <= 2 * mr + 1; ++m)
      for (Trans tb : kTrans) {
        if (sgtest::small_run() && tb == Trans::transpose && m % 3 != 0) continue;
        Problem p;
        p.tb = tb;
        p.m = m;
        p.n = n;
        p.k = 24;
        p.beta = 0.5f;
        const Data d = make_data(p);
        if (!check_result(p, d, run_gemm(p, d))) return;
      }
}

// Few row tiles over B read in place with rows at one stride (A in place, by rows or
// transposed, or packed [i][p] where its row stride is a 4 KB multiple): the rows shared among
// tiles that may be taller than the main tile (AVX-512 14 x 32), over two k blocks, a partial
// last panel and one of at most a vector.
TEST_P(Gemm, FewTallTiles) {
  const std::size_t mr = static_cast<std::size_t>(bk().mr), nr = static_cast<std::size_t>(bk().nr);
  for (std::size_t m = mr + 1; m <= 4 * mr; m += sgtest::small_run() ? 5 : 1)
    for (Trans ta : kTrans)
      for (std::size_t n : {5 * nr + 5, 9 * nr + nr / 2 + 1}) {
        Problem p;
        p.ta = ta;
        p.m = m;
        p.n = n;
        p.k = n < 6 * nr ? 300 : 1024;  // the second: A's rows 4 KB apart, packed
        p.beta = -0.5f;
        const Data d = make_data(p);
        if (!check_result(p, d, run_gemm(p, d))) return;
      }
}

// A stored transposed and packed (its rows 4 KB apart: lda = 1024) copies each k step's run of
// a row tile as one whole vector where the block has a vector of rows from the tile on, its
// extra lanes overwritten by the next step: a whole k block (k = 256, the panel filling its
// slot up to the next tile's), k blocks of 200 (k = 600) and of 129, and row counts that end
// in a short or shared last tile.
TEST_P(Gemm, PackedTransposedA) {
  const std::size_t mr = static_cast<std::size_t>(bk().mr);
  for (std::size_t k : {std::size_t{256}, std::size_t{600}, std::size_t{258}})
    for (std::size_t m : {8 * mr + 1, 13 * mr + mr / 2, std::size_t{300}}) {
      Problem p = sized(MatLayout::row_major, Trans::transpose, Trans::none, m, 300, k, 1.0f,
                        0.0f);
      p.pad_a = 1024 - m;
      const Data d = make_data(p);
      if (!check_result(p, d, run_gemm(p, d))) return;
    }
}

// A C of 2^24 floats or more with k <= 8, beta = 0 and no epilogue goes out with
// non-temporal stores on AVX-512 (aligned whole vectors; the rest stored normally): rows of C
// unaligned (ldc padded by 3), partial last vectors, NaN in C that must not leak.
TEST_P(Gemm, LargeCStreamed) {
  if (sgtest::small_run()) GTEST_SKIP() << "64 MB outputs";
  for (Trans ta : kTrans) {
    Problem p;
    p.ta = ta;
    p.m = 4099;
    p.n = 4100;
    p.k = 7;  // streamed only for k <= 8
    p.pad_c = 3;
    p.alpha = 0.75f;
    p.nan_c = true;
    const Data d = make_data(p);
    if (!check_result(p, d, run_gemm(p, d))) return;
  }
}

// alpha and beta over {0, 1, -0.5, 2}; beta = 0 with NaN in C never reads C.
TEST_P(Gemm, AlphaBeta) {
  const auto& b = bk();
  const float vals[] = {0.0f, 1.0f, -0.5f, 2.0f};
  for (MatLayout l : kLayouts)
    for (float alpha : vals)
      for (float beta : vals)
        for (bool nan_c : {false, true}) {
          if (nan_c && beta != 0.0f) continue;
          Problem p;
          p.layout = l;
          p.tb = Trans::transpose;
          p.m = b.mr + 1;
          p.n = 2 * b.nr - 1;
          p.k = b.kc + 3;
          p.pad_c = 2;
          p.alpha = alpha;
          p.beta = beta;
          p.nan_c = nan_c;
          const Data d = make_data(p);
          const auto c = run_gemm(p, d);
          if (!check_result(p, d, c)) return;
          if (nan_c)
            for (std::size_t i = 0; i < p.m * p.n; ++i)
              if (std::isnan(c[sgref::stored_index(l, i / p.n, i % p.n, p.ldc())])) {
                ADD_FAILURE() << p.str() << ": NaN from C leaked";
                return;
              }
        }
}

// k = 0 scales C by beta (and runs the epilogue); alpha = 0 does not read A or B.
TEST_P(Gemm, EmptyProduct) {
  for (float beta : {0.0f, 1.0f, -0.5f, 2.0f})
    for (bool with_ep : {false, true}) {
      Problem p;
      p.m = 7;
      p.n = 19;
      p.k = 0;
      p.beta = beta;
      p.nan_c = beta == 0.0f;
      if (with_ep) p.ep = GemmEpilogue(kWithBias, Activation::relu);
      const Data d = make_data(p);
      if (!check_result(p, d, run_gemm(p, d))) return;
    }
  Problem p;
  p.m = 9;
  p.n = 21;
  p.k = 13;
  p.alpha = 0.0f;
  p.beta = -0.5f;
  Data d = make_data(p);
  std::fill(d.a.begin(), d.a.end(), kNaN);
  std::fill(d.b.begin(), d.b.end(), kNaN);
  const auto c = run_gemm(p, d);
  for (std::size_t i = 0; i < p.m; ++i)
    for (std::size_t j = 0; j < p.n; ++j)
      ASSERT_EQ(c[i * p.ldc() + j], -0.5f * d.c0[i * p.ldc() + j]);
  // m = 0 or n = 0: nothing happens, even with null pointers.
  simdgrad::gemm(MatLayout::row_major, Trans::none, Trans::none, 0, 5, 3, 1.0f, nullptr, 3,
                 d.b.data(), 5, 0.0f, nullptr, 5);
  simdgrad::gemm(MatLayout::row_major, Trans::none, Trans::none, 4, 0, 3, 1.0f, d.a.data(), 3,
                 nullptr, 1, 0.0f, nullptr, 1);
}

// NaN and infinity in A or B propagate as in the reference.
TEST_P(Gemm, SpecialValues) {
  Problem p;
  p.m = bk().mr + 1;
  p.n = bk().nr + 1;
  p.k = 9;
  Data d = make_data(p);
  d.a[0] = kNaN;                                     // row 0 of C: NaN
  d.b[2] = std::numeric_limits<float>::infinity();   // B(0,2) = inf: column 2 of C is +-inf
  const auto c = run_gemm(p, d);
  if (!check_result(p, d, c)) return;
  for (std::size_t j = 0; j < p.n; ++j) EXPECT_TRUE(std::isnan(c[j]));
}

// Every epilogue (bias, activation, both) in both layouts; k past a block so the epilogue runs
// only once the sums are complete.
TEST_P(Gemm, Epilogues) {
  const auto& b = bk();
  std::vector<GemmEpilogue> eps;
  eps.push_back(GemmEpilogue(kWithBias));
  for (int a = 0; a < simdgrad::kActivationCount; ++a) {
    const Activation kind = static_cast<Activation>(a);
    ActivationSpec spec(kind);
    GemmEpilogue e(nullptr, spec);
    // Activations whose kernels do not exist yet are rejected with an error (checked here).
    Problem probe;
    probe.m = probe.n = probe.k = 1;
    const Data pd = make_data(probe);
    std::vector<float> c = pd.c0;
    bool have = true;
    try {
      simdgrad::gemm(MatLayout::row_major, Trans::none, Trans::none, 1, 1, 1, 1.0f, pd.a.data(),
                     1, pd.b.data(), 1, 0.0f, c.data(), 1, e);
    } catch (const simdgrad::error& err) {
      have = false;
      EXPECT_NE(std::string(err.what()).find("epilogue.act.kind"), std::string::npos);
      EXPECT_EQ(c[0], pd.c0[0]);
    }
    if (!have) continue;
    eps.push_back(e);
    eps.push_back(GemmEpilogue(kWithBias, spec));
  }
  eps.push_back(GemmEpilogue(kWithBias, ActivationSpec(Activation::leaky_relu, 0.25f)));
  for (MatLayout l : kLayouts)
    for (const GemmEpilogue& e : eps) {
      // On slow targets the column-major layout (bias per row of the normalized problem) runs
      // with the bias and bias+relu only; every activation still runs row-major.
      if (sgtest::small_run() && l == MatLayout::col_major && e.activate &&
          e.act.kind != Activation::relu)
        continue;
      Problem p;
      p.layout = l;
      p.ta = l == MatLayout::row_major ? Trans::none : Trans::transpose;
      p.m = 2 * b.mr + 1;
      p.n = 2 * b.nr + 3;
      p.k = b.kc + 5;
      p.pad_c = 3;
      p.beta = 0.5f;
      p.alpha = 2.0f;  // pre-activation values spread over [-~10, ~10]
      p.ep = e;
      const Data d = make_data(p);
      if (!check_result(p, d, run_gemm(p, d))) return;
    }
}

// At most 4 rows against a transposed B (the GEMV-like path): alpha, beta, NaN in C, the
// epilogue, long k, both layouts (column-major reaches it with A transposed).
TEST_P(Gemm, FewRowsTransposedB) {
  const float vals[] = {1.0f, -0.5f, 2.0f, 0.0f};
  int it = 0;
  for (std::size_t m : {1, 2, 3, 4})
    for (std::size_t n : {1, 7, 9, 33})
      for (std::size_t k : {16, 100, 1000}) {
        Problem p;
        p.layout = it % 2 ? MatLayout::col_major : MatLayout::row_major;
        if (p.layout == MatLayout::row_major) {
          p.tb = Trans::transpose;
          p.m = m;
          p.n = n;
        } else {  // column-major C^T = ... : few columns of C, A transposed
          p.ta = Trans::transpose;
          p.m = n;
          p.n = m;
        }
        p.k = k;
        p.pad_a = 1;
        p.pad_b = 3;
        p.pad_c = 2;
        p.alpha = vals[it % 4];
        p.beta = vals[(it / 4) % 4];
        p.nan_c = p.beta == 0.0f;
        if (it % 3 == 0) p.ep = GemmEpilogue(kWithBias, Activation::relu);
        ++it;
        const Data d = make_data(p);
        if (!check_result(p, d, run_gemm(p, d))) return;
      }
}

// One or two rows of C against B with contiguous rows (the GEMV-like x W, streamed row by
// row; two rows share a pass from 384 columns to one chunk): k over several blocks and not a
// multiple of 4, more columns than one chunk (two rows: 4096 or 8192 with the L1 size; one
// row: up to 32768 with the L2 size, its rows from 8192 columns on prefetched in the row),
// alpha, beta, the epilogue; column-major reaches it with one or two columns of C.
TEST_P(Gemm, OneRow) {
  const float vals[] = {1.0f, -0.5f, 2.0f, 0.0f};
  int it = 0;
  for (MatLayout l : kLayouts)
    for (std::size_t rows : {std::size_t{1}, std::size_t{2}})
      for (std::size_t len :
           {std::size_t{1}, std::size_t{17}, std::size_t{1000}, sgtest::big(8192 + 37),
            sgtest::big(32768 + 37)})
        for (std::size_t k : {std::size_t{5}, std::size_t{2 * simdgrad::kernels::kGemmKC + 7}}) {
          Problem p;
          p.layout = l;
          p.m = l == MatLayout::row_major ? rows : len;
          p.n = l == MatLayout::row_major ? len : rows;
          p.k = k;
          p.pad_a = 2;
          p.pad_b = 1;
          p.pad_c = 3;
          p.alpha = vals[it % 4];
          p.beta = vals[(it / 2) % 4];
          p.nan_c = p.beta == 0.0f;
          if (it % 3 != 1) p.ep = GemmEpilogue(kWithBias, Activation::relu);
          ++it;
          const Data d = make_data(p);
          if (!check_result(p, d, run_gemm(p, d))) return;
        }
}

// The weight gradient X^T dY with a narrow C (A read in place transposed) beyond 4 row tiles,
// where B is packed on ISAs whose tile row is at most a cache line; several k blocks, both
// layouts (column-major C turns it into the transposed problem).
TEST_P(Gemm, WeightGradientNarrowC) {
  const std::size_t mr = static_cast<std::size_t>(bk().mr);
  for (MatLayout l : kLayouts)
    for (std::size_t m : {4 * mr + 1, std::size_t{64}, std::size_t{200}})
      for (std::size_t n : {std::size_t{48}, std::size_t{64}}) {
        if (sgtest::small_run() && m != 64) continue;
        Problem p;
        p.layout = l;
        p.ta = Trans::transpose;
        p.m = m;
        p.n = n;
        p.k = 2 * simdgrad::kernels::kGemmKC + 9;
        p.beta = 1.0f;
        const Data d = make_data(p);
        if (!check_result(p, d, run_gemm(p, d))) return;
      }
}

// A block of few row tiles whose whole B is small and packed (B transposed, or row-major at a
// stride that maps its rows onto few L1 sets) runs the block loop on AVX2: same results. On
// AVX-512 that B is read in place by 13 rows and packed for 100 and 128.
TEST_P(Gemm, FewRowTilesSmallPackedB) {
  const std::size_t mr = static_cast<std::size_t>(bk().mr);
  for (Trans tb : kTrans)
    for (std::size_t m : {mr + 1, std::size_t{100}, std::size_t{128}}) {
      Problem p;
      p.tb = tb;
      p.m = m;
      p.n = 128;
      p.k = 128;
      p.alpha = 2.0f;
      p.ep = GemmEpilogue(kWithBias, Activation::relu);
      const Data d = make_data(p);
      if (!check_result(p, d, run_gemm(p, d))) return;
    }
}

// A small row-major B whose rows fall on few L1 sets (a 512-byte-multiple stride), packed, on
// one thread so that one block takes all of C: on AVX-512 its first row tile packs each panel
// as it computes (the few-rows loop at 100-128 rows, the block loop at 300), the other ISAs run
// a packing pass; A row-major and transposed, beta 0 over NaN and beta 2, with the epilogue.
TEST_P(Gemm, SmallAliasedBPackedByFirstTile) {
  struct S { std::size_t m, n, k; Trans ta; float beta; };
  const S shapes[] = {{128, 128, 128, Trans::none, 0.0f}, {100, 256, 100, Trans::none, 2.0f},
                      {300, 256, 200, Trans::none, 0.0f}, {200, 128, 256, Trans::transpose, 2.0f}};
  simdgrad::set_num_threads(1);
  for (const S& s : shapes) {
    Problem p = sized(MatLayout::row_major, s.ta, Trans::none, s.m, s.n, s.k, 2.0f, s.beta);
    p.ep = GemmEpilogue(kWithBias, Activation::relu);
    const Data d = make_data(p);
    if (!check_result(p, d, run_gemm(p, d))) break;
  }
  simdgrad::set_num_threads(0);
}

// The one-row path (x W) places its partial sums relative to B's address: B at every float
// offset from a 64-byte boundary gives the same bits, and the reference's values.
TEST_P(Gemm, OneRowBAtEveryOffset) {
  for (std::size_t n : {std::size_t{300}, std::size_t{1024}}) {
    Problem p;
    p.m = 1;
    p.n = n;
    p.k = simdgrad::kernels::kGemmKC + 40;
    const Data d = make_data(p);
    std::vector<float> buf(d.b.size() + 32);
    std::vector<float> first;
    for (std::size_t off = 0; off < 16; ++off) {
      const auto base = reinterpret_cast<std::uintptr_t>(buf.data());
      float* b = buf.data() + ((64 - base % 64) % 64) / sizeof(float) + off;
      std::copy(d.b.begin(), d.b.end(), b);
      std::vector<float> c = d.c0;
      simdgrad::gemm(p.layout, p.ta, p.tb, p.m, p.n, p.k, p.alpha, d.a.data(), p.lda(), b,
                     p.ldb(), p.beta, c.data(), p.ldc());
      if (off == 0) {
        if (!check_result(p, d, c)) return;
        first = c;
        continue;
      }
      for (std::size_t i = 0; i < c.size(); ++i)
        ASSERT_TRUE(sgtest::same_bits(c[i], first[i]))
            << p.str() << " B at offset " << off << ": element " << i;
    }
  }
}

/// A copy of v followed by `slack` accessible floats and then an inaccessible page: reading
/// more than slack floats past its end faults.
class GuardedCopy {
 public:
  GuardedCopy(const std::vector<float>& v, std::size_t slack) {
    page_ = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t bytes = (v.size() + slack) * sizeof(float);
    data_pages_ = (bytes + page_ - 1) / page_;
    void* m = mmap(nullptr, (data_pages_ + 1) * page_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return;
    base_ = static_cast<char*>(m);
    if (mprotect(base_ + data_pages_ * page_, page_, PROT_NONE) != 0) return;
    p_ = reinterpret_cast<float*>(base_ + data_pages_ * page_ - bytes);
    std::copy(v.begin(), v.end(), p_);
    std::fill(p_ + v.size(), p_ + v.size() + slack, kNaN);
  }
  ~GuardedCopy() {
    if (base_) munmap(base_, (data_pages_ + 1) * page_);
  }
  GuardedCopy(const GuardedCopy&) = delete;
  GuardedCopy& operator=(const GuardedCopy&) = delete;
  const float* data() const { return p_; }

 private:
  std::size_t page_ = 0, data_pages_ = 0;
  char* base_ = nullptr;
  float* p_ = nullptr;
};

/// Floats per vector of an ISA.
std::size_t vector_floats(simdgrad::Isa isa) {
  return isa == simdgrad::Isa::avx512 ? 16 : isa == simdgrad::Isa::avx2 ? 8
         : isa == simdgrad::Isa::scalar ? 1 : 4;
}

/// Accessible floats a GuardedCopy leaves past an operand: none with AVX-512 (the hardware's
/// masked loads touch no masked-off lane, and no emulator runs it in the tests), else a vector
/// less one float, since QEMU's emulation of AVX2's masked loads reads all of the vector (the
/// hardware does not). A tile that loads a whole vector past the operand faults either way.
std::size_t guard_slack(simdgrad::Isa isa) {
  return isa == simdgrad::Isa::avx512 ? 0 : vector_floats(isa) - 1;
}

/// Runs p with B in a GuardedCopy (no epilogue) and checks it against the reference. The guard
/// page begins a vector less one float past B's end: a masked load of B's last partial vector
/// may touch the rest of that vector (QEMU's emulation of AVX2's masked loads reads all of it;
/// the hardware does not), while a tile that loads a whole vector past B faults.
bool check_guarded_b(const Problem& p, simdgrad::Isa isa) {
  const Data d = make_data(p);
  const GuardedCopy b(d.b, guard_slack(isa));
  if (!b.data()) {
    ADD_FAILURE() << "mmap of a guarded copy of B failed";
    return false;
  }
  std::vector<float> c = d.c0;
  simdgrad::gemm(p.layout, p.ta, p.tb, p.m, p.n, p.k, p.alpha, d.a.data(), p.lda(), b.data(),
                 p.ldb(), p.beta, c.data(), p.ldc());
  return check_result(p, d, c);
}

// B read in place whose last column panel is exactly one vector (n = a vector, or a whole panel
// and a vector; 4, 8 or 16 floats by the ISA): one-vector tiles read it in place and must not
// load a vector past it. B's last row ends less than a vector before a guard page
// (check_guarded_b), so a tile that loaded a whole panel there would fault. Few rows (one tile, few tall tiles) and many, A by rows and
// transposed, one and two k blocks.
TEST_P(Gemm, OneVectorLastPanelInPlace) {
  const std::size_t mr = static_cast<std::size_t>(bk().mr), nr = static_cast<std::size_t>(bk().nr);
  for (std::size_t w : {std::size_t{4}, std::size_t{8}, std::size_t{16}}) {
    if (w >= nr) continue;
    for (std::size_t n : {w, nr + w})
      for (std::size_t m : {mr - 1, 2 * mr + 3, 5 * mr + 1, std::size_t{200}})
        for (Trans ta : kTrans)
          for (std::size_t k : {std::size_t{33}, simdgrad::kernels::kGemmKC + std::size_t{44}}) {
            if (sgtest::small_run() && k > 100 && m != 2 * mr + 3) continue;
            if (!check_guarded_b(sized(MatLayout::row_major, ta, Trans::none, m, n, k, 1.0f, 0.0f),
                                 GetParam()))
              return;
          }
  }
}

// B stored transposed, packed through in-register transposes, with a partial last panel: the
// transposes read only the panel's columns (rows of the stored B, the last of which ends less
// than a vector before a guard page) and zero the rest. k with whole transposes and a tail; few and many rows.
TEST_P(Gemm, TransposedBPartialPanel) {
  const std::size_t mr = static_cast<std::size_t>(bk().mr), nr = static_cast<std::size_t>(bk().nr);
  for (std::size_t n : {std::size_t{1}, std::size_t{5}, std::size_t{10}, nr - 3, nr + 7})
    for (std::size_t m : {2 * mr + 3, std::size_t{200}})
      for (std::size_t k : {std::size_t{67}, std::size_t{300}}) {
        if (sgtest::small_run() && k == 67 && m == 200) continue;
        if (!check_guarded_b(
                sized(MatLayout::row_major, Trans::none, Trans::transpose, m, n, k, 1.0f, 0.0f),
                GetParam()))
          return;
      }
}

/// Runs p with A and B each in a GuardedCopy, and C padded (its gaps hold the sentinel), and checks
/// it against the reference: a tile that reads a vector past A's or B's end faults, and one that
/// writes past a row of C changes the sentinel.
bool check_guarded_ab(Problem p, simdgrad::Isa isa) {
  p.pad_c = 3;
  const Data d = make_data(p);
  const GuardedCopy a(d.a, guard_slack(isa)), b(d.b, guard_slack(isa));
  if (!a.data() || !b.data()) {
    ADD_FAILURE() << "mmap of a guarded copy failed";
    return false;
  }
  std::vector<float> c = d.c0;
  simdgrad::gemm(p.layout, p.ta, p.tb, p.m, p.n, p.k, p.alpha, a.data(), p.lda(), b.data(),
                 p.ldb(), p.beta, c.data(), p.ldc(), epilogue_for(p, d));
  return check_result(p, d, c);
}

// Small products (up to 2^16-2^17 multiply-adds, k up to kc: the small path where the ISA has
// one, else the block driver): rows around the even split of the row tiles, columns around the
// vector and the panel widths (the last vector of B loaded and of C stored under a mask), k from 1
// to kc, every layout and transpose, the three store modes and epilogues, A and B ending before
// a guard page.
TEST_P(Gemm, SmallProducts) {
  const std::vector<std::size_t> ms = {1, 2, 3, 5, 8, 13, 16, 25, 40};
  const std::vector<std::size_t> ns = {1, 3, 8, 15, 16, 17, 31, 33, 50, 64, 70};
  // k mod 16 (mod 8): 1, 7, 13 (5), 4 and 0 steps past whole 16 x 16 (8 x 8) transposes of a
  // transposed B: its packing's element-by-element tail and its partial tiles on every ISA.
  // k = 300: two k blocks, which the small path takes where C is narrower than a main tile or
  // not a whole number of them.
  const std::vector<std::size_t> ks = {1, 7, 45, 100, simdgrad::kernels::kGemmKC, 300};
  const float alphas[3] = {1.0f, -0.5f, 2.0f}, betas[3] = {0.0f, 1.0f, 0.3f};
  std::size_t x = 0;
  for (MatLayout l : kLayouts)
    for (Trans ta : kTrans)
      for (Trans tb : kTrans)
        for (std::size_t m : ms)
          for (std::size_t n : ns)
            for (std::size_t k : ks) {
              if (m * n * k > (std::size_t{1} << 17)) continue;
              ++x;
              if (sgtest::small_run() && x % 7 != 0) continue;
              Problem p = sized(l, ta, tb, m, n, k, alphas[x % 3], betas[(x / 3) % 3]);
              if (x % 5 == 0) p.ep = GemmEpilogue(kWithBias, Activation::relu);
              else if (x % 5 == 1) p.ep = GemmEpilogue(nullptr, Activation::gelu_tanh);
              p.seed = static_cast<unsigned>(x);
              if (!check_guarded_ab(p, GetParam())) return;
            }
}

SGTEST_INSTANTIATE_PER_ISA(Gemm);

// A shape of the thread tests: sizes, transposes, layout.
struct ThreadShape {
  std::size_t m, n, k;
  Trans ta, tb;
  MatLayout l;
};

Problem problem_of(const ThreadShape& s) {
  Problem p;
  p.layout = s.l;
  p.ta = s.ta;
  p.tb = s.tb;
  p.m = s.m;
  p.n = s.n;
  p.k = s.k;
  return p;
}

// Runs p on one thread and on two: the same bits, and with check_ref the reference's bound.
void expect_thread_bits(const Problem& p, simdgrad::Isa isa, bool check_ref) {
  const Data d = make_data(p);
  simdgrad::set_num_threads(1);
  const auto c1 = run_gemm(p, d);
  simdgrad::set_num_threads(2);
  const auto c2 = run_gemm(p, d);
  simdgrad::set_num_threads(0);
  if (check_ref && !check_result(p, d, c2)) return;
  for (std::size_t i = 0; i < c1.size(); ++i)
    ASSERT_TRUE(sgtest::same_bits(c1[i], c2[i]))
        << simdgrad::isa_name(isa) << " " << p.str() << " element " << i;
}

// Products that take the small path where gemm runs them on one thread (up to 4 times one
// thread's share of multiply-adds: 2^19 with AVX-512, 2^18 with AVX2) and the block driver on
// two: the same bits, and the reference.
TEST(GemmThreads, SmallPathOnOneThread) {
  using S = ThreadShape;
  const S shapes[] = {{64, 128, 64, Trans::none, Trans::none, MatLayout::row_major},
                      {96, 96, 32, Trans::transpose, Trans::none, MatLayout::col_major},
                      {100, 100, 50, Trans::none, Trans::none, MatLayout::row_major},
                      {100, 50, 50, Trans::transpose, Trans::none, MatLayout::row_major},
                      {64, 64, 48, Trans::none, Trans::none, MatLayout::col_major},
                      // B stored transposed (packed by the small path first).
                      {64, 96, 40, Trans::none, Trans::transpose, MatLayout::row_major},
                      {60, 40, 50, Trans::transpose, Trans::transpose, MatLayout::row_major},
                      // More than one k block (the small path k block by k block).
                      {16, 48, 512, Trans::none, Trans::none, MatLayout::row_major},
                      {8, 48, 1000, Trans::transpose, Trans::none, MatLayout::row_major},
                      {24, 8, 1000, Trans::none, Trans::none, MatLayout::col_major}};
  for (simdgrad::Isa isa : sgtest::test_isas()) {
    sgtest::IsaScope scope(isa);
    for (const S& s : shapes) {
      Problem p = problem_of(s);
      p.beta = 2.0f;
      p.ep = GemmEpilogue(kWithBias, Activation::relu);
      expect_thread_bits(p, isa, true);
      if (HasFatalFailure()) return;
    }
  }
}

// One and two threads give identical bits (the grid splits rows for tall C, columns for wide C).
TEST(GemmThreads, IdenticalBits) {
  using S = ThreadShape;
  // Each at least 2 * 2^18 multiply-adds, the size at which gemm takes a second thread.
  const S shapes[] = {{36, 1100, 800, Trans::none, Trans::none, MatLayout::row_major},
                      {36, 1100, 800, Trans::none, Trans::transpose, MatLayout::row_major},
                      {sgtest::big(300), 40, 400, Trans::none, Trans::none, MatLayout::row_major},
                      {40, sgtest::big(320), 400, Trans::none, Trans::transpose, MatLayout::row_major},
                      {sgtest::big(150), sgtest::big(170), 190, Trans::transpose, Trans::none,
                       MatLayout::col_major},
                      {5, sgtest::big(1200), 800, Trans::none, Trans::none, MatLayout::row_major},
                      {1, sgtest::big(3000), 1500, Trans::none, Trans::transpose,
                       MatLayout::row_major},
                      {1, sgtest::big(3000), 1500, Trans::none, Trans::none,
                       MatLayout::row_major},
                      // Two rows: 600 columns share the passes over B on one thread, and are
                      // 300-column tiles on each of two.
                      {2, 600, 700, Trans::none, Trans::none, MatLayout::row_major},
                      // 350 rows: A read in place on one thread, packed by each of two where
                      // they split the rows (175 each: the few-rows loop).
                      {350, 300, 520, Trans::none, Trans::none, MatLayout::row_major},
                      // 256 rows in slabs of C's columns (the block loop): other slabs on
                      // each of two threads where they split the columns.
                      {256, sgtest::big(1100), 600, Trans::none, Trans::transpose,
                       MatLayout::row_major},
                      {64, 64, 600, Trans::transpose, Trans::none, MatLayout::row_major},
                      // A transposed and 20 columns: column tiles for the last 4 (AVX-512) over
                      // each thread's rows.
                      {sgtest::big(600), 20, 500, Trans::transpose, Trans::none,
                       MatLayout::row_major},
                      // Few columns: dot products over each thread's rows (AVX2: a split at a
                      // multiple of 6 rows, inside a dot tile of the one-thread run).
                      {sgtest::big(2000), 1, 700, Trans::none, Trans::none, MatLayout::row_major},
                      {sgtest::big(700), 3, 600, Trans::none, Trans::transpose,
                       MatLayout::row_major}};
  for (simdgrad::Isa isa : sgtest::test_isas()) {
    sgtest::IsaScope scope(isa);
    for (const S& s : shapes) {
      Problem p = problem_of(s);
      p.beta = -0.5f;
      p.ep = GemmEpilogue(kWithBias, Activation::relu);
      expect_thread_bits(p, isa, false);
      if (HasFatalFailure()) return;
    }
  }
}

// A small C against a long k on two threads: split along k (each thread a run of k blocks into
// their sums, folded into C in block order), in one round and in several (16 blocks a thread
// per round). One row against B read in place (from two blocks), and C of up to 16K floats
// (from eight blocks): row- and column-major, transposed A or B, k not a multiple of 256 and an
// odd count of blocks; beta = 0 with NaN in C, beta = -0.5 and 2, alpha = 2 and -0.5, the
// epilogue. Against the reference, and the same bits as one thread.
TEST(GemmThreads, SplitAlongK) {
  struct S { ThreadShape shape; float alpha, beta; bool ep; };
  const Trans N = Trans::none, T = Trans::transpose;
  const MatLayout R = MatLayout::row_major, C = MatLayout::col_major;
  const S shapes[] = {{{1, 1000, 2000, N, N, R}, 1.0f, 0.0f, false},
                      {{1, 300, sgtest::big(40 * 256 - 3), N, N, R}, 2.0f, -0.5f, true},
                      {{700, 1, 3000, N, N, C}, 1.0f, 1.0f, true},
                      {{1, 77, 8000, N, N, R}, -0.5f, 2.0f, false},
                      {{30, 50, 2100, T, N, R}, 1.0f, 2.0f, true},
                      {{3, 700, 2500, N, N, R}, 2.0f, 0.0f, false},
                      {{40, 20, 2053, N, T, C}, -0.5f, -0.5f, true},
                      {{8, 16, 8500, N, N, R}, 1.0f, 0.0f, true}};
  for (simdgrad::Isa isa : sgtest::test_isas()) {
    sgtest::IsaScope scope(isa);
    for (const S& s : shapes) {
      Problem p = problem_of(s.shape);
      p.pad_b = 3;
      p.alpha = s.alpha;
      p.beta = s.beta;
      p.nan_c = s.beta == 0.0f;
      if (s.ep) p.ep = GemmEpilogue(kWithBias, Activation::relu);
      expect_thread_bits(p, isa, true);
      if (HasFatalFailure() || HasNonfatalFailure()) return;
    }
  }
}

// ISAs that evaluate the same formula (all fused, or all unfused) give the same bits: each
// element is the same chain of multiply-adds on every path.
TEST(GemmIsas, SameFormulaSameBits) {
  const auto isas = sgtest::test_isas();
  // B transposed (packed), few rows over B in place (taller tiles on AVX-512), and a small
  // product (the small path with a masked last vector).
  for (int shape = 0; shape < 3; ++shape) {
    Problem p;
    p.tb = shape == 0 ? Trans::transpose : Trans::none;
    p.m = shape == 0 ? 29 : shape == 1 ? 13 : 11;
    p.n = shape == 0 ? 71 : shape == 1 ? 165 : 37;
    p.k = shape == 0 ? 800 : shape == 1 ? 300 : 90;
    p.beta = 2.0f;
    p.ep = GemmEpilogue(kWithBias, Activation::relu);
    const Data d = make_data(p);
    std::vector<std::vector<float>> out;
    for (simdgrad::Isa isa : isas) {
      sgtest::IsaScope scope(isa);
      out.push_back(run_gemm(p, d));
    }
    for (std::size_t x = 0; x < isas.size(); ++x)
      for (std::size_t y = x + 1; y < isas.size(); ++y) {
        if (!sgtest::same_formula(isas[x], isas[y])) continue;
        for (std::size_t i = 0; i < out[x].size(); ++i)
          ASSERT_TRUE(sgtest::same_bits(out[x][i], out[y][i]))
              << simdgrad::isa_name(isas[x]) << " vs " << simdgrad::isa_name(isas[y]) << " "
              << p.str() << " at " << i;
      }
  }
}

#if defined(SIMDGRAD_TEST_ONEDNN)
// dnnl_sgemm, every layout and transpose: each ISA's result within twice the reference bound of
// oneDNN's (oneDNN computed once per case: under qemu its JIT code is slow).
TEST(GemmOneDnn, SgemmAgrees) {
  for (MatLayout l : kLayouts)
    for (Trans ta : kTrans)
      for (Trans tb : kTrans) {
        Problem p = shaped(l, ta, tb, 37, 45, sgtest::small_run() ? 100 : 413);
        p.pad_a = 3;
        p.pad_b = 2;
        p.pad_c = 1;
        p.alpha = -0.5f;
        p.beta = 2.0f;
        const Data d = make_data(p);
        std::vector<float> cd = d.c0;
        sgdnnl::sgemm(l, ta, tb, p.m, p.n, p.k, p.alpha, d.a.data(), p.lda(), d.b.data(),
                      p.ldb(), p.beta, cd.data(), p.ldc());
        const auto ref = sgref::gemm_reference(l, ta, tb, p.m, p.n, p.k, p.alpha, d.a.data(),
                                               p.lda(), d.b.data(), p.ldb(), p.beta,
                                               d.c0.data(), p.ldc(), {});
        for (simdgrad::Isa isa : sgtest::test_isas()) {
          sgtest::IsaScope scope(isa);
          const auto c = run_gemm(p, d);
          for (std::size_t i = 0; i < p.m; ++i)
            for (std::size_t j = 0; j < p.n; ++j) {
              const std::size_t at = sgref::stored_index(l, i, j, p.ldc());
              ASSERT_LE(std::fabs(c[at] - cd[at]), 2 * ref.bound[i * p.n + j])
                  << simdgrad::isa_name(isa) << " " << p.str() << " (" << i << "," << j << ")";
            }
        }
      }
}

// oneDNN's matmul with bias and eltwise post-ops against the fused epilogue.
TEST(GemmOneDnn, MatmulEpilogueAgrees) {
  for (simdgrad::Isa isa : sgtest::test_isas()) {
    sgtest::IsaScope scope(isa);
    for (int a = 0; a < simdgrad::kActivationCount; ++a) {
      const ActivationSpec spec(static_cast<Activation>(a));
      Problem p;
      p.layout = a % 2 ? MatLayout::col_major : MatLayout::row_major;
      p.tb = a % 3 ? Trans::transpose : Trans::none;
      p.m = 19;
      p.n = 53;
      p.k = 130;
      p.pad_c = 2;
      p.beta = 0.5f;
      p.ep = GemmEpilogue(kWithBias, spec);
      Data d = make_data(p);
      std::vector<float> c = d.c0;
      try {
        c = run_gemm(p, d);
      } catch (const simdgrad::error&) {
        continue;  // this activation has no kernel yet (checked in Gemm.Epilogues)
      }
      sgdnnl::Matmul mm(p.layout, p.ta, p.tb, p.m, p.n, p.k, p.alpha, p.lda(), p.ldb(), p.beta,
                        p.ldc(), epilogue_for(p, d));
      if (!mm.ok) continue;
      std::vector<float> cd = d.c0;
      mm.run(d.a.data(), d.b.data(), d.bias.data(), cd.data());
      const auto ref = sgref::gemm_reference(p.layout, p.ta, p.tb, p.m, p.n, p.k, p.alpha,
                                             d.a.data(), p.lda(), d.b.data(), p.ldb(), p.beta,
                                             d.c0.data(), p.ldc(), epilogue_for(p, d), 8.0);
      for (std::size_t i = 0; i < p.m; ++i)
        for (std::size_t j = 0; j < p.n; ++j) {
          const std::size_t at = sgref::stored_index(p.layout, i, j, p.ldc());
          ASSERT_LE(std::fabs(c[at] - cd[at]), 2 * ref.bound[i * p.n + j] + 1e-6)
              << simdgrad::isa_name(isa) << " " << p.str() << " (" << i << "," << j << ")";
        }
    }
  }
}
#endif

// Bad input: a clear simdgrad::error naming the argument, C untouched.
TEST(GemmErrors, BadInput) {
  std::vector<float> a(64, 1.0f), b(64, 1.0f), c(64, 7.0f), bias(8, 0.0f);
  const auto R = MatLayout::row_major, Cm = MatLayout::col_major;
  const auto N = Trans::none, T = Trans::transpose;
  auto expect = [&](const char* what, auto&& call) {
    std::vector<float> before = c;
    try {
      call();
      ADD_FAILURE() << "no error, expected one mentioning " << what;
    } catch (const simdgrad::error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind("simdgrad::", 0), 0u) << msg;
      EXPECT_NE(msg.find(what), std::string::npos) << msg;
    }
    EXPECT_EQ(c, before) << what;
  };
  float* A = a.data();
  float* B = b.data();
  float* C = c.data();
  // m = 4, n = 4, k = 4 row-major: lda = ldb = ldc = 4 minimum.
  expect("a is null", [&] { simdgrad::gemm(R, N, N, 4, 4, 4, 1, nullptr, 4, B, 4, 0, C, 4); });
  expect("b is null", [&] { simdgrad::gemm(R, N, N, 4, 4, 4, 1, A, 4, nullptr, 4, 0, C, 4); });
  expect("c is null", [&] { simdgrad::gemm(R, N, N, 4, 4, 4, 1, A, 4, B, 4, 0, nullptr, 4); });
  expect("lda", [&] { simdgrad::gemm(R, N, N, 4, 4, 5, 1, A, 4, B, 4, 0, C, 4); });
  expect("lda", [&] { simdgrad::gemm(R, T, N, 5, 4, 4, 1, A, 4, B, 4, 0, C, 5); });
  expect("lda", [&] { simdgrad::gemm(Cm, N, N, 5, 4, 4, 1, A, 4, B, 4, 0, C, 5); });
  expect("ldb", [&] { simdgrad::gemm(R, N, N, 4, 5, 4, 1, A, 4, B, 4, 0, C, 5); });
  expect("ldb", [&] { simdgrad::gemm(R, N, T, 4, 4, 5, 1, A, 5, B, 4, 0, C, 4); });
  expect("ldc", [&] { simdgrad::gemm(R, N, N, 4, 4, 4, 1, A, 4, B, 4, 0, C, 3); });
  expect("ldc", [&] { simdgrad::gemm(Cm, N, N, 4, 2, 4, 1, A, 4, B, 4, 0, C, 3); });
  expect("ldc must be >= 1", [&] { simdgrad::gemm(R, N, N, 0, 0, 4, 1, A, 4, B, 1, 0, C, 0); });
  const std::size_t huge = std::numeric_limits<std::size_t>::max() / 2;
  expect("overflows", [&] { simdgrad::gemm(R, N, N, huge, 1, 4, 1, A, 4, B, 1, 0, C, 1); });
  expect("overflows", [&] { simdgrad::gemm(R, N, N, 4, 4, huge, 1, A, huge, B, 4, 0, C, 4); });
  // The span of a stored matrix, (rows - 1) * ld + row length: its product, its sum and its
  // size in bytes each checked.
  expect("the size of A overflows size_t (3 *",
         [&] { simdgrad::gemm(R, N, N, 4, 4, 4, 1, A, huge, B, 4, 0, C, 4); });
  expect("the size of A overflows size_t",
         [&] { simdgrad::gemm(R, N, N, 2, 4, 4, 1, A, 2 * huge, B, 4, 0, C, 4); });
  expect("the size of B is too large",
         [&] { simdgrad::gemm(R, N, N, 4, 4, 2, 1, A, 2, B, std::size_t{1} << 61, 0, C, 4); });
  expect("c overlaps a", [&] { simdgrad::gemm(R, N, N, 4, 4, 4, 1, C + 8, 4, B, 4, 0, C, 4); });
  expect("c overlaps b", [&] { simdgrad::gemm(R, N, N, 4, 4, 4, 1, A, 4, C + 15, 4, 0, C, 4); });
  expect("c overlaps epilogue.bias", [&] {
    simdgrad::gemm(R, N, N, 4, 4, 4, 1, A, 4, B, 4, 0, C, 4, GemmEpilogue(C + 2));
  });
  expect("alpha", [&] { simdgrad::gemm(R, N, N, 4, 4, 4, NAN, A, 4, B, 4, 0, C, 4); });
  expect("beta", [&] { simdgrad::gemm(R, N, N, 4, 4, 4, 1, A, 4, B, 4, INFINITY, C, 4); });
  expect("layout", [&] {
    simdgrad::gemm(static_cast<MatLayout>(7), N, N, 4, 4, 4, 1, A, 4, B, 4, 0, C, 4);
  });
  expect("transa", [&] {
    simdgrad::gemm(R, static_cast<Trans>(2), N, 4, 4, 4, 1, A, 4, B, 4, 0, C, 4);
  });
  expect("transb", [&] {
    simdgrad::gemm(R, N, static_cast<Trans>(-1), 4, 4, 4, 1, A, 4, B, 4, 0, C, 4);
  });
  expect("epilogue.act.kind", [&] {
    simdgrad::gemm(R, N, N, 4, 4, 4, 1, A, 4, B, 4, 0, C, 4,
                   GemmEpilogue(nullptr, ActivationSpec(static_cast<Activation>(99), 0)));
  });
  expect("epilogue.act.alpha", [&] {
    simdgrad::gemm(R, N, N, 4, 4, 4, 1, A, 4, B, 4, 0, C, 4,
                   GemmEpilogue(bias.data(), ActivationSpec(Activation::leaky_relu, NAN)));
  });
  // column_sum
  expect("x is null", [&] { simdgrad::column_sum(R, 4, 4, nullptr, 4, 0, C); });
  expect("sums is null", [&] { simdgrad::column_sum(R, 4, 4, A, 4, 0, nullptr); });
  expect("ldx", [&] { simdgrad::column_sum(R, 4, 4, A, 3, 0, C); });
  expect("ldx", [&] { simdgrad::column_sum(Cm, 5, 4, A, 4, 0, C); });
  expect("overflows", [&] { simdgrad::column_sum(R, huge, 4, A, 4, 0, C); });
  expect("sums overlaps x", [&] { simdgrad::column_sum(R, 2, 4, C + 2, 4, 0, C); });
  expect("beta", [&] { simdgrad::column_sum(R, 2, 4, A, 4, NAN, C); });
  expect("layout", [&] { simdgrad::column_sum(static_cast<MatLayout>(3), 2, 4, A, 4, 0, C); });
}

class ColumnSum : public sgtest::PerIsa {};

TEST_P(ColumnSum, AgainstReference) {
  for (MatLayout l : kLayouts)
    for (std::size_t m : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{7},
                          std::size_t{64}, sgtest::big(1000) + 1})
      // (2063: two chunks of the row-major kernel's partial sums, the second ending in a
      // partial vector)
      for (std::size_t n : {1, 3, 15, 16, 17, 63, 64, 65, 200, 2063})
        for (float beta : {0.0f, 1.0f, -0.5f}) {
          const std::size_t ld = (l == MatLayout::row_major ? n : std::max<std::size_t>(m, 1)) + 3;
          const auto x = make_matrix(l, m, n, ld, static_cast<unsigned>(m + 3 * n));
          auto sums = sgtest::uniform(n + 1, -1.0f, 1.0f, 5);
          if (beta == 0.0f) std::fill(sums.begin(), sums.end() - 1, kNaN);
          sums[n] = kSentinel;
          const auto sums0 = sums;
          simdgrad::column_sum(l, m, n, x.data(), ld, beta, sums.data());
          std::vector<double> v, bd;
          sgref::column_sum_reference(l, m, n, x.data(), ld, beta, sums0.data(), v, bd);
          ASSERT_EQ(sums[n], kSentinel);
          for (std::size_t j = 0; j < n; ++j)
            ASSERT_LE(std::fabs(sums[j] - v[j]), bd[j])
                << (l == MatLayout::row_major ? "row" : "col") << " m=" << m << " n=" << n
                << " beta=" << beta << " j=" << j << " got " << sums[j] << " want " << v[j];
        }
}

SGTEST_INSTANTIATE_PER_ISA(ColumnSum);

TEST(ColumnSumThreads, IdenticalBitsAndIsas) {
  for (std::size_t n : {std::size_t{1000}, std::size_t{2500}}) {
    const std::size_t m = sgtest::big(2000) + 3;
    const auto x = make_matrix(MatLayout::row_major, m, n, n, 11);
    std::vector<float> first;
    for (simdgrad::Isa isa : sgtest::test_isas()) {
      sgtest::IsaScope scope(isa);
      for (int t : {1, 2}) {
        simdgrad::set_num_threads(t);
        std::vector<float> s(n);
        simdgrad::column_sum(MatLayout::row_major, m, n, x.data(), n, 0.0f, s.data());
        simdgrad::set_num_threads(0);
        if (first.empty()) first = s;
        // Row-major sums are plain additions in a fixed order: the same bits on every ISA.
        for (std::size_t j = 0; j < n; ++j)
          ASSERT_TRUE(sgtest::same_bits(first[j], s[j]))
              << simdgrad::isa_name(isa) << " n=" << n << " threads=" << t << " j=" << j;
      }
    }
  }
}

}  // namespace
