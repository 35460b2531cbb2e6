// Batch-normalization kernels on vf (see kernels/batchnorm_table.hpp for what each computes).
// Included inside the ISA namespace after simd.hpp, math.hpp and activation.hpp: the fused ReLU
// is activation.hpp's ReluOp (forward fwd(y), backward bwd_y(y, dy)).
//
// Reductions keep their partial sums in fp32 vector accumulators over one chunk (at most ~4096
// values per lane group, fixed by the caller independently of the thread count) and hand them
// back widened to double, summed lane by lane in a fixed order; the caller merges chunks in double.
// Statistics are sums about a shift K taken from the chunk's own data (x - K is exact for data
// concentrated far from zero), so the fp32 sums do not cancel.

// Channel vectors kept in registers by the rows reductions (accumulators per vector: 2 for the
// statistics, 3 for the backward sums). 32 vector registers on AVX-512 and NEON, 16 elsewhere.
#if defined(SIMDGRAD_ISA_AVX512) || defined(SIMDGRAD_ISA_NEON)
constexpr std::size_t kBnStatsGroup = 4;
constexpr std::size_t kBnBwdGroup = 4;
#else
constexpr std::size_t kBnStatsGroup = 4;
constexpr std::size_t kBnBwdGroup = 3;
#endif

// Software prefetch distance of the streaming loops, in bytes (0: none). The hardware prefetchers
// restart at every 4 KiB page; a prefetch ~2 KiB ahead keeps the streams going across pages.
#ifndef SIMDGRAD_BN_PREFETCH
#define SIMDGRAD_BN_PREFETCH 2048
#endif
constexpr std::size_t kBnPf = SIMDGRAD_BN_PREFETCH / sizeof(float);  // floats ahead

/// Prefetches the cache lines of `floats` floats at p + kBnPf when that is before end.
inline void bn_prefetch(const float* p, const float* end, std::size_t floats) {
  if constexpr (kBnPf > 0) {
    if (static_cast<std::size_t>(end - p) < kBnPf + floats) return;
    for (std::size_t o = 0; o < floats; o += 16) __builtin_prefetch(p + kBnPf + o);
  }
}

/// Rows ahead to prefetch for rows of ld floats.
inline std::size_t bn_prefetch_rows(std::size_t ld) {
  return kBnPf ? (kBnPf + ld - 1) / ld : 0;
}

/// Sum of the lanes of v, widened to double, in lane order.
inline double bn_lanes_sum(vf v) {
  alignas(64) float buf[kW];
  store(buf, v);
  double s = 0.0;
  for (std::size_t l = 0; l < kW; ++l) s += static_cast<double>(buf[l]);
  return s;
}

/// Writes the first k lanes of v, widened to double, to out.
inline void bn_lanes_store(double* out, vf v, std::size_t k) {
  alignas(64) float buf[kW];
  store(buf, v);
  for (std::size_t l = 0; l < k; ++l) out[l] = static_cast<double>(buf[l]);
}

/// The gradient that reaches the normalization: dy, or dy masked by the fused ReLU.
template <int R>
inline vf bn_grad(const float* dy, const float* ry, const std::uint8_t* mk, std::size_t i) {
  const vf g = load(dy + i);
  if constexpr (R == kBnReluY) {
    return ReluOp().bwd_y(load(ry + i), g);
  } else if constexpr (R == kBnReluMask) {
    return ReluOp().bwd_y(select(load_mask_u8(mk + i), splat(1.0f), splat(0.0f)), g);
  } else {
    (void)ry, (void)mk;
    return g;
  }
}

/// bn_grad on the first k lanes (the others are 0).
template <int R>
inline vf bn_grad_partial(const float* dy, const float* ry, const std::uint8_t* mk, std::size_t i,
                          std::size_t k) {
  const vf g = load_partial(dy + i, k);
  if constexpr (R == kBnReluY) {
    return ReluOp().bwd_y(load_partial(ry + i, k), g);
  } else if constexpr (R == kBnReluMask) {
    return ReluOp().bwd_y(select(load_mask_u8_partial(mk + i, k), splat(1.0f), splat(0.0f)), g);
  } else {
    (void)ry, (void)mk;
    return g;
  }
}

