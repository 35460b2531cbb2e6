// GEMM block driver (the BLIS loops) and the column sums.
// Included inside the ISA namespace after simd.hpp, gemm_microkernel.hpp, gemm_pack.hpp and
// gemm_epilogue.hpp. Needs, from the including TU: constants kMR, kNV, kKC, the
// microkernel pickers ukr_for(format, wide, r) and ukr_small_for(transposed, v, r), wide_v(r),
// and epilogue_fn(act).

/// C block = beta * C (beta = 0: zeros, C not read): the product is empty (k = 0 or alpha = 0).
inline void gemm_scale_block(float* c, std::size_t ldc, std::size_t rows, std::size_t ncols,
                             float beta) {
  const vf vb = splat(beta);
  for (std::size_t i = 0; i < rows; ++i) {
    float* cr = c + i * ldc;
    std::size_t j = 0;
    if (beta == 0.0f) {
      for (; j + kW <= ncols; j += kW) store(cr + j, splat(0.0f));
      if (j < ncols) store_partial(cr + j, splat(0.0f), ncols - j);
    } else {
      for (; j + kW <= ncols; j += kW) store(cr + j, vb * load(cr + j));
      if (j < ncols) store_partial(cr + j, vb * load_partial(cr + j, ncols - j), ncols - j);
    }
  }
}

struct GemmEpilogueCall {
  GemmEpilogueFn fn;  // nullptr: no epilogue
  const float* bias;
  BiasMode mode;
  float act_alpha;
  void operator()(float* c, std::size_t ldc, std::size_t i0, std::size_t j0, std::size_t rows,
                  std::size_t ncols) const {
    fn(c, ldc, rows, ncols, mode == BiasMode::per_col ? bias + j0 : nullptr,
       mode == BiasMode::per_row ? bias + i0 : nullptr, act_alpha);
  }
};

/// Up to kGemmFewRows rows of A per block (kernels/gemm_table.hpp), column panels of B are the
/// outer loop and row tiles the inner one, and B is packed panel by panel.
constexpr std::size_t kFewRows = kGemmFewRows;
/// ... but not where the block's whole B (all k blocks) is at most this many floats, on AVX2
/// (128 KB: it stays in L2 between calls, and the block loop keeps each row tile's A in L1
/// instead of re-reading all rows of A per panel). Zen 3, 1 thread, against dnnl_sgemm: 128^3
/// 0.95x -> 0.97-1.0x, 96 x 128 x 128 0.93x -> 0.96-0.98x. A B that comes from L3 keeps the
/// panel loop and its prefetch: 64 x 64 x 4096 (256K floats) ran at 0.88-0.90x in the block loop
/// and 0.95x in the panel loop, 64 x 512 x 256 (128K) 1.25x and 1.34x. AVX-512 not measured.
constexpr std::size_t kFewRowsMinB = kIsaIndex == 2 ? 32768 : 0;
/// Panels of B the few-rows loop packs and prefetches together where a panel row is one cache
/// line (AVX2) and B is row-major and packed, its rows at a stride that puts them on few sets
/// (a 4 KB multiple: every row a different page). AVX2 on an Intel Xeon, 1 thread, against one
/// panel at a time, alternating in one process: 32 x 4096 x 1024 +13%, 64 and 128 x 4096 x 1024
/// +6%, 32 x 1024 x 4096 +7%, 100 x 2048 x 2048 +4%, 192 x 1024 x 1024 +4.5%, 13 x 1024 x 1024
/// +40%, 48 x 512 x 2048 +6%; 2 threads +2.5-7.5%. 4 panels: the same as 2. AVX-512's 32-float
/// panels (two lines a row) grouped by 2 or 4: within the noise, so they stay one by one.
constexpr std::size_t kPanelGroup = 2;
/// With B read in place the row tiles re-read their A (the broadcast operand) from L2 in that
/// order; it pays only for up to 4 row tiles (128^3 fell from 0.95-1.0x to 0.73x with 192).
constexpr std::size_t kFewTilesInPlace = 4;
/// The narrow-block tiles read all of B's k block (kb x their width) per row tile: 32 KB at most.
constexpr std::size_t kNarrowBFloats = 8192;

/// One k block [pc, pc + kb) of one or two rows of C (A's rows arow0, arow1) against row-major
/// B read in place (the GEMV-like x W), columns [j0, j0 + w): acc0 (and acc1) = the block's
/// sums, one fmadd chain per element, p ascending (the tiles' formula). B is streamed row by
/// row, each row one contiguous run, four rows per pass over the sums (w <= a chunk,
/// GemmArgs::row_chunk for two rows and wide_chunk for one).
template <std::size_t R>
__attribute__((always_inline)) inline void gemm_rows_kblock(const GemmArgs& g,
                                                            const float* arow0,
                                                            const float* arow1, std::size_t pc,
                                                            std::size_t kb, std::size_t j0,
                                                            std::size_t w, float* acc0,
                                                            float* acc1) {
  const std::size_t wv = w / kW * kW;
  for (std::size_t j = 0; j < w; ++j) acc0[j] = 0.0f;
  if (R == 2)
    for (std::size_t j = 0; j < w; ++j) acc1[j] = 0.0f;
  std::size_t p = pc;
  for (; p + 4 <= pc + kb; p += 4) {
    const vf a0 = splat(arow0[p * g.a_cs]), a1 = splat(arow0[(p + 1) * g.a_cs]),
             a2 = splat(arow0[(p + 2) * g.a_cs]), a3 = splat(arow0[(p + 3) * g.a_cs]);
    const vf c0 = splat(arow1[p * g.a_cs]), c1 = splat(arow1[(p + 1) * g.a_cs]),
             c2 = splat(arow1[(p + 2) * g.a_cs]), c3 = splat(arow1[(p + 3) * g.a_cs]);
    const float* b0 = g.b + static_cast<std::ptrdiff_t>(p) * g.b_rs + j0;
    const float* b1 = b0 + g.b_rs;
    const float* b2 = b1 + g.b_rs;
    const float* b3 = b2 + g.b_rs;
    // x + a0 y0 + a1 y1 + a2 y2 + a3 y3, one chain in that order (the tiles' order).
    const auto chain = [](vf x, vf u0, vf u1, vf u2, vf u3, vf y0, vf y1, vf y2, vf y3) {
      return fmadd(u3, y3, fmadd(u2, y2, fmadd(u1, y1, fmadd(u0, y0, x))));
    };
    auto step = [&](std::size_t j) {
      const vf y0 = load(b0 + j), y1 = load(b1 + j), y2 = load(b2 + j), y3 = load(b3 + j);
      store(acc0 + j, chain(load(acc0 + j), a0, a1, a2, a3, y0, y1, y2, y3));
      if (R == 2) store(acc1 + j, chain(load(acc1 + j), c0, c1, c2, c3, y0, y1, y2, y3));
    };
    std::size_t j = 0;
    // Prefetch, a cache line of each of four rows per line of this pass. Rows shorter than
    // a two-row chunk (8192 floats here): the next pass's four rows (the same columns),
    // their last line first (the rows need not start on a line), since the L1 prefetcher
    // starts over on every short row. Intel Xeon, 1 thread, two builds alternating, B in L2
    // (1 x 64-1024 x 64-2000 NN): +10% to +41% with AVX-512 and +12% to +30% with AVX2 (1
    // x 500 x 500 0.80x -> 1.12x of dnnl_sgemm, 1 x 1024 x 64 0.80x -> 1.07x, AVX2 1 x 512
    // x 1024 0.83x -> 1.04x). Longer rows: each row's own line 512 bytes ahead, which a W
    // from memory needs; the next pass's rows would be 128 KB and more ahead, past the
    // L1. Intel Xeon, 1 thread, this with the one-row chunk of an eighth of the L2 against
    // the next pass's rows and the L1 chunk: 1 x 10000-65536 x 256-4096 NN +4% to +24%
    // with AVX-512 and +5% to +29% with AVX2 (1 x 32000 x 1024 0.94x -> 1.0x of
    // dnnl_sgemm); each half alone gave +4% to +8% where W comes from memory. Rows of 4 KB
    // (1 x 1000 x 20000) ran 9% (AVX-512) and 14% (AVX2) slower with the in-row prefetch.
    const bool long_rows = w >= g.row_chunk;
    if (long_rows || p + 8 <= g.k) {
      const std::ptrdiff_t ahead =
          long_rows ? static_cast<std::ptrdiff_t>(512 / sizeof(float)) : 4 * g.b_rs;
      if (!long_rows) {
        __builtin_prefetch(b0 + ahead + (w - 1), 0, 3);
        __builtin_prefetch(b1 + ahead + (w - 1), 0, 3);
        __builtin_prefetch(b2 + ahead + (w - 1), 0, 3);
        __builtin_prefetch(b3 + ahead + (w - 1), 0, 3);
      }
      constexpr std::size_t kLine = 64 / sizeof(float) > kW ? 64 / sizeof(float) : kW;
      for (; j + kLine <= wv; j += kLine) {
        __builtin_prefetch(b0 + ahead + j, 0, 3);
        __builtin_prefetch(b1 + ahead + j, 0, 3);
        __builtin_prefetch(b2 + ahead + j, 0, 3);
        __builtin_prefetch(b3 + ahead + j, 0, 3);
#pragma GCC unroll 16
        for (std::size_t q = 0; q < kLine; q += kW) step(j + q);
      }
    }
    for (; j < wv; j += kW) step(j);
    if (j < w) {
      const std::size_t t = w - j;
      const vf y0 = load_partial(b0 + j, t), y1 = load_partial(b1 + j, t),
               y2 = load_partial(b2 + j, t), y3 = load_partial(b3 + j, t);
      store_partial(acc0 + j, chain(load_partial(acc0 + j, t), a0, a1, a2, a3, y0, y1, y2, y3),
                    t);
      if (R == 2)
        store_partial(acc1 + j,
                      chain(load_partial(acc1 + j, t), c0, c1, c2, c3, y0, y1, y2, y3), t);
    }
  }
  for (; p < pc + kb; ++p) {
    const float* b0 = g.b + static_cast<std::ptrdiff_t>(p) * g.b_rs + j0;
    for (std::size_t r = 0; r < R; ++r) {
      const vf a0 = splat((r == 0 ? arow0 : arow1)[p * g.a_cs]);
      float* const acc = r == 0 ? acc0 : acc1;
      std::size_t j = 0;
      for (; j < wv; j += kW) store(acc + j, fmadd(a0, load(b0 + j), load(acc + j)));
      if (j < w)
        store_partial(acc + j,
                      fmadd(a0, load_partial(b0 + j, w - j), load_partial(acc + j, w - j)),
                      w - j);
    }
  }
}

