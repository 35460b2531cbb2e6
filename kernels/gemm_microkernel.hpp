// GEMM register-tile microkernels. Included inside the ISA namespace after simd.hpp.
//
// One kernel computes an R x (V*kW) tile of the row-major C:
//   acc[i][v] = sum_p A(i,p) * B(p, v*kW .. v*kW+kW)   (one fmadd chain per element, p ascending)
//   C = alpha*acc            (mode kStoreAssign: first k block with beta = 0; C is not read)
//   C = fmadd(alpha, acc, C) (mode kStoreAccumulate: beta = 1, or any later k block)
//   C = fmadd(alpha, acc, beta*C) (mode kStoreScale: first k block, other beta)
// A is broadcast element by element, A(i,p) = a[i*ARS + p*ACS] (ARS, ACS compile-time: the
// packed [p][i] panel has ARS = 1, ACS = R; the packed [i][p] panel ARS = kc, ACS = 1). A zero
// ARS or ACS is the stride a_rs given at run time: A read in place, row-major (ARS = 0, ACS = 1)
// or transposed (ARS = 1, ACS = 0). B is read as V vectors per k step from b + p*b_rs: a packed
// panel (b_rs = V*kW, zero-padded) or B itself (b_rs = ldb) when the caller reads B in place.
// Only the first `ncols` columns of the tile are loaded from or stored to C.
//
// Every path (full tile, edge tile, any R) evaluates the same formula per element, so the result
// does not depend on how C is cut into tiles or across threads.

/// k steps per pass of a tile's k loop (GCC unrolls it). AVX2: 4. Intel Xeon, 1 thread, two
/// builds alternating, against 2 (the other ISAs' count): 2048^3 +2-5%, 1024^3 +1-4%, 256^3
/// +4%, 1024 x 1024 x 256 TN +3-4%, 1024 x 4096 x 32 TN +2-6%, 4096 x 64 x 64 +2%; 8 steps
/// gained the same; 20 shapes (the README's) +2.4% geo mean on 1 thread (none below -0.6%),
/// +1.6% on 2. With AVX-512's 12 x 32 tile 4 steps was within the noise (-2% to +2.8%, +0.3%
/// geo mean over the same 20 shapes and again over 10).
#if defined(SIMDGRAD_ISA_AVX2)
constexpr int kKUnroll = 4;
#else
constexpr int kKUnroll = 2;
#endif

/// A block of at least this many rows of C (0: none) reads a B it takes in place without the
/// software prefetch of B below: its row tiles re-read each k block of B, which then comes from
/// L1 or L2, and the prefetches only take load slots (AVX2: two a k step beside 8 loads per 12
/// multiply-adds). Intel Xeon, AVX2, 1 thread, one build with and without: 4096 x 64 x 256
/// +6%, 1000 x 64 x 100 +6.5%, 2000 x 48 x 500 +6%, 700 x 100 x 1500 +5%, 500 x 80 x 80 +3%,
/// 4096 x 64 x 64 +2%, 512 x 64 x 4096 within the noise; 2 threads +2-5.6% on the same
/// shapes but 4096 x 64 x 256 (+0.5%). Fewer rows (B streamed once from memory) need it:
/// without, 24 x 1000 x 1000 ran 16% slower. AVX-512 (three prefetches beside 14 loads per 24
/// multiply-adds) was mixed without them (-2.3% to +3.2%), so it keeps them.
#if defined(SIMDGRAD_ISA_AVX2)
constexpr std::size_t kPfBMaxRows = 64;
#else
constexpr std::size_t kPfBMaxRows = 0;
#endif

/// A B of at most this many floats (0: none) whose rows fall on few L1 sets (a stride of a
/// multiple of 512 bytes) is still packed by the first row tile over each panel as it computes
/// (gemm_driver.hpp's fuse_pack), not by a packing pass: from L2 its reads do not wait on memory.
/// Intel Xeon, AVX-512, one build with a switch, medians of three, 1 thread: 128^3 +3.9%, 256^3
/// +3.2%, 300 x 256 x 200 +3.6%, 100 x 256 x 100 +3.1%, 512^2 x 128 +2.1%, 1024^2 x 64 and 2000
/// x 128 x 256 +1.5%, 1000 x 512 x 100 +0.1%; 2 threads -0.9% to +3.6%; the two builds
/// alternating: +1.3% to +4.4% (1 thread), 1024^2 x 64 TN +1.1% and +2.1%, larger B unchanged.
/// AVX2 packs such a B in groups of two panels in the few-rows loop, which a fused panel gives
/// up: 128^3 on two threads (64 rows each) ran 2.5-5.5% slower, so AVX2 keeps the packing pass.
#if defined(SIMDGRAD_ISA_AVX512)
constexpr std::size_t kFuseSmallB = std::size_t{1} << 16;
#else
constexpr std::size_t kFuseSmallB = 0;
#endif