// ------------------------------------------------------------------------------------ planes

inline void bn_stats_planes(const float* x, std::size_t planes, std::size_t stride,
                            std::size_t len, double out[2]) {
  const vf K = splat(x[0]);
  const vf z = splat(0.0f);
  vf a0 = z, a1 = z, a2 = z, a3 = z, q0 = z, q1 = z, q2 = z, q3 = z;
  for (std::size_t p = 0; p < planes; ++p) {
    const float* xp = x + p * stride;
    std::size_t i = 0;
    for (; i + 4 * kW <= len; i += 4 * kW) {
      bn_prefetch(xp + i, xp + len, 4 * kW);
      const vf t0 = load(xp + i) - K, t1 = load(xp + i + kW) - K;
      const vf t2 = load(xp + i + 2 * kW) - K, t3 = load(xp + i + 3 * kW) - K;
      a0 += t0, a1 += t1, a2 += t2, a3 += t3;
      q0 = fmadd(t0, t0, q0), q1 = fmadd(t1, t1, q1);
      q2 = fmadd(t2, t2, q2), q3 = fmadd(t3, t3, q3);
    }
    // Up to three whole vectors and a partial one left: one accumulator each.
    const std::size_t rest = (len - i) / kW;
    if (rest >= 1) {
      const vf t = load(xp + i) - K;
      a0 += t, q0 = fmadd(t, t, q0);
    }
    if (rest >= 2) {
      const vf t = load(xp + i + kW) - K;
      a1 += t, q1 = fmadd(t, t, q1);
    }
    if (rest >= 3) {
      const vf t = load(xp + i + 2 * kW) - K;
      a2 += t, q2 = fmadd(t, t, q2);
    }
    i += rest * kW;
    if (i < len) {
      const std::size_t k = len - i;
      const vf t = select(mask_first(k), load_partial(xp + i, k) - K, z);
      a3 += t, q3 = fmadd(t, t, q3);
    }
  }
  out[0] = bn_lanes_sum((a0 + a1) + (a2 + a3));
  out[1] = bn_lanes_sum((q0 + q1) + (q2 + q3));
}

template <bool Relu, bool Mask, bool NT = false>
void bn_norm_planes_t(const float* x, float* y, std::uint8_t* mask, std::size_t planes,
                      std::size_t stride, std::size_t len, float m, float a, float b) {
  const vf vmn = splat(m), va = splat(a), vb = splat(b), z = splat(0.0f);
  auto f = [&](vf v) {
    const vf r = fmadd(v - vmn, va, vb);
    if constexpr (Relu) return ReluOp().fwd(r);
    return r;
  };
  for (std::size_t p = 0; p < planes; ++p) {
    const float* xp = x + p * stride;
    float* yp = y + p * stride;
    std::uint8_t* mp = Mask ? mask + p * stride : nullptr;
    std::size_t i = 0;
    for (; i + 4 * kW <= len; i += 4 * kW) {
      bn_prefetch(xp + i, xp + len, 4 * kW);
      const vf r0 = f(load(xp + i)), r1 = f(load(xp + i + kW));
      const vf r2 = f(load(xp + i + 2 * kW)), r3 = f(load(xp + i + 3 * kW));
      store_maybe_stream<NT>(yp + i, r0), store_maybe_stream<NT>(yp + i + kW, r1);
      store_maybe_stream<NT>(yp + i + 2 * kW, r2), store_maybe_stream<NT>(yp + i + 3 * kW, r3);
      if constexpr (Mask) {
        store_mask_u8(mp + i, r0 > z), store_mask_u8(mp + i + kW, r1 > z);
        store_mask_u8(mp + i + 2 * kW, r2 > z), store_mask_u8(mp + i + 3 * kW, r3 > z);
      }
    }
    for (; i + kW <= len; i += kW) {
      const vf r = f(load(xp + i));
      store_maybe_stream<NT>(yp + i, r);
      if constexpr (Mask) store_mask_u8(mp + i, r > z);
    }
    if (i < len) {
      const std::size_t k = len - i;
      const vf r = f(load_partial(xp + i, k));
      store_partial(yp + i, r, k);
      if constexpr (Mask) store_mask_u8_partial(mp + i, r > z, k);
    }
  }
  if constexpr (NT) stream_fence();
}

