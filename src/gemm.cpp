// GEMM: argument checks, normalization to one row-major problem, threading, workspace, dispatch.
#include "simdgrad/gemm.hpp"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <new>
#include <cstring>
#include <string>

#include "kernels/gemm_table.hpp"
#include "src/dispatch.hpp"
#include "src/parallel.hpp"
#include "src/validate.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

SIMDGRAD_DECLARE_KERNEL_TABLE(simdgrad::kernels::GemmTable)

namespace simdgrad {
namespace {

using detail::fail;
using kernels::BiasMode;
using kernels::GemmArgs;
using kernels::GemmBlocking;

// Multiply-adds per thread below which gemm stays on one thread (2^17: about 1 us of work at
// the AVX-512 rate): 48^3 stays on one thread, 64^3 and up take two. 2^21 left 128^3 on one,
// at 0.45-0.6x of oneDNN's two; 2^18 left 64^3 and 2 x 500 x 500 on one. Intel Xeon, AVX-512,
// 2 threads, 2^17 against 2^18 in the same build: 2-128 x 64-1024 x 48-800 (2^18 to 2^19
// multiply-adds) +19% to +82% (64^3 1.01x -> 1.37x of dnnl_sgemm, 80^3 0.72x -> 1.03x, 1 x
// 500 x 800 0.61x -> 1.09x); AVX2 (half of it per thread, scaled by the tile width below) +0%
// to +2% from 2^16 on. 2^16 won 41-60% more on 1-2 x 256-512 x 256 but nothing on 48^3-96^3.
constexpr std::size_t kMinFmaPerThread = std::size_t{1} << 17;
/// C split along k (a small C, a long k): k blocks per thread and round (16 x 256 rows of B;
/// 4 and 128 within 3% of it at 2 threads, one row), the most floats of the blocks' sums a
/// round keeps, and the largest C split that way (m n floats).
constexpr std::size_t kSplitRun = 16;
constexpr std::size_t kSplitSumsFloats = std::size_t{1} << 20;
constexpr std::size_t kSplitMaxC = 16384;

// Rows of A up to which a small B whose rows fall on few L1 sets is read in place (see small_b).
constexpr std::size_t kSmallBRows = 64;

const char* layout_name(MatLayout l) { return l == MatLayout::row_major ? "row-major" : "column-major"; }

// check_matrix's failures, out of line (cold): the passing path stays a few compares. Each
// message names "the size of A" (B, C, X) or the leading dimension.
[[noreturn]] __attribute__((noinline, cold)) void fail_ld(const char* fn, const char* name,
                                                          const char* ldname, MatLayout layout,
                                                          std::size_t rows, std::size_t cols,
                                                          std::size_t ld, std::size_t min_ld) {
  const bool rm = layout == MatLayout::row_major;
  fail(fn, std::string(ldname) + " must be >= " + std::to_string(min_ld) + " (the " +
               (rm ? "row" : "column") + " length of " + layout_name(layout) + " " + name +
               ", " + std::to_string(rows) + " x " + std::to_string(cols) + "), got " +
               std::to_string(ld));
}
std::string size_of(const char* name) { return std::string("the size of ") + name; }
[[noreturn]] __attribute__((noinline, cold)) void fail_size_mul(const char* fn, const char* name,
                                                                std::size_t a, std::size_t b) {
  detail::fail_mul_overflow(fn, size_of(name).c_str(), a, b);
}
[[noreturn]] __attribute__((noinline, cold)) void fail_size_sum(const char* fn, const char* name) {
  fail(fn, size_of(name) + " overflows size_t");
}
[[noreturn]] __attribute__((noinline, cold)) void fail_size_count(const char* fn,
                                                                  const char* name,
                                                                  std::size_t span) {
  detail::fail_too_large(fn, size_of(name).c_str(), span);
}

/// A matrix as stored: rows x cols in `layout`, leading dimension ld. Returns the number of
/// elements its storage spans (0 when empty), after checking ld and overflow.
inline std::size_t check_matrix(const char* fn, const char* name, const char* ldname,
                                MatLayout layout, std::size_t rows, std::size_t cols,
                                std::size_t ld) {
  const bool rm = layout == MatLayout::row_major;
  const std::size_t inner = rm ? cols : rows, outer = rm ? rows : cols;
  const std::size_t min_ld = inner > 0 ? inner : 1;
  if (ld < min_ld) fail_ld(fn, name, ldname, layout, rows, cols, ld, min_ld);
  if (detail::mul_overflows(rows, cols)) fail_size_mul(fn, name, rows, cols);
  if (rows == 0 || cols == 0) return 0;
  if (detail::mul_overflows(outer - 1, ld)) fail_size_mul(fn, name, outer - 1, ld);
  const std::size_t span0 = (outer - 1) * ld;
  if (span0 > std::numeric_limits<std::size_t>::max() - inner) fail_size_sum(fn, name);
  const std::size_t span = span0 + inner;
  if (detail::count_too_large(span)) fail_size_count(fn, name, span);
  return span;
}

bool valid_layout(MatLayout l) { return l == MatLayout::row_major || l == MatLayout::col_major; }
bool valid_trans(Trans t) { return t == Trans::none || t == Trans::transpose; }

const kernels::GemmTable& table() { return detail::active_table<kernels::GemmTable>(); }

const GemmBlocking& blocking() {
  return kernels::kGemmBlocking[static_cast<int>(detail::active_isa_fast())];
}

// Returns the activation index the kernels run (-1: none), after checking the spec.
int check_epilogue(const char* fn, const GemmEpilogue& ep) {
  if (!ep.activate) return -1;
  ActivationSpec act = ep.act;
  const int i = static_cast<int>(act.kind);
  if (i < 0 || i >= kActivationCount)
    fail(fn, "epilogue.act.kind is not an Activation (value " + std::to_string(i) + ")");
  if (act.kind == Activation::leaky_relu || act.kind == Activation::elu) {
    detail::check_finite(fn, "epilogue.act.alpha", act.alpha);
    if (act.kind == Activation::elu && act.alpha < 0)
      fail(fn, "epilogue.act.alpha must be >= 0 for elu, got " + detail::fmt(act.alpha));
  }
  if (act.kind == Activation::leaky_relu && act.alpha == 0.0f) act = {Activation::relu, 0.0f};
  const int k = static_cast<int>(act.kind);
  if (!table().has_act[k])
    fail(fn, std::string("epilogue.act.kind ") + activation_name(act.kind) +
                 " has no GEMM epilogue in this build");
  return k;
}

/// The largest power of two from `from` up to `cap` whose floats fit in `bytes` (from when the
/// size is not known, bytes <= 0).
std::size_t pow2_floats(long bytes, std::size_t from, std::size_t cap) {
  std::size_t c = from;
  if (bytes <= 0) return c;
  const std::size_t fit = static_cast<std::size_t>(bytes) / sizeof(float);
  while (c * 2 <= fit && c * 2 <= cap) c *= 2;
  return c;
}

/// The size in bytes of the L1 data cache (level 1) or the L2 (level 2) from sysconf; 0 where it
/// is not known.
long cache_bytes(int level) {
  long v = 0;
#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL2_CACHE_SIZE)
  v = sysconf(level == 1 ? _SC_LEVEL1_DCACHE_SIZE : _SC_LEVEL2_CACHE_SIZE);
#endif
  return v > 0 ? v : 0;
}

/// Columns per pass of the two-row path (kernels/gemm_driver.hpp): the power of two whose
/// partial sums take at most two thirds of the L1 data cache (8192 floats in 48 KB, 4096 in 32
/// KB), from 1024 to 16384; 4096 where the size is not known. The chunking does not change any
/// element's formula, only which columns share a pass.
std::size_t two_row_chunk() {
  static const std::size_t chunk = [] {
    const long l1 = cache_bytes(1);
    return l1 <= 0 ? std::size_t{4096} : pow2_floats(l1 * 2 / 3, 1024, 16384);
  }();
  return chunk;
}

/// The L2 cache per core in floats (0 where the size is not known): the block loop's slabs of C
/// (kernels/gemm_driver.hpp).
std::size_t l2_floats() {
  static const std::size_t f = static_cast<std::size_t>(cache_bytes(2)) / sizeof(float);
  return f;
}

/// Columns per pass of the one-row path: the power of two whose partial sums take at most an
/// eighth of the L2 cache (32768 floats in a 2 MB L2, 16384 in 1 MB), from two_row_chunk() to
/// kGemmMaxRowChunk. One row's partial sums outgrow the L1 there; what that costs (a load and
/// a store of them from L2 per four rows of B) is less than what longer runs of each row of B
/// buy when W comes from memory: Intel Xeon, 1 x 10000-65536 x 256-4096 NN against the L1
/// chunk, see kernels/gemm_driver.hpp.
std::size_t one_row_chunk() {
  static const std::size_t chunk =
      pow2_floats(cache_bytes(2) / 8, two_row_chunk(), kernels::kGemmMaxRowChunk);
  return chunk;
}

/// Per-thread packing workspace (which = 0), 64-byte aligned, grown on demand and kept for
/// later calls; which = 1 is a second one (the calling thread's k-block sums of a split along
/// k).
float* workspace(std::size_t floats, int which = 0) {
  struct Ws {
    float* p = nullptr;
    std::size_t n = 0;
    ~Ws() { std::free(p); }
  };
  thread_local Ws wss[2];
  Ws& ws = wss[which];
  if (ws.n < floats) {
    std::free(ws.p);
    ws.p = nullptr;
    ws.n = 0;
    const std::size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, bytes);
    if (!p) throw std::bad_alloc();
    ws.p = static_cast<float*>(p);
    ws.n = floats;
  }
  return ws.p;
}

/// Splits C (m x n, tiles of mr x nr) into gm x gn rectangles for t threads: the grid whose
/// largest rectangle costs least, its multiply-adds plus the packing its thread does (each
/// thread packs the rows of A and the columns of B its rectangle uses, so a split of the rows
/// repeats the packing of B in every thread, and a split of the columns that of A; an operand
/// read in place costs only its reading, an eighth of a packing: 128^3 on AVX2, A in place,
/// went from rows split (each thread packing all of B, 0.78-0.86x of dnnl_sgemm on two
/// threads) to columns split; 4096 x 64 x 64, both in place, from columns split (each thread
/// reading all of A, and no whole-width narrow tiles) to rows split, 0.70x -> 1.05x on two
/// threads of an Intel Xeon, 1000 x 40 x 100 0.69x -> 0.89x). Rectangle edges are tile
/// multiples.
void choose_grid(std::size_t m, std::size_t n, std::size_t k, const GemmBlocking& bk, int t,
                 bool pack_a, bool pack_b, int& gm, int& gn) {
  const std::size_t tm = (m + bk.mr - 1) / bk.mr, tn = (n + bk.nr - 1) / bk.nr;
  double best = -1;
  gm = 1;
  gn = 1;
  for (int a = 1; a <= t; ++a) {
    if (t % a) continue;
    const int b = t / a;
    if (static_cast<std::size_t>(a) > tm || static_cast<std::size_t>(b) > tn) continue;
    const double rows = static_cast<double>((tm + a - 1) / a) * bk.mr;
    const double cols = static_cast<double>((tn + b - 1) / b) * bk.nr;
    double cost = rows * cols + (pack_a ? 8.0 : 1.0) * rows + (pack_b ? 8.0 : 1.0) * cols;
    // A split of the columns leaves each thread part of every row of C (shorter runs, where
    // the prefetchers start over) instead of whole rows one after another: its rectangle of C
    // is weighed as written at 1.5 times the cost, 0.5 rows cols / k more per step of k. It
    // decides where k is small and writing C is most of the time. Two threads of an Intel
    // Xeon, 68 shapes 512-2048 x 512-4096 x 1-512, against the cost without it: AVX-512 geo
    // mean +10.7% (2048^2 x 8 0.82x -> 0.97x of dnnl_sgemm, 2048 x 1024 x 32 0.84x -> 0.92x,
    // 1024 x 512 x 8 1.32x faster), 512 x 2048 x 1 -7%; AVX2 24 shapes +8%, none slower. Only
    // where a split of the rows leaves each thread more than kGemmFewRows rows: fewer
    // take the few-rows loop, which packs all of B panel by panel in each thread (256 x 4096 x
    // 16 ran 12% slower split by rows).
    if (b > 1 && m > kernels::kGemmFewRows * static_cast<std::size_t>(t))
      cost += 0.5 * rows * cols / static_cast<double>(k > 0 ? k : 1);
    if (best < 0 || cost < best) {
      best = cost;
      gm = a;
      gn = b;
    }
  }
}

/// [begin, end) of part i of `parts` over `count` units of `unit` elements, capped at `total`.
void split(std::size_t total, std::size_t unit, int parts, int i, std::size_t& b, std::size_t& e) {
  const std::size_t units = (total + unit - 1) / unit;
  const std::size_t per = units / parts, extra = units % parts;
  const std::size_t ui = static_cast<std::size_t>(i);
  const std::size_t ub = ui * per + (ui < extra ? ui : extra);
  const std::size_t ue = ub + per + (ui < extra ? 1 : 0);
  b = ub * unit < total ? ub * unit : total;
  e = ue * unit < total ? ue * unit : total;
}

}  // namespace