/// Independent multiply-add chains a tile needs to hide the latency (2 FMA pipes x 4 cycles).
constexpr std::size_t kMinChains = 8;

/// k steps before the end of the k loop at which a tile prefetches its C lines into L1: about
/// 190 cycles of multiply-adds on either ISA (AVX-512's 12 x 32 tile takes 12 cycles a step,
/// AVX2's 6 x 16 six); a k block no longer than that prefetches C before its first step. AVX2
/// at 32 against 16, Intel Xeon, one build with a switch, medians of five: k = 32 (1024 x 4096
/// x 32 TN, 2048 x 2048 x 32 TN, 1024^2 x 32) +2.4% to +3.7% on 1 thread and +3.0% to +3.8% on
/// 2 (C's lines come from L3 or memory, and 16 steps of the short tile, about 100 cycles, did
/// not cover them); 4096 x 64 x 64, 128^3-2048^3, 1024^2 x 256 TN, 64 x 64 x 4096 TN within
/// -0.6% and +1.1% (2 threads: 128^3 -1.6%). AVX-512 at 8, 24 or 32: within -2.8% and +3.5%
/// with no direction.
#if defined(SIMDGRAD_ISA_AVX2)
constexpr std::size_t kCAhead = 32;
#else
constexpr std::size_t kCAhead = 16;
#endif

/// A compile-time flag passed to a generic lambda (the headers are included inside a namespace,
/// so <type_traits> is not at hand).
template <bool B>
struct GemmBoolTag {
  static constexpr bool value = B;
};
/// The same for a size.
template <std::size_t N>
struct GemmSizeTag {
  static constexpr std::size_t value = N;
};

constexpr int kStoreAssign = 0;
constexpr int kStoreAccumulate = 1;
constexpr int kStoreScale = 2;

/// How a finished tile is stored. Passed by pointer and read only after the k loop, so that
/// nothing but the accumulators, B and the broadcast occupies vector registers in the loop
/// (with alpha and beta in registers GCC spills a B vector on AVX-512's 12 x 32 tile).
struct GemmTileStore {
  std::size_t ncols;
  float alpha, beta;
  int mode;
  // kStoreAssign only: vector-aligned whole vectors of C go out as non-temporal stores and C is
  // not prefetched (C too large to stay in cache, written once).
  bool stream = false;
  // Second prefetch stream (kernels instantiated with PF = true only): the source of the B
  // panel the driver packs next, brought into L2 while this tile computes. Every pf_every-th
  // k step prefetches the V*kW floats at pf, then advances pf by pf_rs, or by pf_jump once
  // every pf_wrap advances (the first wrap after pf_left advances): a walk over the rows of
  // the next panel's source (rows of B), or over its columns chunk by chunk (B transposed).
  const float* pf = nullptr;
  std::ptrdiff_t pf_rs = 0, pf_jump = 0;
  std::size_t pf_wrap = 1, pf_left = 1, pf_every = 1;
  // Kernels instantiated with PK = true only: B is read in place and each k step's V vectors
  // are also stored to pack + p*V*kW, so that the tile packs the panel the next row tiles read.
  float* pack = nullptr;
  // Where an edge tile writes its accumulators for gemm_tile_store_edge: kGemmEdgeFloats floats
  // of the caller's workspace, 64-byte aligned.
  float* edge = nullptr;
  // Tiles over A stored transposed and read in place (ARS = 1, ACS = 0) prefetch the tile's run
  // of A kAheadA k steps ahead (GemmArgs::prefetch_a).
  bool pf_a = false;
  // B read in place without its software prefetch (kPfBMaxRows).
  bool no_pf_b = false;
  // Dot tiles (gemm_dot): floats ahead in each row of B to prefetch every k step: 0 (none), 64
  // or 512. An int after pf_a keeps the struct at 96 bytes: at 104 GCC zeroed each one the
  // driver builds with a rep stos, 13% of the driver's time in a 16^3 product with AVX2.
  int dot_ahead = 0;
};