inline void bn_norm_planes(const float* x, float* y, std::uint8_t* mask, std::size_t planes,
                           std::size_t stride, std::size_t len, float m, float a, float b,
                           int relu) {
  const bool nt = relu & kBnStream;
  relu &= ~kBnStream;
  if (!relu && nt)
    bn_norm_planes_t<false, false, true>(x, y, nullptr, planes, stride, len, m, a, b);
  else if (!relu)
    bn_norm_planes_t<false, false>(x, y, nullptr, planes, stride, len, m, a, b);
  else if (!mask && nt)
    bn_norm_planes_t<true, false, true>(x, y, nullptr, planes, stride, len, m, a, b);
  else if (!mask)
    bn_norm_planes_t<true, false>(x, y, nullptr, planes, stride, len, m, a, b);
  else if (nt)
    bn_norm_planes_t<true, true, true>(x, y, mask, planes, stride, len, m, a, b);
  else
    bn_norm_planes_t<true, true>(x, y, mask, planes, stride, len, m, a, b);
}

inline void bn_norm_seq(const float* x, float* y, std::size_t planes, std::size_t len,
                        const float* m, const float* a, const float* b, int relu) {
  for (std::size_t q = 0; q < planes; ++q) {
    const std::size_t o = q * len;
    bn_norm_planes(x + o, y + o, nullptr, 1, len, len, m[q], a[q], b[q], relu);
  }
}

template <int R>
void bn_bwd_reduce_planes_t(const float* x, const float* dy, const float* ry,
                            const std::uint8_t* mk, std::size_t planes, std::size_t stride,
                            std::size_t len, float m, double out[3]) {
  const vf vmn = splat(m), z = splat(0.0f);
  vf g0 = z, g1 = z, gx0 = z, gx1 = z, x0 = z, x1 = z;
  for (std::size_t p = 0; p < planes; ++p) {
    const std::size_t o = p * stride;
    const float *xp = x + o, *dp = dy + o;
    const float* rp = R == kBnReluY ? ry + o : nullptr;
    const std::uint8_t* mp = R == kBnReluMask ? mk + o : nullptr;
    std::size_t i = 0;
    for (; i + 2 * kW <= len; i += 2 * kW) {
      bn_prefetch(xp + i, xp + len, 2 * kW);
      bn_prefetch(dp + i, dp + len, 2 * kW);
      if constexpr (R == kBnReluY) bn_prefetch(rp + i, rp + len, 2 * kW);
      const vf t0 = load(xp + i) - vmn, t1 = load(xp + i + kW) - vmn;
      const vf d0 = bn_grad<R>(dp, rp, mp, i), d1 = bn_grad<R>(dp, rp, mp, i + kW);
      g0 += d0, g1 += d1;
      gx0 = fmadd(d0, t0, gx0), gx1 = fmadd(d1, t1, gx1);
      x0 += t0, x1 += t1;
    }
    if (i + kW <= len) {
      const vf t = load(xp + i) - vmn;
      const vf d = bn_grad<R>(dp, rp, mp, i);
      g0 += d, gx0 = fmadd(d, t, gx0), x0 += t;
      i += kW;
    }
    if (i < len) {
      const std::size_t k = len - i;
      const vf t = select(mask_first(k), load_partial(xp + i, k) - vmn, z);
      const vf d = bn_grad_partial<R>(dp, rp, mp, i, k);
      g1 += d, gx1 = fmadd(d, t, gx1), x1 += t;
    }
  }
  out[0] = bn_lanes_sum(g0 + g1);
  out[1] = bn_lanes_sum(gx0 + gx1);
  out[2] = bn_lanes_sum(x0 + x1);
}