/// The store mode of k block b (0-based) of C, for every path.
inline int gemm_store_mode(const GemmArgs& g, std::size_t b) {
  return b != 0 || g.beta == 1.0f ? kStoreAccumulate
         : g.beta == 0.0f         ? kStoreAssign
                                  : kStoreScale;
}

/// w columns of a row of C from cc on, after a k block whose sums are acc: the tiles' store.
__attribute__((always_inline)) inline void gemm_rows_store(const GemmArgs& g, const float* acc,
                                                           float* cc, std::size_t w, int mode) {
  const vf va = splat(g.alpha), vb = splat(g.beta);
  for (std::size_t j = 0; j < w; j += kW) {
    const std::size_t t = w - j < kW ? w - j : kW;
    const vf x = t == kW ? load(acc + j) : load_partial(acc + j, t);
    vf y;
    if (mode == kStoreAssign) y = va * x;
    else if (mode == kStoreAccumulate)
      y = fmadd(va, x, t == kW ? load(cc + j) : load_partial(cc + j, t));
    else y = fmadd(va, x, vb * (t == kW ? load(cc + j) : load_partial(cc + j, t)));
    if (t == kW) store(cc + j, y);
    else store_partial(cc + j, y, t);
  }
}

/// Where a row pass keeps its sums in the workspace ws, for B's columns from bcol on (then
/// per row of C a chunk's floats, a multiple of 1024): half a page away from the rows of B in
/// address bits 11:0. A load whose low 12 address bits overlap a store still in flight waits
/// for it (4K aliasing), and every B load would follow the store of the same columns of the
/// sums when B's rows start where the workspace does plus 16 bytes (a large malloc's offset; a
/// 64-byte-aligned workspace). AVX2 on Zen 3, 1 x 1024 x 1024: 20 GFLOPS with the workspace at
/// B's page offset minus 16 bytes, 34 half a page away.
inline float* gemm_rows_sums(float* ws, const float* bcol) {
  const auto page_off = [](const void* q) {
    return static_cast<std::size_t>(reinterpret_cast<std::uintptr_t>(q) & 4095u);
  };
  const std::size_t want = (page_off(bcol) + 2048u) & ~std::size_t{63};
  return ws + ((want - page_off(ws)) & 4095u) / sizeof(float);
}

/// The epilogue of C's tiles from g (fn null where there is none).
inline GemmEpilogueCall gemm_epilogue_call(const GemmArgs& g) {
  GemmEpilogueCall epi{nullptr, g.bias, g.bias_mode, g.act_alpha};
  if (g.act >= 0 || g.bias_mode != BiasMode::none) epi.fn = epilogue_fn(g.act);
  return epi;
}

/// Column tiles (gemm_ukr_cols) where the last vector of columns is at most kColsMaxW wide
/// (three quarters of a vector), all those columns in one tile: AVX-512 and AVX2 (the 4-float
/// vectors of SSE2 and NEON and the scalar path keep their one-vector tiles).
constexpr std::size_t kColsMaxW = kW >= 8 ? kW * 3 / 4 : 0;

/// Columns of a block of `rows` rows over A stored transposed and read in place that go to column
/// tiles: its last nb % kW columns where they are 1 to kColsMaxW and the rows fill a vector (0:
/// none). The block driver and the small path (which leaves such blocks to the block driver)
/// ask the same question.
inline std::size_t gemm_cols_tail(bool a_transposed, std::size_t nb, std::size_t rows) {
  const std::size_t wt = nb % kW;
  return a_transposed && wt <= kColsMaxW && rows >= kW ? wt : 0;
}

/// Rows [0, nrows) of J columns: tiles of gemm_cols_v(J) vectors of rows, then 4, 2 and 1
/// vectors, then a partial vector. Out of line: inlined into gemm_block_impl, its twelve
/// instances (AVX-512) had GCC store the addresses of their operands for their tile lambdas at
/// every block call, whether column tiles ran or not, 300 instructions that took a quarter of an
/// 8 x 8 x 8 product's time.
template <int J>
__attribute__((noinline)) void gemm_cols_rows(std::size_t kb, const float* a, std::ptrdiff_t a_cs,
                                              const float* b, std::ptrdiff_t b_rs,
                                              std::ptrdiff_t b_cs, std::size_t nrows, float* c,
                                              std::size_t ldc, const GemmTileStore* st) {
  constexpr int V = gemm_cols_v(J);
  std::size_t i = 0;
  // Tile fn over rows [i, i + rows), then past them.
  auto tile = [&](auto fn, std::size_t rows) {
    fn(kb, a + i, a_cs, b, b_rs, b_cs, rows, c + i * ldc, ldc, st);
    i += rows;
  };
  while (i + V * kW <= nrows) tile(&gemm_ukr_cols<V, J, false>, V * kW);
  if constexpr (V > 4)
    if (i + 4 * kW <= nrows) tile(&gemm_ukr_cols<4, J, false>, 4 * kW);
  if constexpr (V > 2)
    if (i + 2 * kW <= nrows) tile(&gemm_ukr_cols<2, J, false>, 2 * kW);
  if constexpr (V > 1)
    if (i + kW <= nrows) tile(&gemm_ukr_cols<1, J, false>, kW);
  if (i < nrows) tile(&gemm_ukr_cols<1, J, true>, nrows - i);
}

/// gemm_cols_rows<jn> for a run-time 1 <= jn <= kColsMaxW.
template <int J = 1>
inline void gemm_cols(int jn, std::size_t kb, const float* a, std::ptrdiff_t a_cs, const float* b,
                      std::ptrdiff_t b_rs, std::ptrdiff_t b_cs, std::size_t nrows, float* c,
                      std::size_t ldc, const GemmTileStore* st) {
  if constexpr (J <= static_cast<int>(kColsMaxW)) {
    if (jn == J) gemm_cols_rows<J>(kb, a, a_cs, b, b_rs, b_cs, nrows, c, ldc, st);
    else gemm_cols<J + 1>(jn, kb, a, a_cs, b, b_rs, b_cs, nrows, c, ldc, st);
  }
}