/// The store of a tile with fewer than V*kW live columns, or streamed: out of line, from the
/// accumulators the kernel wrote to st->edge, row i's vector v at (i*V + v)*kW. (With the store
/// loop inline GCC kept the accumulators in a stack array and zeroed it on every call; with a
/// local copy passed by reference it wrote that copy on the full tiles' path too.)
template <int R, int V>
__attribute__((noinline)) void gemm_tile_store_edge(const float* __restrict acc,
                                                    float* __restrict c, std::size_t ldc,
                                                    const GemmTileStore* __restrict st) {
  const std::size_t ncols = st->ncols;
  const int mode = st->mode;
  const vf va = splat(st->alpha), vb = splat(st->beta);
  const bool stream = mode == kStoreAssign && st->stream;
  for (int i = 0; i < R; ++i) {
    float* cr = c + static_cast<std::size_t>(i) * ldc;
    for (int v = 0; v < V; ++v) {
      const std::size_t j = static_cast<std::size_t>(v) * kW;
      if (j >= ncols) break;
      const std::size_t w = ncols - j < kW ? ncols - j : kW;
      float* cp = cr + j;
      const vf x = load(acc + (i * V + v) * static_cast<int>(kW));
      vf r;
      if (mode == kStoreAssign) r = va * x;
      else if (mode == kStoreAccumulate) r = fmadd(va, x, load_partial(cp, w));
      else r = fmadd(va, x, vb * load_partial(cp, w));
      if (w == kW && stream && reinterpret_cast<std::uintptr_t>(cp) % (kW * sizeof(float)) == 0)
        store_stream(cp, r);
      else if (w == kW) store(cp, r);
      else store_partial(cp, r, w);
    }
  }
}

template <int R, int V, int ARS, int ACS, bool PF = false, bool PK = false>
void gemm_ukr(std::size_t kb, const float* __restrict a, std::ptrdiff_t a_rs,
              const float* __restrict b,
              std::ptrdiff_t b_rs, float* __restrict c, std::size_t ldc,
              const GemmTileStore* __restrict st) {
  vf acc[R][V];
#pragma GCC unroll 32
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) acc[i][v] = splat(0.0f);

  // Per k step the tile holds its R x V accumulators and either the V vectors of B's row with
  // one broadcast at a time (the main tiles: 12 + 2 + 1 of AVX2's 16 registers) or the R
  // broadcasts with one vector of B at a time, whichever fits the register file (AVX2's 3 x 4
  // wide tile needs 12 + 3 + 1; with B's 4 vectors GCC kept two accumulators on the stack).
  constexpr bool kBroadcastFirst = R * V + V + 1 > kVectorRegs && R * V + R + 1 <= kVectorRegs;
  // B read in place: every cache line of the B row kAhead steps ahead (strided by ldb, which
  // the hardware prefetchers follow poorly), kAhead chosen so that about 16 lines are in flight
  // (8 rows of AVX-512's 2-line rows, 2 rows of its 12-line wide-tile rows, 16 of AVX2's 1-line
  // rows). At a row stride that maps every row to the same few L1 sets, more rows ahead evict
  // each other before they are read (12 ways); far ahead of a wide tile, whose rows take a line
  // per multiply-add, they queue behind the fill buffers. Intel Xeon, 1 thread, against 16 rows
  // ahead everywhere (the earlier rule): AVX-512 2-12 x 1000-4096 x 64-1024 +5-25%, 2 x 1024 x
  // 256 +22%, 4 x 4096 x 64 +28%; AVX2 2 x 1024-4096 x 64-256 +30-45%, the 6 x 16 tiles as
  // before. A packed panel (b_rs = V*kW, one contiguous run)
  // is left to them: on an Intel Xeon the prefetches' load slots cost more than they won
  // (256^3 and 512^3 with A in place, 0.92-0.93x -> 0.96x of dnnl_sgemm; 2 threads alike).
  // The one-vector tiles (V = 1: the last columns of C) read only packed panels, at the panel
  // stride nr: no prefetch for them either. Nor do blocks of kPfBMaxRows rows or more (AVX2).
  constexpr std::ptrdiff_t kRowLines =
      (V * static_cast<std::ptrdiff_t>(kW * sizeof(float)) + 63) / 64;
  constexpr std::ptrdiff_t kAhead = 16 / kRowLines < 2 ? 2 : 16 / kRowLines;
  const bool pf_b = V > 1 && b_rs != static_cast<std::ptrdiff_t>(V * kW) && !st->no_pf_b;
  // A stored transposed and read in place (the weight gradient X^T dY): each k step reads the
  // tile's R elements of the next row of A, lda apart, which the hardware prefetchers follow
  // poorly (at 4 KB or more a new page every step). Where A is large and its rows 2 KB or more
  // apart (GemmArgs::prefetch_a) the tile prefetches that run kAheadA steps ahead. Intel Xeon, 1 thread, two builds
  // alternating: AVX-512 4096 x 16 x 256 TN +24%, 1000 x 20 x 1000 +19%, 512 x 64 x 512 +3%;
  // AVX2 4096 x 8 x 256 +22%, 2048 x 10 x 1024 +19%, 4096 x 16 x 256 +13%; on an A that stays
  // in the caches it cost up to 5% (100^3, 64 x 16 x 64, AVX2 1024 x 4096 x 32 TN -4%).
  constexpr bool kAT = ARS == 1 && ACS == 0;
  constexpr std::ptrdiff_t kAheadA = 8;
  const float* pf = PF ? st->pf : nullptr;
  const std::ptrdiff_t pf_rs = PF ? st->pf_rs : 0, pf_jump = PF ? st->pf_jump : 0;
  const std::size_t pf_wrap = PF ? st->pf_wrap : 1, pf_every = PF ? st->pf_every : 1;
  std::size_t pf_left = PF ? st->pf_left : 1, pf_tick = pf_every;
  float* pk = PK ? st->pack : nullptr;
  // A in place (ARS = 0): rows at a run-time stride, addressed as one of ceil(R / 4) bases
  // (every fourth row) plus 0, 1, 2 or 3 strides, so that the loop needs 2 index registers
  // and ceil(R / 4) pointers instead of R - 1 offsets (with 12 rows GCC spilled 3 to the stack).
  constexpr int kBases = ARS == 0 ? (R + 3) / 4 : 1;
  const float* ab[kBases];