inline void bn_bwd_reduce_planes(const float* x, const float* dy, const float* ry,
                                 const std::uint8_t* mk, std::size_t planes, std::size_t stride,
                                 std::size_t len, float m, int relu, double out[3]) {
  if (relu == kBnReluY)
    bn_bwd_reduce_planes_t<kBnReluY>(x, dy, ry, mk, planes, stride, len, m, out);
  else if (relu == kBnReluMask)
    bn_bwd_reduce_planes_t<kBnReluMask>(x, dy, ry, mk, planes, stride, len, m, out);
  else
    bn_bwd_reduce_planes_t<kBnPlain>(x, dy, ry, mk, planes, stride, len, m, out);
}

template <int R, bool NT>
void bn_bwd_dx_planes_t(const float* x, const float* dy, const float* ry, const std::uint8_t* mk,
                        float* dx, std::size_t planes, std::size_t stride, std::size_t len,
                        float m, float bg, float bx, float c) {
  const vf vmn = splat(m), vbg = splat(bg), vbx = splat(bx), vc = splat(c);
  auto f = [&](vf xv, vf g) { return fmadd(xv - vmn, vbx, fmadd(g, vbg, vc)); };
  for (std::size_t p = 0; p < planes; ++p) {
    const std::size_t o = p * stride;
    const float *xp = x + o, *dp = dy + o;
    const float* rp = R == kBnReluY ? ry + o : nullptr;
    const std::uint8_t* mp = R == kBnReluMask ? mk + o : nullptr;
    float* op = dx + o;
    std::size_t i = 0;
    for (; i + 2 * kW <= len; i += 2 * kW) {
      bn_prefetch(xp + i, xp + len, 2 * kW);
      bn_prefetch(dp + i, dp + len, 2 * kW);
      if constexpr (R == kBnReluY) bn_prefetch(rp + i, rp + len, 2 * kW);
      const vf r0 = f(load(xp + i), bn_grad<R>(dp, rp, mp, i));
      const vf r1 = f(load(xp + i + kW), bn_grad<R>(dp, rp, mp, i + kW));
      store_maybe_stream<NT>(op + i, r0), store_maybe_stream<NT>(op + i + kW, r1);
    }
    if (i + kW <= len) {
      store_maybe_stream<NT>(op + i, f(load(xp + i), bn_grad<R>(dp, rp, mp, i)));
      i += kW;
    }
    if (i < len) {
      const std::size_t k = len - i;
      store_partial(op + i, f(load_partial(xp + i, k), bn_grad_partial<R>(dp, rp, mp, i, k)), k);
    }
  }
  if constexpr (NT) stream_fence();
}

inline void bn_bwd_dx_planes(const float* x, const float* dy, const float* ry,
                             const std::uint8_t* mk, float* dx, std::size_t planes,
                             std::size_t stride, std::size_t len, float m, float bg, float bx,
                             float c, int relu) {
  const bool nt = relu & kBnStream;
  relu &= ~kBnStream;
  if (nt) {
    if (relu == kBnReluY)
      bn_bwd_dx_planes_t<kBnReluY, true>(x, dy, ry, mk, dx, planes, stride, len, m, bg, bx, c);
    else if (relu == kBnReluMask)
      bn_bwd_dx_planes_t<kBnReluMask, true>(x, dy, ry, mk, dx, planes, stride, len, m, bg, bx, c);
    else
      bn_bwd_dx_planes_t<kBnPlain, true>(x, dy, ry, mk, dx, planes, stride, len, m, bg, bx, c);
  } else {
    if (relu == kBnReluY)
      bn_bwd_dx_planes_t<kBnReluY, false>(x, dy, ry, mk, dx, planes, stride, len, m, bg, bx, c);
    else if (relu == kBnReluMask)
      bn_bwd_dx_planes_t<kBnReluMask, false>(x, dy, ry, mk, dx, planes, stride, len, m, bg, bx,
                                              c);
    else
      bn_bwd_dx_planes_t<kBnPlain, false>(x, dy, ry, mk, dx, planes, stride, len, m, bg, bx, c);
  }
}

