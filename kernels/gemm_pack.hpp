// GEMM packing routines. Included inside the ISA namespace after simd.hpp. They copy blocks of A
// and B into the caller's workspace in the order the microkernel reads them; no arithmetic, so
// packing never changes a result.

/// Fewer than kW floats (at most 15) in fixed-size pieces, which compile to plain moves.
inline void gemm_copy_short(float* __restrict dst, const float* __restrict src, std::size_t n) {
  std::size_t i = 0;
  if (n & 8) { std::memcpy(dst + i, src + i, 32); i += 8; }
  if (n & 4) { std::memcpy(dst + i, src + i, 16); i += 4; }
  if (n & 2) { std::memcpy(dst + i, src + i, 8); i += 2; }
  if (n & 1) dst[i] = src[i];
}

/// dst[0..n) = src[0..n): whole vectors, then the tail (below). Always inlined: called once per
/// row of a panel, a call costs as much as a short run (12 x 100 x 256: out of line, the copy
/// of the last 4 columns of B took a third of the time).
__attribute__((always_inline)) inline void gemm_copy_run(float* __restrict dst,
                                                         const float* __restrict src,
                                                         std::size_t n) {
  std::size_t i = 0;
  for (; i + 2 * kW <= n; i += 2 * kW) {
    const vf x0 = load(src + i), x1 = load(src + i + kW);
    store(dst + i, x0);
    store(dst + i + kW, x1);
  }
  for (; i + kW <= n; i += kW) store(dst + i, load(src + i));
  if (i == n) return;
  // The tail without masked moves (slow stores on AMD: a transposed A's 6-float runs spent 5%
  // of 1024 x 1024 x 256 TN there on Zen 3): the run's last whole vector again, overlapping
  // what was just copied, or short pieces when the run is shorter than a vector.
  if (n >= kW) store(dst + n - kW, load(src + n - kW));
  else gemm_copy_short(dst + i, src + i, n - i);
}

/// The zero padding of a packed panel row: dst[j] = 0 for j in [w / kW * kW, nr) (nr a multiple
/// of kW), in vector stores; the caller's copy writes [0, w) afterwards. As a scalar loop GCC
/// turned it into a rep stos, which takes tens of cycles to start for a few bytes: once per row
/// of B's last panel (see docs/gemm.md, Zen 3 2026-12-04).
inline void gemm_zero_pad(float* __restrict dst, std::size_t w, std::size_t nr) {
  for (std::size_t j = w / kW * kW; j < nr; j += kW) store(dst + j, splat(0.0f));
}

/// dst[0..w) = src[0..w) and dst[w..nr) = 0 (w < nr, nr a multiple of kW): a row of B's last,
/// partial panel. AVX2 and AVX-512 load the partial vector masked (the masked-off lanes read as
/// zero) and store it whole: a row of 4 floats was a 16-byte copy after two vector stores of
/// zeros, with the loop's counters spilled around them, and the copy of a 4-column last panel
/// took 13% of 12 x 100 x 256 (Intel Xeon, AVX-512).
inline void gemm_copy_pad(float* __restrict dst, const float* __restrict src, std::size_t w,
                          std::size_t nr) {
#if defined(SIMDGRAD_ISA_AVX512) || defined(SIMDGRAD_ISA_AVX2)
  std::size_t j = 0;
  for (; j + kW <= w; j += kW) store(dst + j, load(src + j));
  if (j < w) {
    store(dst + j, load_partial(src + j, w - j));
    j += kW;
  }
  for (; j < nr; j += kW) store(dst + j, splat(0.0f));
#else
  gemm_zero_pad(dst, w, nr);
  gemm_copy_run(dst, src, w);
#endif
}

/// A block rows [0, r) x k [0, kb) (A(i,p) = a[i*rs + p*cs]) as a [p][i] panel: dst[p*r + i].
/// Any strides; a transposed A (rs == 1) goes through gemm_pack_a_pi_block instead.
inline void gemm_pack_a_pi(float* __restrict dst, const float* __restrict a, std::ptrdiff_t rs,
                           std::ptrdiff_t cs, std::size_t r, std::size_t kb) {
  for (std::size_t p = 0; p < kb; ++p)
    for (std::size_t i = 0; i < r; ++i)
      dst[p * r + i] = a[static_cast<std::ptrdiff_t>(i) * rs + static_cast<std::ptrdiff_t>(p) * cs];
}