/// The small path (GemmTable::small; see GemmSmallFn for what it takes): column panels of v
/// vectors, each split among row tiles of even height, every tile a gemm_ukr_small over A and B
/// in place (a transposed B packed first; v and the tiles' height chosen below), k block by k
/// block where k is longer than kc (src/gemm.cpp decides when). It leaves to the
/// block driver the few columns against many rows that its dot tiles and column tiles serve with
/// every lane live, a transposed B that its dot tiles read as it is (x W^T at batch 1-4, few
/// columns from k = 128), and tiles of fewer than kMinChains accumulators over more than 32
/// steps of k (latency-bound; the block driver's wide tiles and one-row path keep more chains in
/// flight).
inline bool gemm_small_impl(const GemmArgs& g, float* ws) {
  // B stored transposed: x W^T at batch 1-4, and few columns (up to three quarters of a vector)
  // from k = 128 on, stay on the dot tiles, which read B's rows along k as they are (AVX-512, 1
  // thread, against the small tiles over B packed: 9 x 8 x 159 NT 1.57x, 32 x 10 x 256 NT 1.22x).
  if (g.b_cs != 1 && (g.m <= 4 || (g.n <= kColsMaxW && g.k >= 128))) return false;
  // Few columns against more than 4 rows: the dot tiles up to a quarter of a vector of columns
  // (12 x 2 x 256 NN ran 37% slower on the small tiles, 32 x 3 x 100 23%: AVX-512, 1 thread),
  // and up to half of one from k = 128 on beyond 32 rows (against the small tiles: 64-128 x 8 x
  // 128-256 and 100 x 8 x 128 0.79-0.84x, 9-32 x 8 x 128-256 1.29-2.5x; AVX2 9-12 x 4 x
  // 128-159 1.36-1.63x).
  if (g.m > 4 && (g.n * 4 <= kW || (g.n * 2 <= kW && g.k >= 128 && g.m > 32))) return false;
  const bool at = g.a_cs != 1;  // A stored transposed (a_rs == 1)
  if (gemm_cols_tail(at, g.n, g.m) != 0) return false;
  // Tiles of v vectors (up to twice the main tile's) and as many rows as their accumulators leave
  // registers for (AVX-512: 24 rows of one vector, 14 of two, 9 of three, 6 of four; AVX2: 12,
  // 6, 4, 2; row-major A at most 16), the rows shared evenly among ceil(m / rows) tiles; of
  // those the v whose tiles take the fewest cycles per step of k in a simple model: a tile of r
  // rows and w vectors takes the longest of its multiply-adds (r w / 2: two pipes), its loads
  // (r broadcasts and w vectors of B, two a cycle) and the multiply-add latency (4 cycles, plus
  // one: a tile of exactly 8 chains needs every issue slot), summed over the row tiles and the
  // column panels (the last of nv mod v vectors); on a tie the one with more chains per tile.
  // Row-major A at most 16 rows: each row a stream of its own; Intel Xeon, AVX-512, 1 thread,
  // 20-24 rows of one vector ran 13-19% slower than 10-12, while 16 ran 12% faster than 8 + 8.
  const std::size_t nv = (g.n + kW - 1) / kW;
  const std::size_t vtop = nv < static_cast<std::size_t>(kSmallV) ? nv : kSmallV;
  auto step_cost = [](std::size_t r, std::size_t w) {  // in half cycles
    const std::size_t fma = r * w, ld = r + w, lat = 10;
    return fma > ld ? (fma > lat ? fma : lat) : (ld > lat ? ld : lat);
  };
  std::size_t v0 = 0, tiles = 1, r0 = 0, best = 0;
  for (std::size_t v = 1; v <= vtop; ++v) {
    const std::size_t rfit = static_cast<std::size_t>(kGemmSmallRows.r[v]);
    const std::size_t rmax = !at && rfit > 16 ? 16 : rfit;
    const std::size_t t = g.m <= rmax ? 1 : (g.m + rmax - 1) / rmax;
    const std::size_t r = t == 1 ? g.m : (g.m + t - 1) / t;
    const std::size_t rem = nv % v;
    const std::size_t cost =
        t * ((nv / v) * step_cost(r, v) + (rem != 0 ? step_cost(r, rem) : 0));
    if (v0 == 0 || cost < best || (cost == best && r * v > r0 * v0)) {
      v0 = v;
      tiles = t;
      r0 = r;
      best = cost;
    }
  }
  // Rows per tile: per, and one more for the first `extra` tiles.
  std::size_t per = g.m, extra = 0;
  if (tiles > 1) {
    per = g.m / tiles;
    extra = g.m % tiles;
  }
  if (r0 * v0 < kMinChains && g.k > 32) return false;
  // More than one k block: the last panel's tiles too (nv mod v0 vectors) keep kMinChains
  // chains (3 x 80 x 1000 TN, AVX-512: a 3 x 16 panel over 1000 steps ran 10% slower).
  if (g.k > kKC && nv % v0 != 0 && per * (nv % v0) < kMinChains) return false;
  const std::size_t NR = v0 * kW;
  // B stored transposed (b_rs == 1, the x W^T of a layer's forward pass) is packed first into
  // panels of NR columns (gemm_pack_b: in-register transposes, zero-padded), which the tiles
  // then read at row stride NR; the caller's workspace holds kc x nc floats.
  const bool pack = g.b_cs != 1;
  if (pack) {
    if (g.k * ((g.n + NR - 1) / NR * NR) > kKC * static_cast<std::size_t>(kBlocking.nc))
      return false;
    gemm_pack_b(ws, g.b, g.b_rs, g.b_cs, g.k, g.n, NR);
  }
  const GemmEpilogueCall epi = gemm_epilogue_call(g);
  GemmTileStore st{NR, g.alpha, g.beta, gemm_store_mode(g, 0)};
  const std::ptrdiff_t a_rt = at ? g.a_cs : g.a_rs;  // the kernels' run-time stride of A
  const std::size_t kstep = gemm_kstep(g.k);
  for (std::size_t jr = 0; jr < g.n; jr += NR) {
    const std::size_t w = g.n - jr < NR ? g.n - jr : NR;
    st.ncols = w;
    const std::size_t v = (w + kW - 1) / kW;
    for (std::size_t t = 0, i = 0; t < tiles; ++t) {
      const std::size_t r = per + (t < extra ? 1 : 0);
      float* ct = g.c + i * g.ldc + jr;
      const GemmUkrFn f = ukr_small_for(at ? 1 : 0, v, r);
      const float* at0 = g.a + static_cast<std::ptrdiff_t>(i) * g.a_rs;
      const float* bt0 = pack ? ws + jr * g.k : g.b + jr;
      const std::ptrdiff_t brs = pack ? static_cast<std::ptrdiff_t>(NR) : g.b_rs;
      if (g.k <= kstep) {
        f(g.k, at0, a_rt, bt0, brs, ct, g.ldc, &st);
      } else {  // the formula's k blocks, C kept between them as the block driver keeps it
        for (std::size_t pc = 0, b = 0; pc < g.k; pc += kstep, ++b) {
          st.mode = gemm_store_mode(g, b);
          f(g.k - pc < kstep ? g.k - pc : kstep, at0 + static_cast<std::ptrdiff_t>(pc) * g.a_cs,
            a_rt, bt0 + static_cast<std::ptrdiff_t>(pc) * brs, brs, ct, g.ldc, &st);
        }
      }
      if (epi.fn) epi(ct, g.ldc, i, jr, r, w);
      i += r;
    }
  }
  return true;
}