// -------------------------------------------------------------------------------------- rows
// The reductions walk G channel vectors down all rows with their accumulators in registers; the
// element-wise passes walk the rows in memory order, reading the per-channel constants from L1.

/// G whole vectors (k == kW) or one partial vector of k lanes (G == 1, k < kW).
template <std::size_t G>
void bn_stats_rows_group(const float* x, std::size_t rows, std::size_t ld, std::size_t k,
                         double* s1, double* s2) {
  vf K[G], a[G], q[G];
  for (std::size_t g = 0; g < G; ++g) {
    K[g] = k == kW ? load(x + g * kW) : load_partial(x + g * kW, k);
    a[g] = splat(0.0f), q[g] = splat(0.0f);
  }
  const std::size_t pfr = bn_prefetch_rows(ld);
  for (std::size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ld;
    if (pfr && r + pfr < rows)
      for (std::size_t g = 0; g < G; ++g) __builtin_prefetch(xr + pfr * ld + g * kW);
    for (std::size_t g = 0; g < G; ++g) {
      const vf v = k == kW ? load(xr + g * kW) : load_partial(xr + g * kW, k);
      const vf t = v - K[g];  // lanes past k: 0 - 0
      a[g] += t;
      q[g] = fmadd(t, t, q[g]);
    }
  }
  for (std::size_t g = 0; g < G; ++g) {
    bn_lanes_store(s1 + g * kW, a[g], k);
    bn_lanes_store(s2 + g * kW, q[g], k);
  }
}

// Wide rows (more channels than one register group): the statistics walk the rows in memory
// order, a sweep of up to kBnSweep channel vectors at a time with the accumulators in L1; per lane
// the same operations in the same order as the register groups, so either gives the same bits.
// (Measured: 1.3-1.9x faster than register groups walking a block's rows at the row stride. The
// backward sums keep the register groups: with three accumulators per vector the L1 traffic of a
// sweep costs more than the stride does.)
constexpr std::size_t kBnSweep = 64;

inline void bn_stats_rows_wide(const float* x, std::size_t rows, std::size_t ld, std::size_t nch,
                               double* s1, double* s2) {
  const std::size_t pfr = bn_prefetch_rows(ld);
  for (std::size_t j0 = 0; j0 < nch; j0 += kBnSweep * kW) {
    const std::size_t nc = nch - j0 < kBnSweep * kW ? nch - j0 : kBnSweep * kW;
    const std::size_t nv = nc / kW, k = nc % kW;  // whole vectors, lanes of a partial one
    vf K[kBnSweep + 1], a[kBnSweep + 1], q[kBnSweep + 1];
    for (std::size_t v = 0; v < nv; ++v) K[v] = load(x + j0 + v * kW);
    if (k) K[nv] = load_partial(x + j0 + nv * kW, k);
    for (std::size_t v = 0; v < nv + (k ? 1 : 0); ++v) a[v] = splat(0.0f), q[v] = splat(0.0f);
    for (std::size_t r = 0; r < rows; ++r) {
      const float* xr = x + r * ld + j0;
      if (pfr && r + pfr < rows)
        for (std::size_t o = 0; o < nc; o += 16) __builtin_prefetch(xr + pfr * ld + o);
      for (std::size_t v = 0; v < nv; ++v) {
        const vf t = load(xr + v * kW) - K[v];
        a[v] += t;
        q[v] = fmadd(t, t, q[v]);
      }
      if (k) {
        const vf t = load_partial(xr + nv * kW, k) - K[nv];
        a[nv] += t;
        q[nv] = fmadd(t, t, q[nv]);
      }
    }
    for (std::size_t v = 0; v < nv; ++v) {
      bn_lanes_store(s1 + j0 + v * kW, a[v], kW);
      bn_lanes_store(s2 + j0 + v * kW, q[v], kW);
    }
    if (k) {
      bn_lanes_store(s1 + j0 + nv * kW, a[nv], k);
      bn_lanes_store(s2 + j0 + nv * kW, q[nv], k);
    }
  }
}