/// k steps of a transposed A packed together across a block's row tiles (gemm_pack_a_pi_block).
/// Intel Xeon, 1 thread, one process alternating: 8 to 64 within 1-2% of each other (32 best on
/// both ISAs), the whole k block (256) a few percent behind.
constexpr std::size_t kApiChunk = 32;

/// A block of mb rows x kb k steps of a transposed A (A(i,p) = a[i + p*cs]: each k step a
/// contiguous run) as one [p][i] panel per row tile: the tile at row ir, rows_at(ir) rows r, at
/// dst + ir*kc, dst[ir*kc + p*r + i]. kApiChunk k steps at a time across all the tiles, so that
/// each stored row is read in one sweep; tile by tile, each of a tile's k steps took a new cache
/// line of a row cs floats from the last (16 KB at 4096 x 128 x 256 TN, where the packing took
/// 26% of the time), and the next tile came back for the same lines. Intel Xeon, two builds
/// alternating, 16 TN/TT shapes: AVX-512 +1.1% geo mean on 1 thread (2048^3 TN +4.2%, 4096 x
/// 128 x 256 +4.1%, 1024^3 TT +3.7%, none below -1.3%), +0.3% on 2; AVX2 0.0% and -0.5% (-2.7%
/// to +2.5%, within the noise).
template <class RowsAt>
inline void gemm_pack_a_pi_block(float* __restrict dst, std::size_t kc, const float* __restrict a,
                                 std::ptrdiff_t cs, std::size_t mb, std::size_t kb,
                                 RowsAt rows_at) {
  for (std::size_t p0 = 0; p0 < kb; p0 += kApiChunk) {
    const std::size_t pe = kb - p0 < kApiChunk ? kb : p0 + kApiChunk;
    for (std::size_t ir = 0, r = 0; ir < mb; ir += r) {
      r = rows_at(ir);
      const float* src = a + static_cast<std::ptrdiff_t>(ir);
      float* d = dst + ir * kc;
      std::size_t p = p0;
      // A tile's run (r <= kW floats) as one whole vector where the block has kW rows from ir
      // on: the lanes past r land on the next k step's slots of the same panel, which that step
      // then overwrites (not after the panel's last step, whose next slots may be the next
      // tile's). 12- and 6-float runs were two and three moves each.
      if (r <= kW && ir + kW <= mb)
        for (const std::size_t pv = pe < kb ? pe : kb - 1; p < pv; ++p)
          store(d + p * r, load(src + static_cast<std::ptrdiff_t>(p) * cs));
      for (; p < pe; ++p) gemm_copy_run(d + p * r, src + static_cast<std::ptrdiff_t>(p) * cs, r);
    }
  }
}

/// A block rows [0, r) x k [0, kb) with contiguous rows (cs == 1) as an [i][p] panel of row
/// stride kc: dst[i*kc + p].
inline void gemm_pack_a_ip(float* __restrict dst, const float* __restrict a, std::ptrdiff_t rs,
                           std::size_t r, std::size_t kb, std::size_t kc) {
  for (std::size_t i = 0; i < r; ++i)
    gemm_copy_run(dst + i * kc, a + static_cast<std::ptrdiff_t>(i) * rs, kb);
}

