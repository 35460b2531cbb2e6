// Accurate reductions over fp32 arrays: sums in fp64 lanes, max |x| with NaN propagation, and the
// gradient-health statistics, all in one pass. Included inside the ISA namespace after simd.hpp;
// any family may reuse it (the optimizer family does, for LAMB's norms).
//
// Order of summation: a fixed number of fp64 vector accumulators per call, lanes added in a
// fixed order at the end. So a call's result depends only on its data, its length and the ISA,
// never on threads (callers combine blocks in a fixed order). The square of a float is exact in
// double, so fused and unfused multiply-adds give the same fp64 sums.

// ---------------------------------------------------------------------------- fp64 lanes

#if defined(SIMDGRAD_ISA_SCALAR)
using vd = double;
/// Splits x into two halves of doubles (the scalar path: lo = x, hi = 0).
inline void widen(vf x, vd& lo, vd& hi) {
  lo = static_cast<double>(x);
  hi = 0.0;
}
inline double hsum_d(vd x) { return x; }
inline vd vabs_d(vd x) { return __builtin_fabs(x); }
#else
using vd = xsimd::batch<double, arch_t>;
inline void widen(vf x, vd& lo, vd& hi) {
#if defined(SIMDGRAD_ISA_AVX512)
  const __m512 r = x;
  lo = vd(_mm512_cvtps_pd(_mm512_castps512_ps256(r)));
  hi = vd(_mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(r), 1))));
#elif defined(SIMDGRAD_ISA_AVX2)
  const __m256 r = x;
  lo = vd(_mm256_cvtps_pd(_mm256_castps256_ps128(r)));
  hi = vd(_mm256_cvtps_pd(_mm256_extractf128_ps(r, 1)));
#elif defined(SIMDGRAD_ISA_SSE2)
  const __m128 r = x;
  lo = vd(_mm_cvtps_pd(r));
  hi = vd(_mm_cvtps_pd(_mm_movehl_ps(r, r)));
#elif defined(SIMDGRAD_ISA_NEON)
  const float32x4_t r = x;
  lo = vd(vcvt_f64_f32(vget_low_f32(r)));
  hi = vd(vcvt_high_f64_f32(r));
#endif
}
inline double hsum_d(vd x) { return xsimd::hadd(x); }
inline vd vabs_d(vd x) { return xsimd::abs(x); }
#endif

/// acc_lo/acc_hi += the squares of x's lanes, in fp64.
inline void add_sq_d(vd& acc_lo, vd& acc_hi, vf x) {
  vd lo, hi;
  widen(x, lo, hi);
  acc_lo = acc_lo + lo * lo;
  acc_hi = acc_hi + hi * hi;
}
/// acc_lo/acc_hi += x's lanes, in fp64.
inline void add_d(vd& acc_lo, vd& acc_hi, vf x) {
  vd lo, hi;
  widen(x, lo, hi);
  acc_lo = acc_lo + lo;
  acc_hi = acc_hi + hi;
}

/// The largest lane of x (lanes are not NaN).
inline float max_lane(vf x) {
#if defined(SIMDGRAD_ISA_SCALAR)
  return x;
#else
  alignas(64) float b[kW];
  x.store_aligned(b);
  float m = b[0];
  for (std::size_t i = 1; i < kW; ++i) m = b[i] > m ? b[i] : m;
  return m;
#endif
}

/// max(a, b), NaN when either is NaN (torch.maximum).
inline vf max_nan(vf a, vf b) {
  const vf r = select(a < b, b, a);
  return select(is_nan(b), b, r);
}

// ------------------------------------------------------------------------------ reductions

/// Prefetches the cache lines of p[512 .. 512 + 2 kW) (2 KiB ahead). The reductions read one
/// stream and compute little per element: without it the hardware prefetchers, which stop at
/// every 4 KiB page, leave a norm over 64 MB at half the read bandwidth (measured 5.8 GB/s
/// against a copy loop's 9-10). Blocks are consecutive pieces of a tensor, so prefetching past
/// a block's end fetches the next block.
inline void prefetch_ahead2(const float* p) {
  if constexpr (kW > 1) prefetch_ahead(p, 2 * kW);  // (scalar: not every other element)
}

inline double sum_sq_kernel(const float* x, std::size_t n) {
  vd a0(0.0), a1(0.0), a2(0.0), a3(0.0);
  std::size_t i = 0;
  for (; i + 2 * kW <= n; i += 2 * kW) {
    prefetch_ahead2(x + i);
    add_sq_d(a0, a1, load(x + i));
    add_sq_d(a2, a3, load(x + i + kW));
  }
  if (i + kW <= n) {
    add_sq_d(a0, a1, load(x + i));
    i += kW;
  }
  if (i < n) add_sq_d(a2, a3, load_partial(x + i, n - i));
  return hsum_d((a0 + a2) + (a1 + a3));
}