inline void bn_stats_rows(const float* x, std::size_t rows, std::size_t ld, std::size_t nch,
                          double* s1, double* s2) {
  if (nch > kBnStatsGroup * kW) return bn_stats_rows_wide(x, rows, ld, nch, s1, s2);
  std::size_t j = 0;
  for (; j + kBnStatsGroup * kW <= nch; j += kBnStatsGroup * kW)
    bn_stats_rows_group<kBnStatsGroup>(x + j, rows, ld, kW, s1 + j, s2 + j);
  for (; j + kW <= nch; j += kW) bn_stats_rows_group<1>(x + j, rows, ld, kW, s1 + j, s2 + j);
  if (j < nch) bn_stats_rows_group<1>(x + j, rows, ld, nch - j, s1 + j, s2 + j);
}

template <bool Relu, bool Mask, bool NT = false>
void bn_norm_rows_t(const float* x, float* y, std::uint8_t* mask, std::size_t rows,
                    std::size_t ld, std::size_t nch, const float* m, const float* a,
                    const float* b) {
  const vf z = splat(0.0f);
  auto f = [&](vf v, std::size_t j) {
    const vf r = fmadd(v - load(m + j), load(a + j), load(b + j));
    if constexpr (Relu) return ReluOp().fwd(r);
    return r;
  };
  const std::size_t pfr = bn_prefetch_rows(ld);
  for (std::size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ld;
    float* yr = y + r * ld;
    std::uint8_t* mr = Mask ? mask + r * ld : nullptr;
    if (pfr && r + pfr < rows)
      for (std::size_t j = 0; j < nch; j += 16) __builtin_prefetch(xr + pfr * ld + j);
    std::size_t j = 0;
    for (; j + 2 * kW <= nch; j += 2 * kW) {
      const vf r0 = f(load(xr + j), j), r1 = f(load(xr + j + kW), j + kW);
      store_maybe_stream<NT>(yr + j, r0), store_maybe_stream<NT>(yr + j + kW, r1);
      if constexpr (Mask) store_mask_u8(mr + j, r0 > z), store_mask_u8(mr + j + kW, r1 > z);
    }
    if (j + kW <= nch) {
      const vf r0 = f(load(xr + j), j);
      store_maybe_stream<NT>(yr + j, r0);
      if constexpr (Mask) store_mask_u8(mr + j, r0 > z);
      j += kW;
    }
    if (j < nch) {
      const std::size_t k = nch - j;
      const vf v = load_partial(xr + j, k);
      vf r0 = fmadd(v - load_partial(m + j, k), load_partial(a + j, k), load_partial(b + j, k));
      if constexpr (Relu) r0 = ReluOp().fwd(r0);
      store_partial(yr + j, r0, k);
      if constexpr (Mask) store_mask_u8_partial(mr + j, r0 > z, k);
    }
  }
  if constexpr (NT) stream_fence();
}