inline void gemm_block_impl(const GemmArgs& g, std::size_t m0, std::size_t m1, std::size_t n0,
                            std::size_t n1, float* ws) {
  constexpr std::size_t MR = kMR, NR = kNV * kW, KC = kKC;
  const std::size_t MC = g.mc;  // chosen per CPU by src/gemm.cpp (not in the formula)
  const std::size_t kstep = gemm_kstep(g.k);
  // Columns per block of B: g.nc at a full k block (kc x nc floats of workspace, in L2). Where
  // the block-packing loop runs (more than kFewRows rows), a k block shorter than kc/2 widens
  // it to fill half of those floats, up to the whole width, so that a row tile sweeps longer
  // runs of each row of C (at g.nc = 1024 a row of a block is one 4 KB page, and the hardware
  // prefetcher starts over on every row of every tile). Intel Xeon, 1 thread, against
  // dnnl_sgemm: AVX-512 1024-4096 x 2048-4096 x 16 0.79-0.85x -> 0.88-0.94x, x 32 0.86-0.90x
  // -> 0.92-0.95x, AVX2 x 4096 x 16-64 +4-6%, 2 threads +3-10%. Filling all kc x nc floats
  // (1 MB) lost 4-11% at k = 64 (1000-1024 x 4096 x 64, and 8 x 4096 x 64 NT, whose one row
  // tile waited for a 1 MB block of B), and the few-rows loop, which packs B panel by panel,
  // lost up to 17% with it (AVX2 100 x 4096 x 16).
  const std::size_t nc_wide =
      kstep < KC && m1 - m0 > kFewRows ? KC * g.nc / 2 / kstep / NR * NR : g.nc;
  const std::size_t NC = nc_wide > g.nc ? nc_wide : g.nc;
  if (m0 >= m1 || n0 >= n1) return;
  const GemmEpilogueCall epi = gemm_epilogue_call(g);
  const std::size_t ldc = g.ldc;

  if (g.k == 0 || g.alpha == 0.0f) {
    for (std::size_t i = m0; i < m1; ++i) {
      float* cr = g.c + i * ldc + n0;
      gemm_scale_block(cr, ldc, 1, n1 - n0, g.beta);
      if (epi.fn) epi(cr, ldc, i, n0, 1, n1 - n0);
    }
    return;
  }

  if (g.dot) {  // few rows, B transposed: dot products along k, each row of B streamed once
    const int mode = gemm_store_mode(g, 0);
    GemmTileStore st{0, g.alpha, g.beta, mode};
    // The tile, R rows x J columns (one vector of sums, gemm_dot).
    GemmDotFn dot = nullptr;
    std::size_t R = 4, J = 1;
    // Many rows and few columns (src/gemm.cpp: 8- and 16-float vectors only): tiles of kW x 1,
    // kW/2 x 2 or kW/4 x 4, the last rows and columns of fewer.
    if constexpr (kW >= 8) {
      if (g.m > 4) {
        constexpr int kW1 = static_cast<int>(kW), kW2 = kW1 / 2, kW4 = kW1 / 4;
        const std::size_t nc = n1 - n0;
        dot = nc == 1 ? &gemm_dot<kW1, 1> : nc == 2 ? &gemm_dot<kW2, 2> : &gemm_dot<kW4, 4>;
        J = nc == 1 ? 1 : nc == 2 ? 2 : 4;
        R = kW / J;
      }
    }
    if (!dot) {  // at most 4 rows, all in one tile
      // kW columns for one row, kW / 2 for two, kW / 4 for three or four, where the rows of B
      // are short; over more than 512 steps of k at most 8 rows of A and B together (more
      // streams than the prefetchers follow): Intel Xeon, AVX-512, 1 thread, 16 columns for one
      // row against 8: 1 x 512-4096 x 64-256 +8-20%, 1 x 64-4096 x 1024-4096 -4% to -28%.
      const std::size_t r = m1 - m0;
      const bool long_k = g.k > 512;
      constexpr int kJ1 = static_cast<int>(kW), kJ2 = kW >= 2 ? kJ1 / 2 : 1;
      constexpr int kJ4 = kW >= 4 ? kJ1 / 4 : 1;
      constexpr int kJ1L = kJ1 < 8 ? kJ1 : 8, kJ2L = kJ2 < 4 ? kJ2 : 4;
      int cols = kJ4;
      dot = &gemm_dot<4, kJ4>;
      if (r == 1) {
        dot = long_k ? &gemm_dot<1, kJ1L> : &gemm_dot<1, kJ1>;
        cols = long_k ? kJ1L : kJ1;
      } else if (r == 2) {
        dot = long_k ? &gemm_dot<2, kJ2L> : &gemm_dot<2, kJ2>;
        cols = long_k ? kJ2L : kJ2;
      }
      J = static_cast<std::size_t>(cols);
    }
    // Each row of B a stream of its own, prefetched ahead by the tile with 16-float vectors (Zen
    // 5: the hardware prefetchers followed 8 such streams poorly); with 8 and 4 floats the same
    // prefetch made Zen 3 slower (1 x 4096 x 4096 against B^T: 0.73x of dnnl_sgemm with it, 1.0x
    // without; SSE2 0.60x and 0.85x), so those vector widths leave it to the hardware. 512 floats
    // ahead where k is over 1024 (B from memory: 2 x 4096 x 4096 NT -4.7% at 64). On shorter rows
    // that line is in the tile's next row, streamed already, and the prefetches cost 6-8% (1 x
    // 500 x 500 NT, 256 x 4 x 256 NT, 1 x 1024 x 256 NT); there two to four rows, which read each
    // row of B once, prefetch 64 floats (4 lines) ahead from k = 129 on (Intel Xeon, 1 thread,
    // against none, B in L2: 2 x 500 x 500 NT +12%, 3 x 500 x 500 +11%, 2 x 384 x 1000 +18-22%,
    // 2 x 256 x 256 +9%, 4 x 1000 x 1000 +1.4%). Not one row (1 x 500 x 500 NT -3.5%, 1 x 1024 x
    // 256 -2.4%) nor more than four, which re-read B (4 to 16 of its rows) once per row tile from
    // L1 (256 x 4 x 256 NT -7.5%).
    if constexpr (kW >= 16) {
      if (g.k > 1024) st.dot_ahead = 512;
      else if (g.m <= 4 && m1 - m0 >= 2 && g.k > 128) st.dot_ahead = 64;
    }
    const float* bt = g.b + static_cast<std::ptrdiff_t>(n0) * g.b_cs;
    std::ptrdiff_t ldbt = g.b_cs;
    if (g.dot_pack_b) {  // B row-major: its columns [n0, n1) as rows of the workspace
      for (std::size_t p = 0; p < g.k; ++p) {
        const float* br = bt + static_cast<std::ptrdiff_t>(p) * g.b_rs;
        for (std::size_t j = 0; j < n1 - n0; ++j) ws[j * g.k + p] = br[j];
      }
      bt = ws;
      ldbt = static_cast<std::ptrdiff_t>(g.k);
    }
    for (std::size_t i = m0; i < m1; i += R) {
      const std::size_t r = m1 - i < R ? m1 - i : R;
      for (std::size_t j = n0; j < n1; j += J) {
        const std::size_t w = n1 - j < J ? n1 - j : J;
        float* ct = g.c + i * ldc + j;
        dot(g.k, g.a + static_cast<std::ptrdiff_t>(i) * g.a_rs, g.a_rs,
            bt + static_cast<std::ptrdiff_t>(j - n0) * ldbt, ldbt, r, w, ct, ldc, &st);
        if (epi.fn) epi(ct, ldc, i, j, r, w);
      }
    }
    return;
  }

  // One or two rows of C against row-major B read in place (the GEMV-like x W): a row of sums
  // per row of C kept in the workspace, k block by k block (gemm_rows_kblock), each folded
  // into C by the tiles' store.
  auto rows_pass = [&](auto two_tag) __attribute__((always_inline)) {
    constexpr std::size_t R = decltype(two_tag)::value ? 2 : 1;
    // Columns per chunk. Two rows: as many partial sums as take about two thirds of the L1 data
    // cache (GemmArgs::row_chunk, 8192 floats in a 48 KB L1, 4096 in 32 KB), so that a wide W is
    // streamed in as few passes as the L1 allows. Intel Xeon (48 KB), 1 thread, 8192 against
    // 4096 columns, separate runs alternating: 1 x 6144-32000 x 512-4096 NN +1.3% to +7.2% with
    // AVX-512 and +2.8% to +5.4% with AVX2 (1 x 32000 x 1024 +6.3% / +4.3%), 1 x 4096 x 4096
    // unchanged. One row: an eighth of the L2 (GemmArgs::wide_chunk, 32768 floats in 2 MB), its
    // sums then read and written in L2 once per four rows of B: each row of a W too large for the
    // caches comes in as one long run instead of 32 KB pieces 128 KB apart, which the memory
    // streams better (with the in-row prefetch below, see there for the figures).
    const std::size_t CH = R == 1 ? g.wide_chunk : g.row_chunk / 2;
    float* const acc0 = gemm_rows_sums(ws, g.b + static_cast<std::ptrdiff_t>(n0));
    float* const acc1 = acc0 + CH;  // CH a multiple of 1024: the same page offset
    const float* const arow0 = g.a + static_cast<std::ptrdiff_t>(m0) * g.a_rs;
    const float* const arow1 = arow0 + (R == 2 ? g.a_rs : 0);
    float* crow = g.c + m0 * ldc;
    for (std::size_t j0 = n0; j0 < n1; j0 += CH) {
      const std::size_t w = n1 - j0 < CH ? n1 - j0 : CH;
      for (std::size_t pc = 0, b = 0; pc < g.k; pc += kstep, ++b) {
        const std::size_t kb = g.k - pc < kstep ? g.k - pc : kstep;
        gemm_rows_kblock<R>(g, arow0, arow1, pc, kb, j0, w, acc0, acc1);
        const int mode = gemm_store_mode(g, b);
        gemm_rows_store(g, acc0, crow + j0, w, mode);
        if (R == 2) gemm_rows_store(g, acc1, crow + ldc + j0, w, mode);
      }
      if (epi.fn) epi(crow + j0, ldc, m0, j0, R, w);
    }
  };
  // Two rows share each pass over B (each B vector feeds both rows' sums) where C's rows are
  // 384 columns wide up to one chunk (two passes of half a chunk). Intel Xeon (chunk 8192), 1
  // thread, against the 2 x 12-vector wide tiles over B in place, two builds alternating (two
  // comparisons): AVX-512 2 x 384-8192 x 300-4096 NN -5% to +48% (+17-19% geo mean; 2 x 500 x
  // 500 0.73x -> 1.08x of dnnl_sgemm, 2 x 384 x 1024 0.80x -> 1.15x), AVX2 -5% to +65% (+7-11%;
  // 2 x 4096 x 4096 1.59x -> 2.62x). Narrower rows favour the tiles on AVX2 (2 x 48-256 x
  // 256-512, the same build: -12% to -34%) and wider ones on AVX-512 (2 x 32000 x 1024 -18%:
  // half the columns per pass). The lambda is inlined by force: called out of line, the
  // one-row instance ran 6-13% slower on short rows (1 x 64-200 x 256-1000), its captured
  // operands reloaded after every store.
  const std::size_t rb = m1 - m0, cb = n1 - n0;
  if (g.unpacked_b && g.b_cs == 1 && (rb == 1 || (rb == 2 && cb >= 384 && cb <= g.row_chunk))) {
    if (rb == 1) rows_pass(GemmBoolTag<false>{});
    else rows_pass(GemmBoolTag<true>{});
    return;
  }

  float* const wa = ws;                        // MC x KC
  float* const wb = ws + MC * KC;              // KC x g.nc (nc a multiple of NR)
  float* const we = wb + KC * g.nc;            // kGemmEdgeFloats: the edge tiles' accumulators
  const bool a_ip = g.a_cs == 1;               // rows of A contiguous: copy rows, no transpose
  // Row-major A is read in place by the block loop (GemmArgs::unpacked_a_tall, src/gemm.cpp):
  // there each row tile's A stays in L1 across the column panels, so the copy buys nothing. The
  // few-rows loop re-reads every row tile's A from L2 for each panel of B, and a contiguous
  // copy serves that better: 100-192 x 1024-4096 x 1024-4096 NN ran 2-8% slower in place
  // (Intel Xeon, AVX-512, 1 thread; 192 x 4096 x 4096 -8%, its rows 16 KB apart).
  const bool a_inplace = (g.unpacked_a && (g.a_cs == 1 || g.a_rs == 1)) ||
                         (g.unpacked_a_tall && m1 - m0 > kFewRows);
  const bool b_inplace = g.unpacked_b && g.b_cs == 1;
  // Whole panels of row-major B are packed by the first row tile over them, which reads them in
  // place and stores each row to the panel as it computes (no packing pass), where the rows of
  // B fall on 16 sets or more: at a 4 KB multiple every row of the panel maps to one L1 set (and
  // a few L2 sets), the tile's in-place prefetch and the next panel's prefetch evict each other,
  // and the tile waits on memory every k step (32 x 4096 x 1024 on Zen 3: that tile took as long
  // as three others; 0.93x of OpenBLAS fused, 1.0x with the packing pass). The packing pass's
  // loads have no arithmetic between them and overlap their misses. A small B (kFuseSmallB
  // floats or fewer: it comes from L2, not memory) is packed that way at any stride (AVX-512).
  const bool fuse_pack =
      g.b_cs == 1 && (g.b_rows_spread || (kFuseSmallB > 0 && g.k * g.n <= kFuseSmallB));
  const int afmt = !a_inplace ? (a_ip ? kAip : kApi) : g.a_cs == 1 ? kAinplace : kAinplaceT;
  // The run-time stride the in-place kernels take: A's row stride, or its column stride.
  const std::ptrdiff_t a_rt = afmt == kAinplaceT ? g.a_cs : g.a_rs;
  // The A operand of the row tile at row ir of the block (A in place, or its packed panel), the
  // store parameters of a tile, and the kernel for a tile over a packed B panel (one vector of
  // columns when the panel's live columns fit one).
  auto a_tile = [&](const float* blk, std::size_t ir) {
    return a_inplace ? blk + static_cast<std::ptrdiff_t>(ir) * g.a_rs : wa + ir * KC;
  };
  auto tile_store = [&](std::size_t ncols, int mode) {
    GemmTileStore st{ncols, g.alpha, g.beta, mode};
    st.stream = g.stream_c;
    st.pf_a = g.prefetch_a;
    st.no_pf_b = kPfBMaxRows > 0 && m1 - m0 >= kPfBMaxRows;
    st.edge = we;
    return st;
  };
  auto packed_ukr = [&](GemmUkrFn uk, std::size_t r, std::size_t w) {
    return w <= kW && r <= MR ? ukr_v1_for(afmt, r) : uk;
  };

  for (std::size_t ic = m0; ic < m1; ic += MC) {
    const std::size_t mb = m1 - ic < MC ? m1 - ic : MC;
    // The block's row tiles: mr rows each, except that a last tile too short to hide the
    // multiply-add latency (fewer than kMinChains accumulators) shares the last mr + rem rows
    // evenly with the tile before it: 128 rows on AVX2 end in 4 + 4 rows, not 6 + 2 (a 2 x 16
    // tile has 4 chains). Packing A and every loop below follow it. A block of C one vector wide
    // runs only one-vector tiles, a chain per row; where they have no two-tile form
    // (ukr_v1_pair_for: AVX-512, NEON) its rows count as such: AVX-512 64 x 16 x 64 ends in 8 + 8
    // rows, not 12 + 4 (Intel Xeon, 1 thread: 28 x 16 x 512 NN +4%, 64 x 16 x 64 TN +1.6%).
    const std::size_t rem = mb % MR;
    const std::size_t chains_per_row =
        n1 - n0 <= kW && !ukr_v1_pair_for(afmt) ? 1 : static_cast<std::size_t>(kNV);
    const std::size_t split_at =
        rem != 0 && mb > MR && rem * chains_per_row < kMinChains ? mb - rem - MR : mb;
    const std::size_t split_rows = (MR + rem + 1) / 2;
    auto rows_at = [&](std::size_t ir) -> std::size_t {
      if (ir == split_at) return split_rows;
      return mb - ir < MR ? mb - ir : MR;
    };
    // Columns of C per slab: every k block of one slab of C, then the next slab. A block of up
    // to 512 rows (on a 2 MB L2) with A read in place, B stored transposed and several k blocks
    // goes in slabs whose C takes a quarter of the L2 (at least 256 columns): each k block then
    // packs the transposed B of one slab (256-512 of its rows, 1 KB of each) instead of 1024 rows
    // 4 KB apart on few L2 sets, and C stays in L2 from one k block to the next. A is read once
    // per slab, so only while the block's whole A (all of k) fits the L2. An element's k blocks
    // still go in order (the same bits). Intel Xeon, two builds alternating, 1 thread, every
    // peer in turn: 256-512 x 1024-2048 x 1024 NT +1% to +4.7% with AVX-512 and +2.3% to +4.4%
    // with AVX2. Row-major B lost with slabs (NN -0.4% to -2.7%, 512^3 -2.7% with AVX-512),
    // although a one-process A/B had put them at +1-6%; blocks of 512 rows in slabs for larger
    // m (B packed again per block) lost 3-8% at 1024^3 to 4096 x 1024 x 1024.
    std::size_t slab = n1 - n0;
    if (a_inplace && g.b_rs == 1 && g.k > kstep && mb > kFewRows && mb * g.k <= g.l2_floats) {
      const std::size_t s = g.l2_floats / 4 / mb / NR * NR;
      if (s >= 256 && s < slab) slab = s;
    }
    for (std::size_t js = n0; js < n1; js += slab) {
      const std::size_t je = n1 - js < slab ? n1 : js + slab;
      for (std::size_t pc = 0; pc < g.k; pc += kstep) {
        const std::size_t kb = g.k - pc < kstep ? g.k - pc : kstep;
        const bool first = pc == 0, last = pc + kb == g.k;
        const int mode = gemm_store_mode(g, first ? 0 : 1);
        // Pack A rows [ic, ic+mb) x k [pc, pc+kb) into micro-panels, one per row tile (unless
        // in place).
        const float* ablk = g.a + static_cast<std::ptrdiff_t>(ic) * g.a_rs +
                            static_cast<std::ptrdiff_t>(pc) * g.a_cs;
        // A stored transposed (each k step a contiguous run) goes k-chunk by k-chunk across the
        // block's tiles (gemm_pack_a_pi_block), other strides tile by tile.
        if (!a_inplace && !a_ip && g.a_rs == 1)
          gemm_pack_a_pi_block(wa, KC, ablk, g.a_cs, mb, kb, rows_at);
        else if (!a_inplace)
          for (std::size_t ir = 0, r = 0; ir < mb; ir += r) {
            r = rows_at(ir);
            const float* src = ablk + static_cast<std::ptrdiff_t>(ir) * g.a_rs;
            if (a_ip) gemm_pack_a_ip(wa + ir * KC, src, g.a_rs, r, kb, KC);
            else gemm_pack_a_pi(wa + ir * KC, src, g.a_rs, g.a_cs, r, kb);
          }
        for (std::size_t jc = js; jc < je; jc += NC) {
          std::size_t nb = je - jc < NC ? je - jc : NC;
          // The block's last columns, where they fill at most three quarters of a vector and A
          // is stored transposed and read in place: column tiles (gemm_ukr_cols), the rows in
          // the lanes, instead of a vector of columns per row that is mostly padding. The rest
          // of the block is then a whole number of vectors wide (none: C narrower than that).
          // Intel Xeon, 1 thread, against the one-vector tiles (ratio to the best of dnnl_sgemm
          // and OpenBLAS): AVX-512 256 x 10 x 256 TN 0.84x -> 1.59x, 1024 x 10 x 512 0.79x ->
          // 1.52x, 128 x 4 x 128 0.28x -> 0.91x, 512 x 100 x 512 0.89x -> 1.07x, 100^3 0.86x ->
          // 1.0x; AVX2 1024 x 10 x 512 +21%, 128 x 4 x 128 2.3x, 784 x 10 x 64 +28%.
          if constexpr (kColsMaxW > 0) {
            const std::size_t wt = gemm_cols_tail(afmt == kAinplaceT, nb, mb);
            if (wt != 0) {
              nb -= wt;
              GemmTileStore st = tile_store(wt, mode);
              const float* bt = g.b + static_cast<std::ptrdiff_t>(pc) * g.b_rs +
                                static_cast<std::ptrdiff_t>(jc + nb) * g.b_cs;
              float* ct = g.c + ic * ldc + jc + nb;
              gemm_cols(static_cast<int>(wt), kb, ablk, g.a_cs, bt, g.b_rs, g.b_cs, mb, ct, ldc,
                        &st);
              if (last && epi.fn) epi(ct, ldc, ic, jc + nb, mb, wt);
              if (nb == 0) continue;
            }
          }
          const float* bblk = g.b + static_cast<std::ptrdiff_t>(pc) * g.b_rs +
                              static_cast<std::ptrdiff_t>(jc) * g.b_cs;
          // Full column panels are read in place when allowed; the rest is packed.
          const std::size_t n_inplace = b_inplace ? nb / NR * NR : 0;
          // A last panel of exactly one vector is read in place as well, by one-vector tiles
          // (which load no column past it), where B's rows fall on 16 L1 sets or more; packed,
          // it was copied into a zero-padded panel first.
          const std::size_t n_inplace_v =
              b_inplace && g.b_rows_spread && nb - n_inplace == kW ? nb : n_inplace;
          // A block narrower than a wide tile (4096 x 64 x 64): tiles of fewer rows and more
          // columns that cover the whole width, e.g. 6 x 64 on AVX-512, which load 10 operands per
          // 24 multiply-adds instead of the 12 x 32 tile's 14 and read each row of A once. Taken
          // only where the wide tile loads fewer operands per multiply-add than the main tile, and
          // where A is read in place or packed by rows ([p][i] panels hold exactly mr rows), and
          // where the k block of B it streams for every row tile stays in L1 (128^3 with 3 x 128
          // tiles over a 64 KB B ran at 0.7x of the 12 x 32 tiles), and with less than a vector of
          // padding (the main tiles with a one-vector last tile waste less).
          if (nb > NR && afmt != kApi) {
            std::size_t rw = 0, wn = 0;
            for (std::size_t r = MR - 1; r >= 1 && rw == 0; --r) {
              const std::size_t wv = static_cast<std::size_t>(wide_v(static_cast<int>(r)));
              if (wv * kW >= nb && wv * kW - nb < kW && kb * wv * kW <= kNarrowBFloats &&
                  (r + wv) * MR * kNV < (MR + kNV) * r * wv) {
                rw = r;
                wn = wv * kW;
              }
            }
            if (rw != 0) {
              const float* bsrc = bblk;
              std::ptrdiff_t brs = g.b_rs;
              if (!(b_inplace && nb == wn)) {  // one zero-padded panel wn wide
                gemm_pack_b(wb, bblk, g.b_rs, g.b_cs, kb, nb, wn);
                bsrc = wb;
                brs = static_cast<std::ptrdiff_t>(wn);
              }
              GemmTileStore st = tile_store(nb, mode);
              for (std::size_t ir = 0; ir < mb; ir += rw) {
                const std::size_t r = mb - ir < rw ? mb - ir : rw;
                const float* ap = a_tile(ablk, ir);
                float* ct = g.c + (ic + ir) * ldc + jc;
                ukr_narrow_for(afmt, rw, r)(kb, ap, a_rt, bsrc, brs, ct, ldc, &st);
                if (last && epi.fn) epi(ct, ldc, ic + ir, jc, r, nb);
              }
              continue;
            }
          }
          // Few row tiles over packed B: each panel is packed just before its tiles use it
          // (one panel of workspace, in L2), and the tiles prefetch the source of the next panel
          // into L2 as they compute, so that reading B from memory overlaps the arithmetic
          // instead of preceding it (a whole packed block would cost a memory-bound pass first).
          if (n_inplace_v == 0 && mb > MR && mb <= kFewRows && g.k * nb > kFewRowsMinB &&
              (g.b_cs == 1 || g.b_rs == 1)) {
            GemmTileStore st = tile_store(NR, mode);
            // Panels go in groups of G, packed and prefetched together: with AVX2's 16-float
            // panels a row of the group is two cache lines instead of one, so a 4 KB-multiple row
            // stride (every row a different page) costs half the misses per byte.
            const bool rows = g.b_cs == 1;
            const std::size_t G = rows && !fuse_pack && NR * sizeof(float) == 64 ? kPanelGroup : 1;
            const std::size_t GW = G * NR;
            // The next group's source as a walk of units of NR floats, runs of `run` units `step`
            // apart, each run `outer` after the last: its kb rows G units each (B row-major), or
            // its NR columns chunk by chunk (B transposed: columns contiguous, chunk-major);
            // spread over the G x tiles kernel calls of this group.
            const std::size_t units = rows ? G * kb : NR * ((kb + NR - 1) / NR);
            const std::size_t run = rows ? G : NR;
            const std::ptrdiff_t step = rows ? static_cast<std::ptrdiff_t>(NR) : g.b_cs;
            const std::ptrdiff_t outer = rows ? g.b_rs : static_cast<std::ptrdiff_t>(NR);
            const std::size_t tiles = (mb + MR - 1) / MR;
            const std::size_t per_call = (units + G * tiles - 1) / (G * tiles);
            st.pf_every = kb / per_call > 0 ? kb / per_call : 1;
            st.pf_rs = step;
            st.pf_wrap = run;
            st.pf_jump = outer - static_cast<std::ptrdiff_t>(run - 1) * step;
            for (std::size_t jr = 0; jr < nb; jr += GW) {
              const std::size_t gw = nb - jr < GW ? nb - jr : GW;
              // A whole panel packed by its first row tile (fuse_pack above; G = 1 then).
              const bool fused = fuse_pack && gw == NR && rows_at(0) == MR;
              if (!fused)
                gemm_pack_b(wb, bblk + static_cast<std::ptrdiff_t>(jr) * g.b_cs, g.b_rs, g.b_cs,
                            kb, gw, NR);
              const float* next = nullptr;
              if (jr + GW < nb) next = bblk + static_cast<std::ptrdiff_t>(jr + GW) * g.b_cs;
              else if (jc + NC < je)
                next = g.b + static_cast<std::ptrdiff_t>(pc) * g.b_rs +
                       static_cast<std::ptrdiff_t>(jc + NC) * g.b_cs;
              // The first group of the next k block, where that block is as long as this one
              // (the walk covers kb rows; a shorter last block would take it past B's end).
              else if (pc + 2 * kb <= g.k)
                next = g.b + static_cast<std::ptrdiff_t>(pc + kb) * g.b_rs +
                       static_cast<std::ptrdiff_t>(js) * g.b_cs;
              std::size_t call = 0;
              for (std::size_t j = jr; j < jr + gw; j += NR) {
                const std::size_t w = nb - j < NR ? nb - j : NR;
                const float* const panel = wb + (j - jr) * kb;
                st.ncols = w;
                for (std::size_t ir = 0, r = 0; ir < mb; ir += r, ++call) {
                  r = rows_at(ir);
                  const float* ap = a_tile(ablk, ir);
                  float* ct = g.c + (ic + ir) * ldc + jc + j;
                  // Call c prefetches units [c*per_call, (c+1)*per_call), one every pf_every
                  // steps.
                  const std::size_t u0 = call * per_call;
                  st.pf = nullptr;
                  if (next && u0 < units) {
                    st.pf = next + static_cast<std::ptrdiff_t>(u0 / run) * outer +
                            static_cast<std::ptrdiff_t>(u0 % run) * step;
                    st.pf_left = run - u0 % run;
                  }
                  if (fused && ir == 0) {
                    st.pack = wb;
                    ukr_pack_for(afmt, st.pf != nullptr)(kb, ap, a_rt, bblk + j, g.b_rs, ct, ldc,
                                                         &st);
                  } else {
                    const GemmUkrFn uk =
                        packed_ukr(st.pf ? ukr_pf_for(afmt, r) : ukr_for(afmt, false, r), r, w);
                    uk(kb, ap, a_rt, panel, static_cast<std::ptrdiff_t>(NR), ct, ldc, &st);
                  }
                  if (last && epi.fn) epi(ct, ldc, ic + ir, jc + j, r, w);
                }
              }
            }
            continue;
          }
          // Row-major B that is packed: its whole panels packed by the first row tile where
          // fuse_pack (above), the rest here.
          const std::size_t n_fused =
              n_inplace == 0 && fuse_pack && rows_at(0) == MR ? nb / NR * NR : 0;
          const std::size_t n_ready = n_inplace_v + n_fused;
          if (n_ready < nb)
            gemm_pack_b(wb + n_ready * kb, bblk + static_cast<std::ptrdiff_t>(n_ready) * g.b_cs,
                        g.b_rs, g.b_cs, kb, nb - n_ready, NR);
          // Few row tiles over B read in place: column panel outer, row tiles inner, so that
          // each panel of B comes from memory once and the next tiles find it in L1/L2.
          // Where a tile's rows can start on any row of A (A in place, or packed [i][p]), the
          // rows are shared evenly among ceil(mb / tall mr) tiles (the tallest tile the register
          // file holds: AVX-512 14 x 32, Intel Xeon 13 x 500 x 500 0.84x -> 0.91x of dnnl_sgemm,
          // 14 x 1000 x 1000 0.93x -> 1.14x), e.g. 13 rows on AVX2 as 5 + 4 + 4;
          // 12 + 1 rows ran at 0.88x of dnnl_sgemm on Zen 3 (13 x 500 x 500), the last row's
          // wide tile streaming all of B again. Packed [p][i] panels follow the block's tiles.
          if (n_inplace_v > 0 && mb > MR && mb <= kFewTilesInPlace * MR) {
            GemmTileStore st = tile_store(NR, mode);
            const bool even = afmt != kApi;
            constexpr std::size_t TMR = static_cast<std::size_t>(kTallMR);
            const std::size_t tiles = even ? (mb + TMR - 1) / TMR : (mb + MR - 1) / MR;
            std::size_t rows[kFewTilesInPlace];
            GemmUkrFn uks[kFewTilesInPlace], uks_v1[kFewTilesInPlace];
            for (std::size_t t = 0, ir = 0; t < tiles; ir += rows[t], ++t) {
              rows[t] = even ? mb / tiles + (t < mb % tiles ? 1 : 0) : rows_at(ir);
              uks[t] = ukr_tall_for(afmt, rows[t]);
              uks_v1[t] = ukr_tall_for<1>(afmt, rows[t]);
            }
            for (std::size_t jr = 0; jr < nb; jr += NR) {
              const std::size_t w = nb - jr < NR ? nb - jr : NR;
              st.ncols = w;
              for (std::size_t t = 0, ir = 0; t < tiles; ir += rows[t], ++t) {
                const std::size_t r = rows[t];
                const float* ap = a_tile(ablk, ir);
                float* ct = g.c + (ic + ir) * ldc + jc + jr;
                const bool ip = jr < n_inplace_v;
                const GemmUkrFn uk = w <= kW ? uks_v1[t] : uks[t];  // a panel of one vector
                uk(kb, ap, a_rt, ip ? bblk + jr : wb + jr * kb,
                   ip ? g.b_rs : static_cast<std::ptrdiff_t>(NR), ct, ldc, &st);
                if (last && epi.fn) epi(ct, ldc, ic + ir, jc + jr, r, w);
              }
            }
            continue;
          }
          // A last column panel of one vector runs on one-vector tiles: mr x 1 vector has too
          // few chains on AVX2 (6), so there two row tiles take it together (12 x 8), where their
          // rows lie at one stride (A in place or packed [i][p]): 1000 x 40 x 100 and 100^3.
          const GemmUkrFn uk_pair = ukr_v1_pair_for(afmt);
          bool pair_done = false;  // the previous row tile also computed this tile's last panel
          for (std::size_t ir = 0, r = 0; ir < mb; ir += r) {
            r = rows_at(ir);
            const bool pair_here = uk_pair && !pair_done && r == MR && ir + MR < mb &&
                                   rows_at(ir + MR) == MR;
            const bool skip_v1 = pair_done;
            pair_done = pair_here;
            const GemmUkrFn uk = ukr_for(afmt, false, r);
            const float* ap = a_tile(ablk, ir);
            float* crow = g.c + (ic + ir) * ldc;
            GemmTileStore st = tile_store(NR, mode);
            std::size_t jr = 0;
            // Few rows and B in place: wide tiles over long runs of each row of B.
            const std::size_t wv = static_cast<std::size_t>(wide_v(static_cast<int>(r)));
            if (b_inplace && wv > static_cast<std::size_t>(kNV)) {
              const GemmUkrFn ukw = ukr_for(afmt, true, r);
              const std::size_t wn = wv * kW;
              st.ncols = wn;
              for (; jr + wn <= n_inplace; jr += wn) {
                float* ct = crow + jc + jr;
                ukw(kb, ap, a_rt, bblk + jr, g.b_rs, ct, ldc, &st);
                if (last && epi.fn) epi(ct, ldc, ic + ir, jc + jr, r, wn);
              }
            }
            for (; jr < nb; jr += NR) {
              const std::size_t w = nb - jr < NR ? nb - jr : NR;
              st.ncols = w;
              float* ct = crow + jc + jr;
              std::size_t rows = r;
              if (jr < n_inplace) {
                uk(kb, ap, a_rt, bblk + jr, g.b_rs, ct, ldc, &st);
              } else if (ir == 0 && jr < n_fused) {
                st.pack = wb + jr * kb;
                ukr_pack_for(afmt, false)(kb, ap, a_rt, bblk + jr, g.b_rs, ct, ldc, &st);
              } else {
                // A packed panel, or the last panel of one vector read in place (n_inplace_v).
                const bool ip = jr < n_inplace_v;
                const float* bp = ip ? bblk + jr : wb + jr * kb;
                const std::ptrdiff_t bs = ip ? g.b_rs : static_cast<std::ptrdiff_t>(NR);
                if (w <= kW && (pair_here || skip_v1)) {
                  if (skip_v1) continue;
                  rows = 2 * MR;
                  uk_pair(kb, ap, a_rt, bp, bs, ct, ldc, &st);
                } else {
                  packed_ukr(uk, r, w)(kb, ap, a_rt, bp, bs, ct, ldc, &st);
                }
              }
              if (last && epi.fn) epi(ct, ldc, ic + ir, jc + jr, rows, w);
            }
          }
        }
      }
    }
  }
  if (g.stream_c) stream_fence();  // the caller (or the next thread) may read C right away
}