inline double sum_abs_kernel(const float* x, std::size_t n) {
  vd a0(0.0), a1(0.0), a2(0.0), a3(0.0);
  std::size_t i = 0;
  for (; i + 2 * kW <= n; i += 2 * kW) {
    prefetch_ahead2(x + i);
    add_d(a0, a1, vabs(load(x + i)));
    add_d(a2, a3, vabs(load(x + i + kW)));
  }
  if (i + kW <= n) {
    add_d(a0, a1, vabs(load(x + i)));
    i += kW;
  }
  if (i < n) add_d(a2, a3, vabs(load_partial(x + i, n - i)));
  return hsum_d((a0 + a2) + (a1 + a3));
}

inline float max_abs_kernel(const float* x, std::size_t n) {
  const vf zero = splat(0.0f);
  vf m0 = zero, m1 = zero;
  vm nan0 = is_nan(zero), nan1 = nan0;
  std::size_t i = 0;
  for (; i + 2 * kW <= n; i += 2 * kW) {
    prefetch_ahead2(x + i);
    const vf a = vabs(load(x + i)), b = vabs(load(x + i + kW));
    m0 = select(a > m0, a, m0);
    m1 = select(b > m1, b, m1);
    nan0 = m_or(nan0, is_nan(a));
    nan1 = m_or(nan1, is_nan(b));
  }
  for (; i < n; i += kW) {
    const vf a = vabs(i + kW <= n ? load(x + i) : load_partial(x + i, n - i));
    m0 = select(a > m0, a, m0);
    nan0 = m_or(nan0, is_nan(a));
  }
  if (any_of(m_or(nan0, nan1))) return __builtin_nanf("");
  const vf m = select(m1 > m0, m1, m0);
  return max_lane(m);
}

/// One pass: sum g^2 and sum |g| (fp64), max |g|, and the NaN / inf / below-threshold counts.
/// Counts are kept in float lanes, exact below 2^24 per lane: the loop flushes them to integers
/// every kHealthChunk elements, so any n works. Two independent sets of accumulators (even and
/// odd vectors) halve the dependency chains; they are combined in a fixed order.
struct HealthAcc {
  vd s0, s1, a0, a1;   // sum g^2, sum |g| (low and high halves of the lanes)
  vf mx, cn, ci, cb;   // max |g|; NaN, inf, below counts of the current chunk
};

inline void health_init(HealthAcc& h) {
  h.s0 = h.s1 = h.a0 = h.a1 = vd(0.0);
  h.mx = h.cn = h.ci = h.cb = splat(0.0f);
}

inline void health_step(HealthAcc& h, vf g, vf thr) {
  const vf zero = splat(0.0f), one = splat(1.0f), inf = splat(__builtin_inff());
  const vf a = vabs(g);
  vd lo, hi;
  widen(g, lo, hi);  // once: |x| in double is the absolute value of the widened x
  h.s0 = h.s0 + lo * lo;
  h.s1 = h.s1 + hi * hi;
  h.a0 = h.a0 + vabs_d(lo);
  h.a1 = h.a1 + vabs_d(hi);
  h.mx = select(a > h.mx, a, h.mx);
  h.cn = h.cn + select(is_nan(a), one, zero);
  h.ci = h.ci + select(a == inf, one, zero);
  h.cb = h.cb + select(a < thr, one, zero);
}

inline void health_kernel(const float* x, std::size_t n, float threshold, HealthPartial* out) {
  constexpr std::size_t kHealthChunk = std::size_t{1} << 20;
  const vf thr = splat(threshold), zero = splat(0.0f);
  HealthAcc e, o;
  health_init(e);
  health_init(o);
  std::size_t nan_count = 0, inf_count = 0, below_count = 0;
  auto flush = [&]() {
    nan_count += static_cast<std::size_t>(hsum(e.cn)) + static_cast<std::size_t>(hsum(o.cn));
    inf_count += static_cast<std::size_t>(hsum(e.ci)) + static_cast<std::size_t>(hsum(o.ci));
    below_count += static_cast<std::size_t>(hsum(e.cb)) + static_cast<std::size_t>(hsum(o.cb));
    e.cn = e.ci = e.cb = o.cn = o.ci = o.cb = zero;
  };
  std::size_t i = 0;
  while (i + 2 * kW <= n) {
    const std::size_t end = (n - i > kHealthChunk) ? i + kHealthChunk : n;
    for (; i + 2 * kW <= end; i += 2 * kW) {
      prefetch_ahead2(x + i);
      health_step(e, load(x + i), thr);
      health_step(o, load(x + i + kW), thr);
    }
    flush();
  }
  if (i + kW <= n) {
    health_step(e, load(x + i), thr);
    i += kW;
  }
  if (i < n) {
    const std::size_t k = n - i;
    health_step(o, load_partial(x + i, k), thr);
    // The kW - k padding lanes are zeros: below the threshold whenever it is > 0.
    if (threshold > 0.0f) below_count -= kW - k;
  }
  flush();
  out->sum_sq = hsum_d((e.s0 + e.s1) + (o.s0 + o.s1));
  out->sum_abs = hsum_d((e.a0 + e.a1) + (o.a0 + o.a1));
  out->max_abs = nan_count ? __builtin_nanf("") : max_lane(select(o.mx > e.mx, o.mx, e.mx));
  out->nan_count = nan_count;
  out->inf_count = inf_count;
  out->below_count = below_count;
}