inline void bn_norm_rows(const float* x, float* y, std::uint8_t* mask, std::size_t rows,
                         std::size_t ld, std::size_t nch, const float* m, const float* a,
                         const float* b, int relu) {
  const bool nt = relu & kBnStream;
  relu &= ~kBnStream;
  if (!relu && nt)
    bn_norm_rows_t<false, false, true>(x, y, nullptr, rows, ld, nch, m, a, b);
  else if (!relu)
    bn_norm_rows_t<false, false>(x, y, nullptr, rows, ld, nch, m, a, b);
  else if (!mask && nt)
    bn_norm_rows_t<true, false, true>(x, y, nullptr, rows, ld, nch, m, a, b);
  else if (!mask)
    bn_norm_rows_t<true, false>(x, y, nullptr, rows, ld, nch, m, a, b);
  else if (nt)
    bn_norm_rows_t<true, true, true>(x, y, mask, rows, ld, nch, m, a, b);
  else
    bn_norm_rows_t<true, true>(x, y, mask, rows, ld, nch, m, a, b);
}

template <int R, std::size_t G>
void bn_bwd_reduce_rows_group(const float* x, const float* dy, const float* ry,
                              const std::uint8_t* mk, std::size_t rows, std::size_t ld,
                              std::size_t k, const float* m, double* sdy, double* sdyx,
                              double* sx) {
  vf M[G], g[G], gx[G], xs[G];
  for (std::size_t v = 0; v < G; ++v) {
    M[v] = k == kW ? load(m + v * kW) : load_partial(m + v * kW, k);
    g[v] = splat(0.0f), gx[v] = splat(0.0f), xs[v] = splat(0.0f);
  }
  const vm in = mask_first(k);
  const std::size_t pfr = bn_prefetch_rows(ld);
  for (std::size_t r = 0; r < rows; ++r) {
    const std::size_t o = r * ld;
    if (pfr && r + pfr < rows)
      for (std::size_t v = 0; v < G; ++v) {
        __builtin_prefetch(x + o + pfr * ld + v * kW);
        __builtin_prefetch(dy + o + pfr * ld + v * kW);
        if constexpr (R == kBnReluY) __builtin_prefetch(ry + o + pfr * ld + v * kW);
      }
    for (std::size_t v = 0; v < G; ++v) {
      const std::size_t i = o + v * kW;
      vf t, d;
      if (k == kW) {
        t = load(x + i) - M[v];
        d = bn_grad<R>(dy, ry, mk, i);
      } else {
        t = select(in, load_partial(x + i, k) - M[v], splat(0.0f));
        d = bn_grad_partial<R>(dy, ry, mk, i, k);
      }
      g[v] += d;
      gx[v] = fmadd(d, t, gx[v]);
      xs[v] += t;
    }
  }
  for (std::size_t v = 0; v < G; ++v) {
    bn_lanes_store(sdy + v * kW, g[v], k);
    bn_lanes_store(sdyx + v * kW, gx[v], k);
    bn_lanes_store(sx + v * kW, xs[v], k);
  }
}

template <int R>
void bn_bwd_reduce_rows_t(const float* x, const float* dy, const float* ry,
                          const std::uint8_t* mk, std::size_t rows, std::size_t ld,
                          std::size_t nch, const float* m, double* sdy, double* sdyx,
                          double* sx) {
  std::size_t j = 0;
  for (; j + kBnBwdGroup * kW <= nch; j += kBnBwdGroup * kW)
    bn_bwd_reduce_rows_group<R, kBnBwdGroup>(x + j, dy + j, R == kBnReluY ? ry + j : nullptr,
                                             R == kBnReluMask ? mk + j : nullptr, rows, ld, kW,
                                             m + j, sdy + j, sdyx + j, sx + j);
  for (; j + kW <= nch; j += kW)
    bn_bwd_reduce_rows_group<R, 1>(x + j, dy + j, R == kBnReluY ? ry + j : nullptr,
                                   R == kBnReluMask ? mk + j : nullptr, rows, ld, kW, m + j,
                                   sdy + j, sdyx + j, sx + j);
  if (j < nch)
    bn_bwd_reduce_rows_group<R, 1>(x + j, dy + j, R == kBnReluY ? ry + j : nullptr,
                                   R == kBnReluMask ? mk + j : nullptr, rows, ld, nch - j, m + j,
                                   sdy + j, sdyx + j, sx + j);
}