#if defined(SIMDGRAD_ISA_AVX512)
/// The in-register transpose the packing of transposed B uses: kTT x kTT floats,
/// dst[p*ld_dst + j] = src[j*ld_src + p] for j < rows, 0 for rows <= j < kTT (those rows of
/// src are not read), p < kTT.
constexpr std::size_t kTT = 16;
inline void gemm_transpose_tile(float* __restrict dst, std::size_t ld_dst,
                                const float* __restrict src, std::size_t ld_src,
                                std::size_t rows = kTT) {
  __m512 r[16], t[16];
  for (int j = 0; j < 16; ++j)
    r[j] = static_cast<std::size_t>(j) < rows ? _mm512_loadu_ps(src + j * ld_src)
                                              : _mm512_setzero_ps();
  for (int j = 0; j < 16; j += 2) {
    t[j] = _mm512_unpacklo_ps(r[j], r[j + 1]);
    t[j + 1] = _mm512_unpackhi_ps(r[j], r[j + 1]);
  }
  for (int j = 0; j < 16; j += 4) {
    r[j] = _mm512_shuffle_ps(t[j], t[j + 2], 0x44);
    r[j + 1] = _mm512_shuffle_ps(t[j], t[j + 2], 0xEE);
    r[j + 2] = _mm512_shuffle_ps(t[j + 1], t[j + 3], 0x44);
    r[j + 3] = _mm512_shuffle_ps(t[j + 1], t[j + 3], 0xEE);
  }
  // r[4q + s] now holds, in each 128-bit lane L, rows 4q..4q+3 of column 4L + s' ... combine lanes
  for (int j = 0; j < 4; ++j) {
    t[j] = _mm512_shuffle_f32x4(r[j], r[j + 4], 0x88);
    t[j + 4] = _mm512_shuffle_f32x4(r[j], r[j + 4], 0xDD);
    t[j + 8] = _mm512_shuffle_f32x4(r[j + 8], r[j + 12], 0x88);
    t[j + 12] = _mm512_shuffle_f32x4(r[j + 8], r[j + 12], 0xDD);
  }
  for (int j = 0; j < 4; ++j) {
    r[j] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0x88);
    r[j + 8] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0xDD);
    r[j + 4] = _mm512_shuffle_f32x4(t[j + 4], t[j + 12], 0x88);
    r[j + 12] = _mm512_shuffle_f32x4(t[j + 4], t[j + 12], 0xDD);
  }
  for (int p = 0; p < 16; ++p) _mm512_storeu_ps(dst + p * ld_dst, r[p]);
}
#endif

#if defined(SIMDGRAD_ISA_AVX2)
/// As on AVX-512, 8 x 8. Inlined by force: with gemm_pack_bt_steps its second caller, GCC
/// left it out of line, and the small path's products over a transposed B ran 3% slower (AVX2
/// 50^3 NT, 12 x 40 x 40 NT).
constexpr std::size_t kTT = 8;
__attribute__((always_inline)) inline void gemm_transpose_tile(float* __restrict dst,
                                                               std::size_t ld_dst,
                                                               const float* __restrict src,
                                                               std::size_t ld_src,
                                                               std::size_t rows = kTT) {
  __m256 r[8], t[8];
  for (int j = 0; j < 8; ++j)
    r[j] = static_cast<std::size_t>(j) < rows ? _mm256_loadu_ps(src + j * ld_src)
                                              : _mm256_setzero_ps();
  for (int j = 0; j < 8; j += 2) {
    t[j] = _mm256_unpacklo_ps(r[j], r[j + 1]);      // j0p0 j1p0 j0p1 j1p1 | p4 p5
    t[j + 1] = _mm256_unpackhi_ps(r[j], r[j + 1]);  // p2 p3 | p6 p7
  }
  for (int j = 0; j < 8; j += 4) {
    r[j] = _mm256_shuffle_ps(t[j], t[j + 2], 0x44);          // p0 (rows j..j+3) | p4
    r[j + 1] = _mm256_shuffle_ps(t[j], t[j + 2], 0xEE);      // p1 | p5
    r[j + 2] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0x44);  // p2 | p6
    r[j + 3] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0xEE);  // p3 | p7
  }
  for (int q = 0; q < 4; ++q) {
    _mm256_storeu_ps(dst + q * ld_dst, _mm256_permute2f128_ps(r[q], r[q + 4], 0x20));
    _mm256_storeu_ps(dst + (q + 4) * ld_dst, _mm256_permute2f128_ps(r[q], r[q + 4], 0x31));
  }
}
#endif

#if defined(SIMDGRAD_ISA_AVX512) || defined(SIMDGRAD_ISA_AVX2)
/// gemm_pack_b's last steps < kTT rows of a panel of B stored transposed (B(p, j) = s[p + j*cs],
/// w live columns of nr) through gemm_transpose_tile: each row of the stored B read for those
/// steps only (a masked load) into a zero-padded tile on the stack, transposed there, and the
/// tile's first steps rows copied to the panel (dst, row stride nr). Out of line: inlined, it
/// changed how GCC inlined gemm_pack_b into its callers (50^3 NT 2% slower, AVX-512).
__attribute__((noinline)) inline void gemm_pack_bt_steps(float* __restrict dst,
                                                         const float* __restrict s,
                                                         std::ptrdiff_t cs, std::size_t steps,
                                                         std::size_t w, std::size_t nr) {
  alignas(64) float in[kTT * kTT], out[kTT * kTT];
  for (std::size_t jj = 0; jj < nr; jj += kTT) {
    float* dt = dst + jj;
    if (jj >= w) {
      for (std::size_t q = 0; q < steps; ++q) gemm_zero_pad(dt + q * nr, 0, kTT);
      continue;
    }
    const std::size_t rows = w - jj < kTT ? w - jj : kTT;
    for (std::size_t j = 0; j < rows; ++j)
      store(in + j * kTT, load_partial(s + static_cast<std::ptrdiff_t>(jj + j) * cs, steps));
    gemm_transpose_tile(out, kTT, in, kTT, rows);
    for (std::size_t q = 0; q < steps; ++q) store(dt + q * nr, load(out + q * kTT));
  }
}
#endif