void gemm(MatLayout layout, Trans transa, Trans transb, std::size_t m, std::size_t n,
          std::size_t k, float alpha, const float* a, std::size_t lda, const float* b,
          std::size_t ldb, float beta, float* c, std::size_t ldc, const GemmEpilogue& epilogue) {
  const char* fn = "gemm";
  if (!valid_layout(layout))
    fail(fn, "layout is not a MatLayout (value " + std::to_string(static_cast<int>(layout)) + ")");
  if (!valid_trans(transa))
    fail(fn, "transa is not a Trans (value " + std::to_string(static_cast<int>(transa)) + ")");
  if (!valid_trans(transb))
    fail(fn, "transb is not a Trans (value " + std::to_string(static_cast<int>(transb)) + ")");
  detail::check_finite(fn, "alpha", alpha);
  detail::check_finite(fn, "beta", beta);
  const bool ta = transa == Trans::transpose, tb = transb == Trans::transpose;
  const std::size_t span_a = check_matrix(fn, "A", "lda", layout, ta ? k : m, ta ? m : k, lda);
  const std::size_t span_b = check_matrix(fn, "B", "ldb", layout, tb ? n : k, tb ? k : n, ldb);
  const std::size_t span_c = check_matrix(fn, "C", "ldc", layout, m, n, ldc);
  detail::check_ptr(fn, "a", a, span_a);
  detail::check_ptr(fn, "b", b, span_b);
  detail::check_ptr(fn, "c", c, span_c);
  detail::check_disjoint(fn, "c", static_cast<const float*>(c), span_c, "a", a, span_a);
  detail::check_disjoint(fn, "c", static_cast<const float*>(c), span_c, "b", b, span_b);
  const int act = check_epilogue(fn, epilogue);
  if (epilogue.bias)
    detail::check_disjoint(fn, "c", static_cast<const float*>(c), span_c, "epilogue.bias",
                           epilogue.bias, n);
  if (m == 0 || n == 0) return;

  // Normalize to row-major C (rows x cols) = A'(rows x k) * B'(k x cols).
  GemmArgs g{};
  const std::ptrdiff_t la = static_cast<std::ptrdiff_t>(lda), lb = static_cast<std::ptrdiff_t>(ldb);
  if (layout == MatLayout::row_major) {
    g.m = m;
    g.n = n;
    g.a = a;
    g.a_rs = ta ? 1 : la;
    g.a_cs = ta ? la : 1;
    g.b = b;
    g.b_rs = tb ? 1 : lb;
    g.b_cs = tb ? lb : 1;
    g.bias_mode = epilogue.bias ? BiasMode::per_col : BiasMode::none;
  } else {  // C^T = op(B)^T op(A)^T, computed row-major
    g.m = n;
    g.n = m;
    g.a = b;
    g.a_rs = tb ? 1 : lb;
    g.a_cs = tb ? lb : 1;
    g.b = a;
    g.b_rs = ta ? 1 : la;
    g.b_cs = ta ? la : 1;
    g.bias_mode = epilogue.bias ? BiasMode::per_row : BiasMode::none;
  }
  g.k = k;
  g.c = c;
  g.ldc = ldc;
  g.alpha = alpha;
  g.beta = beta;
  g.bias = epilogue.bias;
  g.act = act;
  g.act_alpha = act >= 0 ? epilogue.act.alpha : 0.0f;

  const auto& t = table();
  const GemmBlocking& bk = blocking();
  // The same time per thread at every vector width: AVX2 (nr = 16) does half AVX-512's
  // multiply-adds per cycle, so a second thread from 2^16 per thread (2^17 until 2026-12-07;
  // Zen 3: 80^3 on two threads 1.08-1.1x of dnnl_sgemm, on one 0.77x).
  const std::size_t min_fma = kMinFmaPerThread / 32 * static_cast<std::size_t>(bk.nr);
  // Products of up to one thread's share (min_fma: 2^17 multiply-adds with AVX-512, 2^16 with AVX2;
  // one thread then) go to the small path (GemmTable::small) before any of the decisions below,
  // where it takes them: one pass of register tiles over A and B in place (a transposed B packed
  // first), each tile through the formula's k blocks (one up to kc). Its fixed cost per call is a
  // fraction of the block driver's (checks, path decisions, set-up): Intel Xeon, 1 thread, against
  // the block driver in the same build, AVX-512: 8^3 2.0x, 16^3 1.35x, 3 x 100 x 100 1.6x, 12 x 40
  // x 40 1.37x, 32^3 1.12x, 50^3 1.19x, 6 x 64 x 64 TN 1.08x, 64 x 32 x 64 1.05x, 24 x 64 x 40 TN
  // and 16 x 32 x 256 within 2%; AVX2: 8^3 1.6x, 4 x 64 x 64 1.2x, 32^3 TN 1.14x, 100 x 20 x 32
  // 1.13x, 40^3 1.07x, 64 x 16 x 64 TN 1.03x. Where gemm runs on one thread anyway (one thread set,
  // or a call from inside a parallel region) up to four times that share: AVX-512, 1 thread,
  // against the block driver, calls in a loop (loop_b) / the fastest single call between the peers'
  // (simdgrad_gemm_pair): 96 x 96 x 32 TN 1.05x / 1.10x, 100 x 100 x 50 1.02x / 1.035x, 64 x 128 x
  // 64 1.13x / 0.975x, 32 x 128 x 128 1.03x / 1.0x, 48 x 48 x 200 0.98x / 0.985x, 64^3 NN and TN,
  // 80^3 and 128 x 64 x 64 TN within 0.5%. B stored transposed, against the block driver: AVX-512
  // 8^3 NT 2.3x, 16^3 1.31x, 12 x 40 x 40 1.34x, 100 x 20 x 32 1.20x, 16 x 48 x 128 1.12x, 50^3
  // 1.10x, 64 x 64 x 32 0.99x; AVX2 8^3 1.55x, 100 x 20 x 32 1.10x, 12 x 40 x 40, 50^3, 6 x 64 x 64
  // 0.95-0.97x.
  // More than one k block (k > kc) only where the block driver's main tile fits C poorly (fewer
  // rows than a tile, or columns not a whole number of tiles) and B is row-major: AVX-512, 1
  // thread, against the block driver, 16 x 48 x 512 NN +25% (TN +34%), 8 x 48 x 1000 +24%, 4 x
  // 64 x 1024 +14%, 16 x 16 x 1024 +8%, 3 x 64 x 2000 +5%, 6 x 64 x 1000 TN +3%, 12 x 48 x 600
  // -1.5%; AVX2 8 x 24 x 1000 +29%, 12 x 20 x 600 +22%, 4 x 64 x 1024 -2.4%. Where the tile fits
  // (16 x 32 x 512, 24 x 32 x 512, 16 x 64 x 500, 32 x 32 x 400) the small path was 1-2.5%
  // slower, and over a transposed B up to 6% (10 x 24 x 1000 NT).
  const bool small_k = k <= static_cast<std::size_t>(kernels::kGemmKC) ||
                       (g.b_cs == 1 && (g.m < static_cast<std::size_t>(bk.mr) ||
                                        g.n % static_cast<std::size_t>(bk.nr) != 0));
  if (t.small && k > 0 && small_k && alpha != 0.0f &&
      (g.b_cs == 1 || g.b_rs == 1) && (g.a_cs == 1 || g.a_rs == 1) && m * n <= 4 * min_fma &&
      (m * n * k <= min_fma ||
       (m * n * k <= 4 * min_fma && detail::threads_for(m * n * k, min_fma) == 1)) &&
      t.small(g, g.b_cs == 1 ? nullptr
                             : workspace(kernels::gemm_workspace_floats(
                                   static_cast<std::size_t>(bk.mc), static_cast<std::size_t>(bk.nc),
                                   static_cast<std::size_t>(bk.kc)))))
    return;

  // Packing pays when an operand is reused by many tiles. B (k x n) is read in place when its
  // rows are contiguous and it is used by a single row panel (m <= mr), is small (k*n below
  // 64K floats, in L2) or narrow (its rows short and adjacent); A likewise when C is narrow
  // (n <= max(2 nr, 64)) or m*k is small.
  // Decided from the whole problem, so every thread takes the same path.
  const std::size_t small = std::size_t{1} << 16;
  // (n <= 64: each element of A feeds at most 64 multiply-adds, a packing copy is not repaid.)
  const std::size_t narrow_n = std::max<std::size_t>(2 * static_cast<std::size_t>(bk.nr), 64);
  const double kn = static_cast<double>(k) * static_cast<double>(g.n);
  const double mk = static_cast<double>(g.m) * static_cast<double>(k);
  // Whether a tile row of B spans two cache lines or more (AVX-512's 32 floats; AVX2's 16 fill
  // one line): several rules below were measured to differ between the two.
  const bool line_pair_rows = bk.nr * 4 >= 128;
  // A matrix of up to 256K floats (1 MB: it stays in L2/L3 between its uses) whose row stride
  // is not a multiple of 4 KB is read in place too: its rows then fall on different L1/L2 sets,
  // so the tile's rows do not evict each other, and the packing copy is saved. With a 4 KB
  // multiple (1024, 2048, ... floats) every row of a tile maps to the same sets; those pack.
  const std::size_t mid = std::size_t{1} << 18;
  auto alias_free = [](std::ptrdiff_t stride) { return (stride * 4) % 4096 != 0; };
  // A stored transposed (the weight gradient X^T dY), read in place, takes a new line of A at
  // every k step of every tile; packed, a tile's [p][i] panel is contiguous and stays in L1
  // across the column panels. The copy is repaid from a few hundred columns of C on: AVX2 on
  // Zen 3, 1 thread, against dnnl_sgemm, in place -> packed: 64 x 1024 x 4096 TN 0.94-0.97x ->
  // 0.99-1.0x, 256 x 512 x 1024 TN 0.93-0.99x -> 1.05-1.08x, 128 x 512 x 2048 TN 1.01-1.02x ->
  // 1.04-1.07x, TT alike; 64 x 128 x 4096 TN 0.96-0.98x in place, 0.95-0.96x packed. AVX-512
  // on an Intel Xeon, 1 thread: 300-1000 x 256-4096 x 32-256 TN 1.0-1.25x (1000 x 1024 x 256
  // 0.85x -> 1.0x of dnnl_sgemm, 500 x 1024 x 32 0.73x -> 0.90x), 100 rows within the noise.
  const bool a_t_short = g.a_cs == 1 || g.n < 4 * narrow_n;
  const bool mid_a = static_cast<std::size_t>(mk) <= mid &&
                     alias_free(g.a_cs == 1 ? g.a_rs : g.a_cs) && a_t_short;
  // B in place streams kc rows of a panel per tile, one row every few multiply-adds; how many
  // of the 64 L1 sets of a 4 KB period its rows fall on depends on the stride (a 1 KB stride:
  // 4 sets); they need 16 sets or more, else they evict the tile's A panel. AVX2 on Zen 3
  // (32 KB 8-way L1): 256^3 ran at 0.73x of dnnl_sgemm in place with its 1 KB stride and 1.0x
  // packed, 128 x 256 x 128 0.78x and 0.95x, 256 x 384 x 256 (8 sets) 0.85x and 1.0x; 64^3
  // (16 sets) is faster in place. AVX-512 on an Intel Xeon (48 KB 12-way L1): 512^3 (2 KB
  // stride, 2 sets) 0.93x in place and 1.05x packed, 256 x 512 x 512 0.91x and 1.02x.
  const std::size_t b_sets = [&] {  // 4096 / gcd(bytes, 4096), by the trailing zeros
    const std::size_t bytes = static_cast<std::size_t>(g.b_rs * 4) % 4096;
    return bytes == 0 ? std::size_t{1} : std::size_t{4096} >> __builtin_ctzll(bytes);
  }();
  const bool b_free = b_sets >= 16u;
  g.b_rows_spread = b_free;
  const bool mid_b = static_cast<std::size_t>(kn) <= mid && b_free;
  // Up to 4 row tiles use each element of B at most 4 mr times: with an alias-free row stride
  // B is read in place (panel by panel, the row tiles inner) up to 4M floats (16 MB, in L3);
  // 17-48 x 1000 x 1000 went from 0.73-0.83x of dnnl_sgemm packed to 0.92-1.0x. Larger B
  // comes from memory, where the packed path's prefetch of the next panel does better. At a
  // stride that puts B's rows on few sets (a 4 KB multiple: 1024, 2048 floats) too, since the
  // in-place prefetch runs few enough rows ahead to keep them in L1 (gemm_ukr's kAhead); on AVX2
  // only while B fits L2 (1 MB). Intel Xeon, 1 thread, packed -> in place: AVX-512 13-48 x
  // 256-4096 x 64-1024 1.07-1.66x (13 x 512 x 1024 0.72x -> 1.20x of dnnl_sgemm, 16 x 1024 x 256
  // 0.66x -> 0.87x), except 40-48 x 2048-4096 x 64 0.92-0.97x; AVX2 7-24 x 256-1024 x 64-256
  // 1.05-1.71x, and 0.68-0.93x once B is 2 MB or more.
  const bool few_b = g.m <= 4 * static_cast<std::size_t>(bk.mr) &&
                     kn <= static_cast<double>(std::size_t{1} << 22) &&
                     (b_free || line_pair_rows || static_cast<std::size_t>(kn) <= mid);
  // A small B (in L2) is read in place where its rows fall on 16 L1 sets or more; at fewer sets
  // only by up to 64 rows of A (AVX-512; AVX2 never): packed, the 12-row tiles of more rows read
  // it from the copy instead of from the same few sets, a few of its rows at a time. Intel Xeon,
  // AVX-512, 1 thread, packed against in place: 96-1024 x 128-1024 x 16-256 (k n < 64K) 1.05-1.27x
  // (1024^2 x 32 1.27x, 512^2 x 64 1.18x), 16-64 rows 0.72-0.96x.
  const bool small_b = kn < small && (b_free || (line_pair_rows && g.m <= kSmallBRows));
  g.unpacked_b = g.b_cs == 1 && (g.m <= static_cast<std::size_t>(bk.mr) || small_b ||
                                  g.n <= narrow_n || mid_b || few_b);
  g.unpacked_a = (g.a_cs == 1 || g.a_rs == 1) &&
                 (g.n <= narrow_n || (mk < small && g.n <= 4 * narrow_n) || mid_a);
  // Row-major A of any size and row stride is read in place where a thread's block has more
  // than kGemmFewRows rows (the block loop; the driver decides per block): each row tile reads
  // its A rows once per k block either way, then from L1 across the column panels, and the
  // copy is saved. Intel Xeon, two builds alternating, packed -> in place, 26 shapes: AVX-512
  // geo mean +4.1% on 1 thread and +3.8% on 2 (1500 x 100-300 x 300 +14-26%, 700-3000 x
  // 100-200 x 1500 +14-19%, 1000-2048 squares +0.4-2.3%, 4 KB row strides included), AVX2
  // +2.8% and +1.8%; k = 16-64 within -1.7% and +3%. The earlier rule (mid_a) read A in place
  // only up to 256K floats at a stride that is not a 4 KB multiple, from before the in-place
  // kernels kept their row offsets in registers.
  g.unpacked_a_tall = g.a_cs == 1;
  // A read in place transposed (the weight gradient X^T dY) takes a new line of A every k step,
  // as B read in place does: with both, a tile streams two strided runs of kc lines each that
  // neither stay in a 32 KB L1 nor leave it to each other. Beyond 4 row tiles B is packed then
  // (a copy of k x n for m x n x k multiply-adds). AVX2 on Zen 3, 1 thread, against dnnl_sgemm:
  // 64 x 64 x 4096 0.79-0.87x -> 0.95x, 256 x 64 x 2048 0.78-0.83x -> 0.95x, 64 x 48 x 4096
  // 0.81-0.88x -> 0.93x, 64 x 64 x 1024 0.90x -> 0.96x; 128 x 64 x 4096 and 64 x 32 x 4096 within
  // the noise; 2 threads 0.67-0.70x -> 0.92-0.99x. Taken where a tile row is at most a cache
  // line (AVX2; the untuned NEON, SSE2 and scalar paths follow it unmeasured). Not
  // measured with AVX-512 (on the Intel Xeon 64 x 64 x 4096 ran at 1.02-1.11x of the best peer
  // in place), so it is left as it was there.
  if (!line_pair_rows && g.unpacked_a && g.a_cs != 1 && g.unpacked_b &&
      g.m > 4 * static_cast<std::size_t>(bk.mr))
    g.unpacked_b = false;
  // At most 4 rows against B stored transposed (the GEMV-like y = x W^T): packing B would cost
  // as much as the product; dot products along k read each row of B once instead. The same for
  // a C of few columns over rows of A against columns of B (y = W x with n = 1, or X W^T with
  // few outputs) with 8- and 16-float vectors, where a tile would spend a vector of columns on
  // each row: up to a quarter of a vector of columns, and up to half of one from k = 128 (at
  // k = 64 half a vector lost to the tiles: AVX-512 4096 x 8 x 64 NT -24%). Intel Xeon, 1
  // thread, against the tiles: AVX-512 1024 x 1 x 1024 NN 2.2x (0.45x -> 1.0x of dnnl_sgemm),
  // 128 x 4 x 128 NT 2.4x, 256 x 6 x 256 NT +44%, 1024 x 8 x 512 NT +46%, 4096 x 4 x 64 NT +34%;
  // AVX2 1024 x 1 x 1024 1.9x, 1024 x 2 x 1024 NT 1.9x, 1024 x 4 x 512 NT +18%, 100 x 4 x 100
  // NT +27%. Wider C lost (AVX-512 n = 14-16 -23% to -31%). With AVX-512 and B stored
  // transposed also up to three quarters of a vector, from k = 384 (k = 256 up to 256 rows):
  // against the tiles over the transposed B packed by in-register transposes, 9-12 columns, 1
  // thread: 64 x 9 x 256 +22%, 256 x 10-12 x 256 +3%, 1024 x 12 x 384 +15%, 4096 x 12 x 384
  // +20%, 256 x 12 x 512 +22%, 4096 x 10 x 512 +27%, 64 x 12 x 1024 +36%; 2 threads 1024 x 12
  // x 384 +3%, 4096 x 10 x 512 +15%, 64 x 12 x 1024 +9%. 4096 x 10 x 256 lost 8% on 2 threads,
  // k = 128-200 up to 15% (1024 x 12 x 200), and AVX2's 5-6 of 8 columns -16% to +14%.
  const std::size_t vec = static_cast<std::size_t>(bk.nr) / 2;  // kW where nr >= 16
  const bool dot_wide_t = line_pair_rows && g.b_rs == 1 && g.n <= vec * 3 / 4 &&
                          (k >= 384 || (k >= 256 && g.m <= 256));
  const bool dot_cols =
      bk.nr >= 16 && (g.n <= vec / 4 || (g.n <= vec / 2 && k >= 128) || dot_wide_t);
  const bool a_rows = g.a_cs == 1 && k >= 16;
  // Those few columns of a row-major B are copied to rows first (n k floats, at most a block of
  // B's workspace), each thread its own: Intel Xeon, 1 thread, against the tiles, AVX-512 128 x
  // 4 x 128 NN 1.9x, 1024 x 2 x 1024 2.1x, 1024 x 8 x 512 +38%, 4096 x 4 x 64 +34%, 4096 x 8 x
  // 256 +11%; AVX2 1024 x 2 x 1024 1.8x, 1024 x 4 x 512 +26%, 128 x 4 x 128 +20%, 4096 x 4 x 64
  // and 100 x 4 x 100 within the noise.
  g.dot_pack_b = a_rows && g.m > 4 && dot_cols && g.b_rs != 1 && g.b_cs == 1 &&
                 static_cast<double>(g.n) * static_cast<double>(k) <=
                     static_cast<double>(bk.kc) * static_cast<double>(bk.nc);
  g.dot = (a_rows && g.b_rs == 1 && (g.m <= 4 || dot_cols)) || g.dot_pack_b;

  g.mc = static_cast<std::size_t>(bk.mc);
  g.nc = static_cast<std::size_t>(bk.nc);
  g.row_chunk = two_row_chunk();
  g.wide_chunk = one_row_chunk();
  g.l2_floats = l2_floats();
  // A C of 64 MB or more (beyond a typical L3) written by one k block with beta = 0 and no
  // epilogue is streamed past the caches: each tile is written once, and a normal store would
  // first read its lines. AVX-512 only, where a vector is a whole cache line (Zen 5: 4096^2
  // outer product 1.13x -> 1.86-2.2x of dnnl_sgemm). With AVX2's half-line vectors it lost on
  // Zen 3: 1024 x 4096 x 32 ran at 0.67-0.77x streamed and 1.0-1.1x with normal stores, 2048 x
  // 2048 x 64 0.76-0.82x and 1.03-1.05x, the outer product 1.18-1.23x and 1.5-1.7x. Only for
  // k <= 8, where writing C is most of the time: on an Intel Xeon (AVX-512, 1 thread) streaming
  // won at k = 1, 4, 8 (4096^2: 10.1 -> 12.1, 35.8 -> 46.4, 65 -> 79 GFLOPS) and lost from k = 16
  // on (2048 x 4096 x 16: 122 -> 97, x 32: 143 -> 133; 4096 x 1024 x 128: 168 -> 156; 2 threads
  // alike). Not below 64 MB: a streamed store to a line the cache holds dirty (C just written by
  // the caller: a memset, the previous call of another library on the same buffer) writes the
  // line back first. Intel Xeon, AVX-512, C memset just before the call, streamed against normal
  // stores: 2048^2 x 1 3.1 and 9.1 GFLOPS, 2048 x 4096 x 8 25 and 60; with C not cached the two
  // were within +-8% there (1 and 2 threads), while at 4096^2 streaming still wins cold (x 1 11.5
  // and 8.0, x 4 43 and 30) and is within 0.68-1.08x of normal stores with C memset first.
  // The tiles over A stored transposed prefetch it where it is 1 MB or more and its rows lie
  // 2 KB or more apart (GemmTileStore::pf_a: an A that stays in the caches lost up to 5% with
  // the prefetch, a larger one gained up to 24%; 64 x 64 x 4096 TN, rows 256 bytes apart, -3%
  // with AVX2).
  g.prefetch_a = g.a_rs == 1 && g.a_cs >= 512 &&
                 static_cast<double>(g.m) * static_cast<double>(k) >= static_cast<double>(1 << 18);
  g.stream_c = line_pair_rows && k <= 8 && beta == 0.0f && act < 0 && !epilogue.bias &&
               static_cast<double>(g.m) * static_cast<double>(g.n) >=
                   static_cast<double>(std::size_t{1} << 24);
  const std::size_t ws_floats = kernels::gemm_workspace_floats(g.mc, g.nc, static_cast<std::size_t>(bk.kc));
  const double fmas = static_cast<double>(g.m) * static_cast<double>(g.n) *
                      static_cast<double>(k > 0 ? k : 1);
  const std::size_t work = fmas > 1e18 ? static_cast<std::size_t>(1e18) : static_cast<std::size_t>(fmas);
  const int threads = detail::threads_for(work, min_fma);
  // A C too small for the threads against a long k (x W at batch 1, a weight gradient X^T dY
  // over a large batch) is split along k: each thread computes the sums of a run of whole k
  // blocks, every block a problem of its own (alpha 1, beta 0, no epilogue: the block's chain
  // exactly), into a buffer; then the threads fold them into C in block order
  // (GemmTable::fold) with the store one thread would use: the same bits as one thread.
  // Rounds of kSplitRun blocks a thread, each folded before the next, bound the sums. Intel
  // Xeon, 2 threads, against the grid (separate runs alternating, ratios to dnnl_sgemm):
  // - One row against B in place, where k has a block per thread (split by columns, each
  //   thread read a piece n / threads long of every row of W): 1 x 128-16384 x 512-65536 NN
  //   +2% to +56% with AVX-512 (1 x 256 x 65536 0.69x -> 1.02x, 1 x 1000 x 20000 0.73x ->
  //   1.04x, 1 x 4096 x 4096 0.94x -> 0.99x) and +2% to +40% with AVX2; 1 x 16384-65536 x
  //   256-1024 within 2%.
  // - A C of up to 16K floats where k has 4 blocks per thread: 2-128 x 16-4096 x 2048-65536
  //   +3% to +76% with AVX-512 (12 x 32 x 65536 0.71x -> 1.25x, 2 x 1024 x 4096 1.0x ->
  //   1.48x, 32 x 32 x 8192 0.76x -> 0.95x, 64 x 64 x 4096 TN 1.04x -> 1.10x) and up to
  //   +100% with AVX2 (64 x 64 x 4096 TN 0.92x -> 1.01x, 16 x 64 x 8192 TN 0.74x -> 0.96x);
  //   64 x 64 x 2048-4096 NN and NT, AVX2 4 x 512 x 4096 and 128 x 128 x 8192 NT -4% to -1%.
  //   Larger C (64 x 1024, 256 x 256, 1024 x 64 x 4096) gained nothing forced to it, and k of
  //   1-2 blocks a thread lost up to 6% (128 x 128 x 1024).
  const std::size_t mn = g.m * g.n;
  const std::size_t tn = static_cast<std::size_t>(threads);
  std::size_t kstep = 0, nkb = 0;  // k's blocks in the formula (divisions: not for 1 thread)
  if (threads > 1 && !g.dot && alpha != 0.0f && k > 0) {
    kstep = kernels::gemm_kstep(k);
    nkb = kernels::gemm_kblocks(k, kstep);
  }
  // A block's sums per thread must fit kSplitSumsFloats (4 MB): x W wider than that over the
  // threads (512K columns on two) keeps the column split, its pieces of each row long there.
  if (tn > 1 && tn * mn <= kSplitSumsFloats &&
      ((g.m == 1 && g.unpacked_b && g.b_cs == 1 && nkb >= tn) ||
       (mn <= kSplitMaxC && nkb >= 4 * tn))) {
    const std::size_t run = std::min(kSplitRun, kSplitSumsFloats / (tn * mn));
    const std::size_t per_round = run * tn;
    float* const sums = workspace(std::min(per_round, nkb) * mn, 1);
    // Each block as a problem of its own: C = 1 * (its chain) into its slot of the buffer.
    GemmArgs gb = g;
    gb.alpha = 1.0f;
    gb.beta = 0.0f;
    gb.bias = nullptr;
    gb.bias_mode = kernels::BiasMode::none;
    gb.act = -1;
    gb.stream_c = false;
    gb.ldc = g.n;
    const bool by_rows = g.m >= tn;  // the fold: whole rows each, or pieces of the row(s)
#pragma omp parallel num_threads(threads)
    {
      const int id = omp_get_thread_num();
      float* const ws = workspace(ws_floats);
      for (std::size_t r0 = 0; r0 < nkb; r0 += per_round) {
        const std::size_t r1 = std::min(nkb, r0 + per_round);
        std::size_t b0, b1;
        split(r1 - r0, 1, threads, id, b0, b1);
        for (std::size_t b = r0 + b0; b < r0 + b1; ++b) {
          GemmArgs gk = gb;
          const std::size_t pc = b * kstep;
          gk.k = std::min(kstep, k - pc);
          gk.a = g.a + static_cast<std::ptrdiff_t>(pc) * g.a_cs;
          gk.b = g.b + static_cast<std::ptrdiff_t>(pc) * g.b_rs;
          gk.c = sums + (b - r0) * mn;
          t.gemm_block(gk, 0, g.m, 0, g.n, ws);
        }
#pragma omp barrier
        std::size_t i0 = 0, i1 = g.m, j0 = 0, j1 = g.n;
        if (by_rows) split(g.m, 1, threads, id, i0, i1);
        else split(g.n, 64, threads, id, j0, j1);
        if (i0 < i1 && j0 < j1) t.fold(g, sums, g.n, mn, r0, r1, i0, i1, j0, j1);
#pragma omp barrier
      }
    }
    return;
  }
  int gm = 1, gn = 1;
  // A small packed B (k n below 64K floats, packed only where its rows alias; see small_b) is
  // weighed as read in place: split by columns, the two threads' halves of each row of C lie
  // side by side, and the k = 16 products, bound by writing C, ran at 0.57-0.88x of dnnl_sgemm
  // on two threads of an Intel Xeon (1024 x 256-512 x 16; split by rows 0.94-1.15x).
  const bool pack_b_cost = !g.unpacked_b && kn >= small;
  if (threads > 1) choose_grid(g.m, g.n, k, bk, threads, !g.unpacked_a, pack_b_cost, gm, gn);
  const int used = gm * gn;
  if (used <= 1) {
    t.gemm_block(g, 0, g.m, 0, g.n, workspace(ws_floats));
    return;
  }
#pragma omp parallel num_threads(used)
  {
    const int id = omp_get_thread_num();
    std::size_t mb, me, nb, ne;
    split(g.m, static_cast<std::size_t>(bk.mr), gm, id / gn, mb, me);
    split(g.n, static_cast<std::size_t>(bk.nr), gn, id % gn, nb, ne);
    t.gemm_block(g, mb, me, nb, ne, workspace(ws_floats));
  }
}