inline void bn_bwd_reduce_rows(const float* x, const float* dy, const float* ry,
                               const std::uint8_t* mk, std::size_t rows, std::size_t ld,
                               std::size_t nch, const float* m, int relu, double* sdy,
                               double* sdyx, double* sx) {
  if (relu == kBnReluY)
    bn_bwd_reduce_rows_t<kBnReluY>(x, dy, ry, mk, rows, ld, nch, m, sdy, sdyx, sx);
  else if (relu == kBnReluMask)
    bn_bwd_reduce_rows_t<kBnReluMask>(x, dy, ry, mk, rows, ld, nch, m, sdy, sdyx, sx);
  else
    bn_bwd_reduce_rows_t<kBnPlain>(x, dy, ry, mk, rows, ld, nch, m, sdy, sdyx, sx);
}

template <int R, bool NT>
void bn_bwd_dx_rows_t(const float* x, const float* dy, const float* ry, const std::uint8_t* mk,
                      float* dx, std::size_t rows, std::size_t ld, std::size_t nch,
                      const float* m, const float* bg, const float* bx, const float* c) {
  const std::size_t pfr = bn_prefetch_rows(ld);
  for (std::size_t r = 0; r < rows; ++r) {
    const std::size_t o = r * ld;
    if (pfr && r + pfr < rows)
      for (std::size_t j = 0; j < nch; j += 16) {
        __builtin_prefetch(x + o + pfr * ld + j);
        __builtin_prefetch(dy + o + pfr * ld + j);
        if constexpr (R == kBnReluY) __builtin_prefetch(ry + o + pfr * ld + j);
      }
    std::size_t j = 0;
    for (; j + kW <= nch; j += kW) {
      const std::size_t i = o + j;
      const vf g = bn_grad<R>(dy, ry, mk, i);
      store_maybe_stream<NT>(dx + i, fmadd(load(x + i) - load(m + j), load(bx + j),
                                 fmadd(g, load(bg + j), load(c + j))));
    }
    if (j < nch) {
      const std::size_t k = nch - j, i = o + j;
      const vf g = bn_grad_partial<R>(dy, ry, mk, i, k);
      const vf t = load_partial(x + i, k) - load_partial(m + j, k);
      store_partial(dx + i,
                    fmadd(t, load_partial(bx + j, k),
                          fmadd(g, load_partial(bg + j, k), load_partial(c + j, k))),
                    k);
    }
  }
  if constexpr (NT) stream_fence();
}

inline void bn_bwd_dx_rows(const float* x, const float* dy, const float* ry,
                           const std::uint8_t* mk, float* dx, std::size_t rows, std::size_t ld,
                           std::size_t nch, const float* m, const float* bg, const float* bx,
                           const float* c, int relu) {
  const bool nt = relu & kBnStream;
  relu &= ~kBnStream;
  if (nt) {
    if (relu == kBnReluY)
      bn_bwd_dx_rows_t<kBnReluY, true>(x, dy, ry, mk, dx, rows, ld, nch, m, bg, bx, c);
    else if (relu == kBnReluMask)
      bn_bwd_dx_rows_t<kBnReluMask, true>(x, dy, ry, mk, dx, rows, ld, nch, m, bg, bx, c);
    else
      bn_bwd_dx_rows_t<kBnPlain, true>(x, dy, ry, mk, dx, rows, ld, nch, m, bg, bx, c);
  } else {
    if (relu == kBnReluY)
      bn_bwd_dx_rows_t<kBnReluY, false>(x, dy, ry, mk, dx, rows, ld, nch, m, bg, bx, c);
    else if (relu == kBnReluMask)
      bn_bwd_dx_rows_t<kBnReluMask, false>(x, dy, ry, mk, dx, rows, ld, nch, m, bg, bx, c);
    else
      bn_bwd_dx_rows_t<kBnPlain, false>(x, dy, ry, mk, dx, rows, ld, nch, m, bg, bx, c);
  }
}