/// B block k [0, kb) x columns [0, nb) (B(p,j) = b[p*rs + j*cs]) as panels of nr columns:
/// panel q holds columns [q*nr, q*nr + nr) at dst + q*nr*kb, laid out [p][jj], zero-padded.
inline void gemm_pack_b(float* __restrict dst, const float* __restrict b, std::ptrdiff_t rs,
                        std::ptrdiff_t cs, std::size_t kb, std::size_t nb, std::size_t nr) {
  if (cs == 1) {
    // Row by row: each row of the block is read in one contiguous run (what the hardware
    // prefetchers follow best) and scattered into the panels, which stay in L2.
    const std::size_t full = nb / nr * nr;
    for (std::size_t p = 0; p < kb; ++p) {
      const float* s = b + static_cast<std::ptrdiff_t>(p) * rs;
      for (std::size_t j0 = 0; j0 < full; j0 += nr) gemm_copy_run(dst + j0 * kb + p * nr, s + j0, nr);
      if (full < nb) gemm_copy_pad(dst + full * kb + p * nr, s + full, nb - full, nr);
    }
    return;
  }
  for (std::size_t j0 = 0; j0 < nb; j0 += nr) {
    const std::size_t w = nb - j0 < nr ? nb - j0 : nr;
    float* d = dst + j0 * kb;
    const float* s = b + static_cast<std::ptrdiff_t>(j0) * cs;
    std::size_t p = 0;
#if defined(SIMDGRAD_ISA_AVX512) || defined(SIMDGRAD_ISA_AVX2)
    // kTT x kTT tiles in registers; in a partial panel the tiles read only its w columns (rows
    // of the stored B) and fill the rest with zeros. A partial panel went element by element
    // before: Intel Xeon, 1 thread, against that, AVX-512 256 x 10 x 256 NT +28%, 32 x 10 x 256
    // 2.3x, 64 x 12 x 1024 1.8x, 100^3 NT +9%; AVX2 32 x 5 x 256 +40%, 64 x 6 x 1024 +25%; two
    // threads, AVX-512, 256 x 10 x 256 +44%, 1024 x 10 x 512 +12%.
    if (rs == 1 && nr % kTT == 0) {
      for (; p + kTT <= kb; p += kTT)
        for (std::size_t jj = 0; jj < nr; jj += kTT) {
          float* dt = d + p * nr + jj;
          if (jj >= w) {
            for (std::size_t q = 0; q < kTT; ++q) gemm_zero_pad(dt + q * nr, 0, kTT);
            continue;
          }
          gemm_transpose_tile(dt, nr, s + p + static_cast<std::ptrdiff_t>(jj) * cs,
                              static_cast<std::size_t>(cs), w - jj < kTT ? w - jj : kTT);
        }
      // The last kb mod kTT steps, from half a tile on, through the same transposes: each row
      // of the stored B read for those steps only (a masked load) into a zero-padded tile on
      // the stack, transposed there, and its first steps rows copied to the panel. Element by
      // element they were half of an 8^3 NT product's time; fewer steps stay so (the tile's
      // transposes and copies cost more than they save). Intel Xeon, AVX-512, 1 thread,
      // against element by element: 8^3 NT +19%, 12^3 +44%, 12 x 40 x 40 +26%; AVX2 20 x 30
      // x 14 +15%, 5 x 30 x 13 +8%.
      if (p < kb && 2 * (kb - p) >= kTT) {
        gemm_pack_bt_steps(d + p * nr, s + p, cs, kb - p, w, nr);
        p = kb;
      }
    }
#endif
    for (; p < kb; ++p) {
      gemm_zero_pad(d + p * nr, w, nr);
      for (std::size_t jj = 0; jj < w; ++jj)
        d[p * nr + jj] = s[static_cast<std::ptrdiff_t>(p) * rs + static_cast<std::ptrdiff_t>(jj) * cs];
    }
  }
}