/// Folds the sums of k blocks [kb0, kb1) into C's rows [m0, m1) x columns [n0, n1): block b's
/// element (i, j) is sums[(b - kb0) * bstride + i * ld + j], each block's sums computed as in
/// the formula (alpha = 1, beta = 0: the block's chain exactly). Block by block in k order with
/// the store of the tiles, then the epilogue once kb1 is the last block: the same bits as one
/// call over all of k.
inline void gemm_fold_impl(const GemmArgs& g, const float* sums, std::size_t ld,
                           std::size_t bstride, std::size_t kb0, std::size_t kb1, std::size_t m0,
                           std::size_t m1, std::size_t n0, std::size_t n1) {
  const std::size_t nkb = gemm_kblocks(g.k, gemm_kstep(g.k));
  const GemmEpilogueCall epi = gemm_epilogue_call(g);
  constexpr std::size_t kCols = 1024;  // C's columns per round over the blocks (in L1)
  for (std::size_t i = m0; i < m1; ++i) {
    float* const crow = g.c + i * g.ldc;
    for (std::size_t j0 = n0; j0 < n1; j0 += kCols) {
      const std::size_t w = n1 - j0 < kCols ? n1 - j0 : kCols;
      for (std::size_t b = kb0; b < kb1; ++b)
        gemm_rows_store(g, sums + (b - kb0) * bstride + i * ld + j0, crow + j0, w,
                        gemm_store_mode(g, b));
      if (kb1 == nkb && epi.fn) epi(crow + j0, g.ldc, i, j0, 1, w);
    }
  }
}