#pragma GCC unroll 4
  for (int t = 0; t < kBases; ++t) ab[t] = a + 4 * t * a_rs;
  const std::ptrdiff_t rs1 = a_rs, rs3 = 3 * a_rs;
  auto a_row = [&](int i) {
    const float* base = ab[ARS == 0 ? i / 4 : 0];
    const int o = i % 4;
    return o == 0 ? base[0] : o == 1 ? base[rs1] : o == 2 ? base[2 * rs1] : base[rs3];
  };
  // The k loop in two versions, with and without the prefetch of B: a test inside the loop cost
  // a register and a compare per step.
  auto k_loop = [&](auto pfb_tag, auto pfa_tag, std::size_t steps) {
#pragma GCC unroll kKUnroll
    for (std::size_t p = 0; p < steps; ++p) {
      if constexpr (decltype(pfb_tag)::value) {
#pragma GCC unroll 16
        for (int q = 0; q < V * static_cast<int>(kW); q += 16)
          __builtin_prefetch(b + kAhead * b_rs + q, 0, 3);
        __builtin_prefetch(b + kAhead * b_rs + (V * static_cast<int>(kW) - 1), 0, 3);
      }
      if constexpr (decltype(pfa_tag)::value) {
        __builtin_prefetch(a + kAheadA * a_rs, 0, 3);
        __builtin_prefetch(a + kAheadA * a_rs + (R - 1), 0, 3);
      }
      if constexpr (PF) {
        if (--pf_tick == 0) {
          pf_tick = pf_every;
#pragma GCC unroll 16
          for (int q = 0; q < V * static_cast<int>(kW); q += 16) __builtin_prefetch(pf + q, 0, 2);
          // The unit's last line: a row of B is not 64-byte aligned in general.
          __builtin_prefetch(pf + (V * static_cast<int>(kW) - 1), 0, 2);
          if (--pf_left == 0) {
            pf_left = pf_wrap;
            pf += pf_jump;
          } else {
            pf += pf_rs;
          }
        }
      }
      if constexpr (kBroadcastFirst) {
        vf av[R];
#pragma GCC unroll 32
        for (int i = 0; i < R; ++i) av[i] = splat(ARS == 0 ? a_row(i) : a[i * ARS]);
#pragma GCC unroll 8
        for (int v = 0; v < V; ++v) {
          const vf bv = load(b + v * static_cast<std::ptrdiff_t>(kW));
          if constexpr (PK) store(pk + v * static_cast<std::ptrdiff_t>(kW), bv);
#pragma GCC unroll 32
          for (int i = 0; i < R; ++i) acc[i][v] = fmadd(av[i], bv, acc[i][v]);
        }
      } else {
        vf bv[V];
#pragma GCC unroll 8
        for (int v = 0; v < V; ++v) bv[v] = load(b + v * static_cast<std::ptrdiff_t>(kW));
        if constexpr (PK) {
#pragma GCC unroll 8
          for (int v = 0; v < V; ++v) store(pk + v * static_cast<std::ptrdiff_t>(kW), bv[v]);
        }
#pragma GCC unroll 32
        for (int i = 0; i < R; ++i) {
          const vf ai = splat(ARS == 0 ? a_row(i) : a[i * ARS]);
#pragma GCC unroll 8
          for (int v = 0; v < V; ++v) acc[i][v] = fmadd(ai, bv[v], acc[i][v]);
        }
      }
      a += ACS == 0 ? a_rs : ACS;
      if constexpr (ARS == 0) {
#pragma GCC unroll 4
        for (int t = 0; t < kBases; ++t) ab[t] += ACS;
      }
      b += b_rs;
      if constexpr (PK) pk += V * static_cast<std::ptrdiff_t>(kW);
    }
  };
  // The k loop in two runs, with the C tile's first and last line of each row prefetched into
  // L1 between them: asked for at the start only, they came back to the store from L2 (the
  // A and B panels had evicted them; at a 4 KB-multiple ldc every row of C falls in one L1
  // set), and the tile's loads of C, multiply-adds and stores took 4% of the kernel's time at
  // 2048^3 (perf). AVX2 on Zen 3, 1 thread, the same build alternating with and without:
  // 2048^3 +3.5-5%, 1024^3 +1-3%, 512^3 +4%, 1024 x 4096 x 32 TN +4%, 4096 x 64 x 64 +1-2%,
  // 64^3, 128^3, 32 x 4096 x 1024 unchanged; 2 threads +1.5-6%. AVX-512 used to prefetch C
  // at the start of the tile as well; on an Intel Xeon (the same build alternating, against
  // the start-and-end prefetch) the end alone gave 0.98-1.06x at 1 thread and 0.99-1.08x at 2
  // (2048 x 2048 x 32 TN +6-8%, 4096 x 64 x 64 +2-3%), while no prefetch of C at all was
  // 0.86-0.89x on the k = 32 shapes (1024 x 4096 x 32 TN) whenever memory was slow.
  // (Skipping the prefetch where the k block is no longer than kCAhead, on an Intel Xeon with
  // AVX-512: 1024^2 x 16 and 1024 x 4096 x 16 +4-6%, 4096 x 100-256 x 16 -11% to -15%; left.)
  const std::size_t k_main = kb > kCAhead ? kb - kCAhead : 0;
  auto run = [&](auto pfb_tag, auto pfa_tag) {
    k_loop(pfb_tag, pfa_tag, k_main);
    if (!st->stream) {
#pragma GCC unroll 32
      for (int i = 0; i < R; ++i) {
        const float* cr = c + static_cast<std::size_t>(i) * ldc;
        __builtin_prefetch(cr, 1, 3);
        __builtin_prefetch(cr + (V * kW - 1), 1, 3);
      }
    }
    k_loop(pfb_tag, pfa_tag, kb - k_main);
  };
  auto run_a = [&](auto pfb_tag) {
    if constexpr (kAT) {
      if (st->pf_a) {
        run(pfb_tag, GemmBoolTag<true>{});
        return;
      }
    }
    run(pfb_tag, GemmBoolTag<false>{});
  };
  if (pf_b) run_a(GemmBoolTag<true>{});
  else run_a(GemmBoolTag<false>{});

  const std::size_t ncols = st->ncols;
  const int mode = st->mode;
  const vf va = splat(st->alpha), vb = splat(st->beta);
  const bool stream = mode == kStoreAssign && st->stream;
  const bool unit = st->alpha == 1.0f;  // C = acc when assigning: 1 * acc is acc, no multiply
  if (ncols == static_cast<std::size_t>(V) * kW && !stream) {
#pragma GCC unroll 32
    for (int i = 0; i < R; ++i) {
      float* cr = c + static_cast<std::size_t>(i) * ldc;
#pragma GCC unroll 8
      for (int v = 0; v < V; ++v) {
        float* cp = cr + v * kW;
        vf r;
        if (mode == kStoreAssign) r = unit ? acc[i][v] : va * acc[i][v];
        else if (mode == kStoreAccumulate) r = fmadd(va, acc[i][v], load(cp));
        else r = fmadd(va, acc[i][v], vb * load(cp));
        store(cp, r);
      }
    }
    return;
  }
  static_assert(R * V * kW <= kGemmEdgeFloats, "the edge buffer is too small for this tile");
  float* const eb = st->edge;