void column_sum(MatLayout layout, std::size_t m, std::size_t n, const float* x, std::size_t ldx,
                float beta, float* sums) {
  const char* fn = "column_sum";
  if (!valid_layout(layout))
    fail(fn, "layout is not a MatLayout (value " + std::to_string(static_cast<int>(layout)) + ")");
  detail::check_finite(fn, "beta", beta);
  const std::size_t span = check_matrix(fn, "X", "ldx", layout, m, n, ldx);
  detail::check_count(fn, "n", n);
  detail::check_ptr(fn, "x", x, span);
  detail::check_ptr(fn, "sums", sums, n);
  detail::check_disjoint(fn, "sums", static_cast<const float*>(sums), n, "x", x, span);
  if (n == 0) return;
  const auto& t = table();
  const bool rm = layout == MatLayout::row_major;
  const auto f = rm ? t.colsum_rows : t.colsum_cols;
  // Columns are independent: any split over threads gives the same sums.
  const std::size_t work = m * n;
  const int threads = detail::threads_for(work, std::size_t{1} << 18);
  const std::size_t unit = 64;
  if (threads <= 1 || n < 2 * unit) {
    f(m, n, x, ldx, beta, sums);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    std::size_t b, e;
    split(n, unit, threads, omp_get_thread_num(), b, e);
    if (b < e) f(m, e - b, rm ? x + b : x + b * ldx, ldx, beta, sums + b);
  }
}

}  // namespace simdgrad