/// Column sums of a row-major m x n matrix (see ColSumRowsFn): two partial sums per column
/// (even rows, odd rows), added at the end. Up to 4 vectors of columns in registers; wider
/// rows in chunks of kColSumChunk columns, each row's chunk one contiguous run added to two
/// rows of partial sums that stay in L1 (the same additions in the same order). Blocks of 4
/// vectors over all the rows read 256 bytes of each row and then jumped a row ahead: a 64 MB
/// dY (4096 x 4096) came from memory at 16 GB/s, against 29 for a plain read on this core.
constexpr std::size_t kColSumChunk = 1024;
inline void gemm_colsum_rows(std::size_t m, std::size_t n, const float* x, std::size_t ldx,
                             float beta, float* sums) {
  constexpr std::size_t CB = 4 * kW;
  if (n > CB) {
    alignas(64) float s0[kColSumChunk], s1[kColSumChunk];
    for (std::size_t j0 = 0; j0 < n; j0 += kColSumChunk) {
      const std::size_t w = n - j0 < kColSumChunk ? n - j0 : kColSumChunk;
      const std::size_t wv = w / kW * kW, t = w - wv;  // whole vectors, then t < kW columns
      for (std::size_t j = 0; j < w; j += kW) {
        store(s0 + j, splat(0.0f));
        store(s1 + j, splat(0.0f));
      }
      std::size_t i = 0;
      for (; i + 2 <= m; i += 2) {
        const float* xa = x + i * ldx + j0;
        const float* xb = xa + ldx;
        for (std::size_t j = 0; j < wv; j += kW) {
          store(s0 + j, load(s0 + j) + load(xa + j));
          store(s1 + j, load(s1 + j) + load(xb + j));
        }
        if (t) {
          store(s0 + wv, load(s0 + wv) + load_partial(xa + wv, t));
          store(s1 + wv, load(s1 + wv) + load_partial(xb + wv, t));
        }
      }
      if (i < m) {
        const float* xa = x + i * ldx + j0;
        for (std::size_t j = 0; j < wv; j += kW) store(s0 + j, load(s0 + j) + load(xa + j));
        if (t) store(s0 + wv, load(s0 + wv) + load_partial(xa + wv, t));
      }
      for (std::size_t j = 0; j < w; j += kW) {
        const std::size_t ww = w - j < kW ? w - j : kW;
        float* o = sums + j0 + j;
        vf r = load(s0 + j) + load(s1 + j);
        if (beta != 0.0f) {
          const vf old = load_partial(o, ww);
          r = beta == 1.0f ? r + old : r + splat(beta) * old;
        }
        store_partial(o, r, ww);
      }
    }
    return;
  }
  for (std::size_t j0 = 0; j0 < n; j0 += CB) {
    const std::size_t w = n - j0 < CB ? n - j0 : CB;
    const std::size_t nv = (w + kW - 1) / kW;
    const std::size_t last_w = w - (nv - 1) * kW;
    vf s0[4], s1[4];
    for (int v = 0; v < 4; ++v) s0[v] = s1[v] = splat(0.0f);
    auto row = [&](const float* xr, vf* s) {
      if (nv == 4 && last_w == kW) {
        for (int v = 0; v < 4; ++v) s[v] = s[v] + load(xr + v * kW);
      } else {
        for (std::size_t v = 0; v + 1 < nv; ++v) s[v] = s[v] + load(xr + v * kW);
        s[nv - 1] = s[nv - 1] + load_partial(xr + (nv - 1) * kW, last_w);
      }
    };
    std::size_t i = 0;
    for (; i + 2 <= m; i += 2) {
      row(x + i * ldx + j0, s0);
      row(x + (i + 1) * ldx + j0, s1);
    }
    if (i < m) row(x + i * ldx + j0, s0);
    for (std::size_t v = 0; v < nv; ++v) {
      const std::size_t ww = v + 1 == nv ? last_w : kW;
      float* o = sums + j0 + v * kW;
      vf r = s0[v] + s1[v];
      if (beta != 0.0f) {
        const vf old = load_partial(o, ww);
        r = beta == 1.0f ? r + old : r + splat(beta) * old;
      }
      store_partial(o, r, ww);
    }
  }
}

/// Column sums of a column-major m x n matrix: each column is contiguous; two vector partial
/// sums along the column, then a horizontal sum.
inline void gemm_colsum_cols(std::size_t m, std::size_t n, const float* x, std::size_t ldx,
                             float beta, float* sums) {
  for (std::size_t j = 0; j < n; ++j) {
    const float* col = x + j * ldx;
    vf s0 = splat(0.0f), s1 = splat(0.0f);
    std::size_t i = 0;
    for (; i + 2 * kW <= m; i += 2 * kW) {
      s0 = s0 + load(col + i);
      s1 = s1 + load(col + i + kW);
    }
    if (i + kW <= m) {
      s0 = s0 + load(col + i);
      i += kW;
    }
    if (i < m) s1 = s1 + load_partial(col + i, m - i);
    float r = hsum(s0 + s1);
    if (beta != 0.0f) r = beta == 1.0f ? r + sums[j] : r + beta * sums[j];
    sums[j] = r;
  }
}