#pragma GCC unroll 32
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) store(eb + (i * V + v) * static_cast<int>(kW), acc[i][v]);
  gemm_tile_store_edge<R, V>(eb, c, ldc, st);
}

/// Small-product tile (gemm_small_impl): R rows x V vectors of columns of C, A and B both read
/// in place (B row-major, row stride b_rs), of which the first st->ncols columns are live (more
/// than (V - 1) kW): the last vector of each row of B is loaded and that of C stored under a
/// mask, so no column past them is read or written, and nothing is packed. The formula of
/// gemm_ukr (one fmadd chain per element, p ascending, then the same store), for products whose
/// operands are in L1: no prefetch, and the accumulators go straight to C (no edge buffer).
/// With AVX2, whose masked loads cost an extra uop, a last vector that is whole is loaded plainly.
template <int R, int V, int ARS, int ACS>
__attribute__((noinline)) void gemm_ukr_small(std::size_t kb, const float* __restrict a,
                                              std::ptrdiff_t a_rs, const float* __restrict b,
                                              std::ptrdiff_t b_rs, float* __restrict c,
                                              std::size_t ldc,
                                              const GemmTileStore* __restrict st) {
  vf acc[R][V];
#pragma GCC unroll 32
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) acc[i][v] = splat(0.0f);
  const std::size_t ncols = st->ncols;
  constexpr std::size_t kLast = static_cast<std::size_t>(V - 1) * kW;
  const lanes_t tail = first_lanes(ncols - kLast);
  // A in place as in gemm_ukr: rows at a run-time stride from ceil(R / 4) bases (ARS = 0), or
  // a contiguous run of R elements per k step at stride a_rs (ARS = 1, A stored transposed).
  constexpr int kBases = ARS == 0 ? (R + 3) / 4 : 1;
  const float* ab[kBases];
#pragma GCC unroll 4
  for (int t = 0; t < kBases; ++t) ab[t] = a + 4 * t * (ARS == 0 ? a_rs : 0);
  const std::ptrdiff_t rs1 = a_rs, rs3 = 3 * a_rs;
  auto a_at = [&](int i) {
    if constexpr (ARS == 0) {
      const float* base = ab[i / 4];
      const int o = i % 4;
      return o == 0 ? base[0] : o == 1 ? base[rs1] : o == 2 ? base[2 * rs1] : base[rs3];
    } else {
      return a[i];
    }
  };
  auto k_loop = [&](auto masked_tag) {
    constexpr bool kMasked = decltype(masked_tag)::value;
#pragma GCC unroll 2
    for (std::size_t p = 0; p < kb; ++p) {
      vf bv[V];
#pragma GCC unroll 8
      for (int v = 0; v < V; ++v)
        bv[v] = kMasked && v == V - 1 ? load_lanes(b + kLast, tail)
                                      : load(b + v * static_cast<std::ptrdiff_t>(kW));
#pragma GCC unroll 32
      for (int i = 0; i < R; ++i) {
        const vf ai = splat(a_at(i));
#pragma GCC unroll 8
        for (int v = 0; v < V; ++v) acc[i][v] = fmadd(ai, bv[v], acc[i][v]);
      }
      if constexpr (ARS == 0) {
#pragma GCC unroll 4
        for (int t = 0; t < kBases; ++t) ab[t] += 1;
      } else {
        a += a_rs;
      }
      b += b_rs;
    }
  };
#if defined(SIMDGRAD_ISA_AVX2)
  if (ncols == static_cast<std::size_t>(V) * kW) k_loop(GemmBoolTag<false>{});
  else k_loop(GemmBoolTag<true>{});
#else
  k_loop(GemmBoolTag<true>{});
#endif
  const int mode = st->mode;
  const vf va = splat(st->alpha), vb = splat(st->beta);
  const bool unit = st->alpha == 1.0f;
#pragma GCC unroll 32
  for (int i = 0; i < R; ++i) {
    float* cr = c + static_cast<std::size_t>(i) * ldc;
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) {
      float* cp = cr + v * kW;
      const bool part = v == V - 1;
      vf r;
      if (mode == kStoreAssign) {
        r = unit ? acc[i][v] : va * acc[i][v];
      } else {
        const vf old = part ? load_lanes(cp, tail) : load(cp);
        r = mode == kStoreAccumulate ? fmadd(va, acc[i][v], old) : fmadd(va, acc[i][v], vb * old);
      }
      if (part) store_lanes(cp, r, tail);
      else store(cp, r);
    }
  }
}

/// Column tile: the last J (< kW) columns of C for V vectors of rows, where A is stored
/// transposed (A(i,p) = a[i + p*a_cs], a run of rows contiguous at every k step):
///   acc[j][v] = sum_p A(i0 + v*kW .. +kW, p) * B(p, j)   (B(p,j) = b[p*b_rs + j*b_cs])
/// the rows in the vector lanes and each of B's J elements broadcast. gemm_ukr would spend a
/// whole vector of columns, mostly padding, on each row; here every lane is a row of C. Each
/// element is the same chain of multiply-adds as in gemm_ukr (fmadd(A(i,p), B(p,j), acc), p
/// ascending) and the same store formula, so the bits do not depend on which tile computed it.
/// Only the first nrows rows are read and written; with Tail the last vector is a partial one
/// (nrows - (V-1)*kW lanes). The tile goes to C through a transposing buffer, element by element.
/// With 16-float vectors each k step prefetches the lines of the step 8 ahead (the rows of A
/// lie lda apart, often a page or more, where the hardware prefetchers do not follow): Intel
/// Xeon, 1 thread, against none, 1024 x 10 x 512 TN +34%, 2048 x 10 x 1024 +30%, 1000 x 12 x
/// 1000 +31%, 4096 x 8 x 256 +23%, an A in the caches (96 x 100 x 96, 256 x 10 x 256) within
/// 1%. With AVX2 it cost up to 20% (4096 x 4 x 512 TN), so there the hardware is left alone.
template <int V, int J, bool Tail>
__attribute__((noinline)) void gemm_ukr_cols(std::size_t kb, const float* __restrict a,
                                             std::ptrdiff_t a_cs, const float* __restrict b,
                                             std::ptrdiff_t b_rs, std::ptrdiff_t b_cs,
                                             std::size_t nrows, float* __restrict c,
                                             std::size_t ldc, const GemmTileStore* __restrict st) {
  vf acc[J][V];
#pragma GCC unroll 16
  for (int j = 0; j < J; ++j)
#pragma GCC unroll 16
    for (int v = 0; v < V; ++v) acc[j][v] = splat(0.0f);
  const std::size_t tail = Tail ? nrows - static_cast<std::size_t>(V - 1) * kW : kW;
  constexpr int kLines = (V * static_cast<int>(kW) * 4 + 63) / 64;
  for (std::size_t p = 0; p < kb; ++p) {
    if constexpr (kW >= 16) {
#pragma GCC unroll 16
      for (int q = 0; q < kLines; ++q) __builtin_prefetch(a + 8 * a_cs + q * 16, 0, 3);
    }
    vf av[V];
#pragma GCC unroll 16
    for (int v = 0; v < V; ++v)
      av[v] = Tail && v == V - 1 ? load_partial(a + v * static_cast<std::ptrdiff_t>(kW), tail)
                                 : load(a + v * static_cast<std::ptrdiff_t>(kW));
#pragma GCC unroll 16
    for (int j = 0; j < J; ++j) {
      const vf bj = splat(b[j * b_cs]);
#pragma GCC unroll 16
      for (int v = 0; v < V; ++v) acc[j][v] = fmadd(av[v], bj, acc[j][v]);
    }
    a += a_cs;
    b += b_rs;
  }
  alignas(64) float buf[J][V * kW];
#pragma GCC unroll 16
  for (int j = 0; j < J; ++j)
#pragma GCC unroll 16
    for (int v = 0; v < V; ++v) store(&buf[j][v * kW], acc[j][v]);
  const int mode = st->mode;
  const float alpha = st->alpha, beta = st->beta;
  for (std::size_t i = 0; i < nrows; ++i) {
    float* cr = c + i * ldc;
#pragma GCC unroll 16
    for (int j = 0; j < J; ++j) {
      const float x = buf[j][i];
      if (mode == kStoreAssign) cr[j] = alpha * x;
      else if (mode == kStoreAccumulate) cr[j] = __builtin_fmaf(alpha, x, cr[j]);
      else cr[j] = __builtin_fmaf(alpha, x, beta * cr[j]);
    }
  }
}

/// Vectors of rows per column tile of J columns: its J x V accumulators, V vectors of A and a
/// broadcast in the register file, at most 8.
constexpr int gemm_cols_v(int j) {
  const int v = (kVectorRegs - 1) / (j + 1);
  return v > 8 ? 8 : v < 1 ? 1 : v;
}

using GemmUkrFn = void (*)(std::size_t kb, const float* a, std::ptrdiff_t a_rs, const float* b,
                           std::ptrdiff_t b_rs,
                           float* c, std::size_t ldc, const GemmTileStore* st);

/// Dot-product tile for few rows of C against B stored transposed (B(p,j) = bt[j*ldb + p]) with
/// rows of A contiguous: acc[i][j] holds kW partial sums along p (whole vectors, then one
/// zero-padded partial vector), added horizontally at the end; C = alpha*sum (+ beta*C as in
/// gemm_ukr). Streams each row of B once: the GEMV-like shapes (m <= 4) with op(B) = B^T.
/// Its sums are ordered differently from gemm_ukr's chains (and differ across vector widths).
/// R x J is at most kW (one vector of sums; R x 1 where kW < R): the R x J horizontal sums are
/// one transposed reduction (hsum_rows) into a vector whose lanes are the tile's results, row
/// by row, and each row of C is loaded, updated and stored as one partial vector. (One
/// horizontal sum, splat and scalar store per result cost more than the multiply-adds at k =
/// 64: 1-4 x 512-4096 x 64 ran at 0.44-0.65x of dnnl_sgemm on an Intel Xeon, AVX-512.)
///
/// Rows i >= nrows of A and columns j >= ncols of B are never read (their pointers repeat row 0)
/// and their results are dropped.
template <int R, int J>
__attribute__((noinline)) void gemm_dot(std::size_t k, const float* __restrict a,
                                        std::ptrdiff_t lda, const float* __restrict bt,
                                        std::ptrdiff_t ldb, std::size_t nrows, std::size_t ncols,
                                        float* __restrict c, std::size_t ldc,
                                        const GemmTileStore* __restrict st) {
  static_assert(J == 1 || R * J <= static_cast<int>(kW), "a dot tile holds one vector of sums");
  const float* ar[R];
  const float* br[J];
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i) ar[i] = static_cast<std::size_t>(i) < nrows ? a + i * lda : a;
#pragma GCC unroll 16
  for (int j = 0; j < J; ++j) br[j] = static_cast<std::size_t>(j) < ncols ? bt + j * ldb : bt;
  vf acc[R][J];
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 16
    for (int j = 0; j < J; ++j) acc[i][j] = splat(0.0f);
  std::size_t p = 0;
  // Each of the J rows of B is its own stream (rows lie ldb apart, often a page or more), which
  // the tile prefetches st->dot_ahead floats ahead (0, 64 or 512), a line per step; the driver
  // picks the distance (gemm_block_impl's dot branch). A constant in each version of the loop:
  // read from st inside it, the distance took a register and the tiles without prefetch ran
  // 2-5% slower (256 x 4 x 256 NT, 1 x 500 x 500 NT).
  auto steps = [&](auto ahead_tag) {
    constexpr std::size_t ahead = decltype(ahead_tag)::value;
    for (; p + kW <= k; p += kW) {
      vf av[R];
#pragma GCC unroll 16
      for (int i = 0; i < R; ++i) av[i] = load(ar[i] + p);
      if constexpr (ahead > 0)
#pragma GCC unroll 16
        for (int j = 0; j < J; ++j) __builtin_prefetch(br[j] + p + ahead, 0, 3);
#pragma GCC unroll 16
      for (int j = 0; j < J; ++j) {
        const vf bv = R > 1 ? load_once(br[j] + p) : load(br[j] + p);
#pragma GCC unroll 16
        for (int i = 0; i < R; ++i) acc[i][j] = fmadd(av[i], bv, acc[i][j]);
      }
    }
  };
  if (st->dot_ahead == 64) steps(GemmSizeTag<64>{});
  else if (st->dot_ahead == 512) steps(GemmSizeTag<512>{});
  else steps(GemmSizeTag<0>{});
  if (p < k) {
    const std::size_t w = k - p;
    vf av[R];
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) av[i] = load_partial(ar[i] + p, w);
#pragma GCC unroll 16
    for (int j = 0; j < J; ++j) {
      const vf bv = load_partial(br[j] + p, w);
#pragma GCC unroll 16
      for (int i = 0; i < R; ++i) acc[i][j] = fmadd(av[i], bv, acc[i][j]);
    }
  }
  // Lane i*J + j of a group: the sum of acc[i][j] (R x 1 tiles where kW < R: a group a row).
  constexpr int kGroups = R * J > static_cast<int>(kW) ? R : 1;
  constexpr int kPerGroup = R * J / kGroups;
  alignas(64) float sums[kGroups * kW];
  vf total = splat(0.0f);  // one group: its sums kept in a register (lanes_from)
#pragma GCC unroll 16
  for (int g = 0; g < kGroups; ++g) {
    vf rows[kW];
#pragma GCC unroll 16
    for (int t = 0; t < static_cast<int>(kW); ++t)
      rows[t] = t < kPerGroup ? acc[(g * kPerGroup + t) / J][(g * kPerGroup + t) % J]
                              : splat(0.0f);
    if constexpr (kGroups == 1) total = hsum_rows(rows);
    else store(sums + g * kW, hsum_rows(rows));
  }
  const vf va = splat(st->alpha), vb = splat(st->beta);
  for (std::size_t i = 0; i < nrows; ++i) {
    const vf sum = kGroups == 1 ? lanes_from(total, i * J) : load_partial(sums + i * J, ncols);
    float* cp = c + i * ldc;
    vf r;
    if (st->mode == kStoreAssign) r = va * sum;
    else if (st->mode == kStoreAccumulate) r = fmadd(va, sum, load_partial(cp, ncols));
    else r = fmadd(va, sum, vb * load_partial(cp, ncols));
    store_partial(cp, r, ncols);
  }
}

using GemmDotFn = void (*)(std::size_t k, const float* a, std::ptrdiff_t lda, const float* bt,
                           std::ptrdiff_t ldb, std::size_t nrows, std::size_t ncols, float* c,
                           std::size_t ldc, const GemmTileStore* st);
