// Philox-4x32-10 on vectors, the uniform/normal transforms, truncated normal and dropout.
// Included inside the ISA namespace after simd.hpp (needs PhiloxKey from random_table.hpp).
//
// Layout of the stream (see include/simdgrad/random.hpp): a chunk of 64 elements is 16
// consecutive Philox counters; element 16 * j + l of chunk c is word j of counter 16 * c + l.
// A vector of kW lanes holds kW consecutive counters, so each of the 4 output words of a block
// is one contiguous store, with no transpose, and the layout is the same for every kW (16 lanes
// on AVX-512, 2 x 8 on AVX2, 4 x 4 on SSE2/NEON, 16 x 1 on scalar).
//
// Every float formula here is plain multiplies and adds (never fmadd), and the kernel TUs are
// built with -ffp-contract=off: all ISAs, fused or not, produce the same bits.

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the dropout mask bit layout assumes a little-endian target"
#endif

// ------------------------------------------------------------------ 32-bit unsigned lanes
#if defined(SIMDGRAD_ISA_SCALAR)
using rng_vu = std::uint32_t;
inline rng_vu rng_splat_u(std::uint32_t v) { return v; }
inline rng_vu rng_iota_u() { return 0u; }
inline void rng_store_u(std::uint32_t* p, rng_vu v) { *p = v; }
inline vi rng_as_vi(rng_vu v) { return static_cast<vi>(v); }
/// (hi, lo) = the 64-bit product a * m.
inline void rng_mulhilo(rng_vu a, std::uint32_t m, rng_vu& hi, rng_vu& lo) {
  const std::uint64_t p = static_cast<std::uint64_t>(a) * m;
  hi = static_cast<rng_vu>(p >> 32);
  lo = static_cast<rng_vu>(p);
}
#else
using rng_vu = vi;  // int32 lanes used as uint32: add and xor wrap, shifts via srl
inline rng_vu rng_splat_u(std::uint32_t v) { return rng_vu(static_cast<std::int32_t>(v)); }
inline rng_vu rng_iota_u() {
  alignas(64) static const std::int32_t idx[16] = {0, 1, 2,  3,  4,  5,  6,  7,
                                                   8, 9, 10, 11, 12, 13, 14, 15};
  return rng_vu::load_aligned(idx);
}
inline void rng_store_u(std::uint32_t* p, rng_vu v) {
  v.store_unaligned(reinterpret_cast<std::int32_t*>(p));
}
inline vi rng_as_vi(rng_vu v) { return v; }

inline void rng_mulhilo(rng_vu a, std::uint32_t m, rng_vu& hi, rng_vu& lo) {
#if defined(SIMDGRAD_ISA_AVX512)
  const __m512i av = a, mv = _mm512_set1_epi32(static_cast<int>(m));
  const __m512i pe = _mm512_mul_epu32(av, mv);                         // lanes 0, 2, 4, ...
  const __m512i po = _mm512_mul_epu32(_mm512_srli_epi64(av, 32), mv);  // lanes 1, 3, 5, ...
  hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(pe, 32), po);
  lo = _mm512_mask_blend_epi32(0xAAAA, pe, _mm512_slli_epi64(po, 32));
#elif defined(SIMDGRAD_ISA_AVX2)
  const __m256i av = a, mv = _mm256_set1_epi32(static_cast<int>(m));
  const __m256i pe = _mm256_mul_epu32(av, mv);
  const __m256i po = _mm256_mul_epu32(_mm256_srli_epi64(av, 32), mv);
  hi = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA);
  lo = _mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);
#elif defined(SIMDGRAD_ISA_SSE2)
  const __m128i av = a, mv = _mm_set1_epi32(static_cast<int>(m));
  const __m128i pe = _mm_mul_epu32(av, mv);                      // [lo0 hi0 lo2 hi2]
  const __m128i po = _mm_mul_epu32(_mm_srli_epi64(av, 32), mv);  // [lo1 hi1 lo3 hi3]
  const __m128i himask = _mm_set_epi32(-1, 0, -1, 0);
  hi = _mm_or_si128(_mm_srli_epi64(pe, 32), _mm_and_si128(po, himask));
  lo = _mm_or_si128(_mm_andnot_si128(himask, pe), _mm_slli_epi64(po, 32));
#elif defined(SIMDGRAD_ISA_NEON)
  const uint32x4_t av = vreinterpretq_u32_s32(a);
  const uint64x2_t p01 = vmull_u32(vget_low_u32(av), vdup_n_u32(m));
  const uint64x2_t p23 = vmull_high_u32(av, vdupq_n_u32(m));
  hi = vreinterpretq_s32_u32(vuzp2q_u32(vreinterpretq_u32_u64(p01), vreinterpretq_u32_u64(p23)));
  lo = vreinterpretq_s32_u32(vuzp1q_u32(vreinterpretq_u32_u64(p01), vreinterpretq_u32_u64(p23)));
#endif
}
#endif

/// Lane mask -> bit mask (bit l = lane l), and back.
inline std::uint32_t rng_lanes_to_bits(vm m) {
#if defined(SIMDGRAD_ISA_SCALAR)
  return m ? 1u : 0u;
#elif defined(SIMDGRAD_ISA_AVX512)
  return static_cast<std::uint32_t>(static_cast<__mmask16>(m));
#elif defined(SIMDGRAD_ISA_AVX2)
  return static_cast<std::uint32_t>(_mm256_movemask_ps(static_cast<__m256>(m)));
#elif defined(SIMDGRAD_ISA_SSE2)
  return static_cast<std::uint32_t>(_mm_movemask_ps(static_cast<__m128>(m)));
#elif defined(SIMDGRAD_ISA_NEON)
  alignas(16) static const std::uint32_t w[4] = {1, 2, 4, 8};
  return vaddvq_u32(vandq_u32(static_cast<uint32x4_t>(m), vld1q_u32(w)));
#endif
}
inline vm rng_bits_to_lanes(std::uint32_t b) {
#if defined(SIMDGRAD_ISA_SCALAR)
  return (b & 1u) != 0;
#elif defined(SIMDGRAD_ISA_AVX512)
  return vm(static_cast<__mmask16>(b));
#elif defined(SIMDGRAD_ISA_AVX2)
  const __m256i w = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  const __m256i t = _mm256_and_si256(_mm256_set1_epi32(static_cast<int>(b)), w);
  return vm(_mm256_castsi256_ps(_mm256_cmpeq_epi32(t, w)));
#elif defined(SIMDGRAD_ISA_SSE2)
  const __m128i w = _mm_setr_epi32(1, 2, 4, 8);
  const __m128i t = _mm_and_si128(_mm_set1_epi32(static_cast<int>(b)), w);
  return vm(_mm_castsi128_ps(_mm_cmpeq_epi32(t, w)));
#elif defined(SIMDGRAD_ISA_NEON)
  alignas(16) static const std::uint32_t w[4] = {1, 2, 4, 8};
  return vm(vtstq_u32(vdupq_n_u32(b), vld1q_u32(w)));
#endif
}

// ------------------------------------------------------------------ Philox-4x32-10
constexpr std::uint32_t kRngPhiloxM0 = 0xD2511F53u, kRngPhiloxM1 = 0xCD9E8D57u;

/// Ten rounds on kW counters (c0..c3) at once; the round keys are the same for every lane.
inline void rng_philox10(rng_vu& c0, rng_vu& c1, rng_vu& c2, rng_vu& c3, const PhiloxKey& key) {
  for (int r = 0; r < 10; ++r) {
    rng_vu hi0, lo0, hi1, lo1;
    rng_mulhilo(c0, kRngPhiloxM0, hi0, lo0);
    rng_mulhilo(c2, kRngPhiloxM1, hi1, lo1);
    const rng_vu n0 = hi1 ^ c1 ^ rng_splat_u(key.k0[r]);
    const rng_vu n2 = hi0 ^ c3 ^ rng_splat_u(key.k1[r]);
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
  }
}

/// The four words of the kW counters (ctr + lane, w2, w3), ctr a multiple of kW (so the low
/// word never carries between lanes: kW divides 2^32).
inline void rng_philox_words(const PhiloxKey& key, std::uint64_t ctr, std::uint32_t w2,
                         std::uint32_t w3, rng_vu w[4]) {
  w[0] = rng_splat_u(static_cast<std::uint32_t>(ctr)) + rng_iota_u();
  w[1] = rng_splat_u(static_cast<std::uint32_t>(ctr >> 32));
  w[2] = rng_splat_u(w2);
  w[3] = rng_splat_u(w3);
  rng_philox10(w[0], w[1], w[2], w[3], key);
}

// ------------------------------------------------------------------ word -> float
/// (w >> 8) * 2^-24: uniform in [0, 1), 24 bits, exact.
inline vf rng_unit24(rng_vu w) {
#if defined(SIMDGRAD_ISA_SCALAR)
  return static_cast<float>(static_cast<std::int32_t>(w >> 8)) * 0x1p-24f;
#else
  return to_float(srl(w, 8)) * splat(0x1p-24f);
#endif
}
/// (w >> 1) * 2^-31 + 2^-32 (rounded to nearest): in [2^-32, 1], never 0.
inline vf rng_unit_open(rng_vu w) {
#if defined(SIMDGRAD_ISA_SCALAR)
  return static_cast<float>(static_cast<std::int32_t>(w >> 1)) * 0x1p-31f + 0x1p-32f;
#else
  return to_float(srl(w, 1)) * splat(0x1p-31f) + splat(0x1p-32f);
#endif
}

// ------------------------------------------------------------------ log, sin/cos (unfused)
/// Natural logarithm for positive normal x (the RNG's inputs are in [2^-32, 1]): x = 2^e * m,
/// m in [sqrt(1/2), sqrt(2)), log(m) = t + t^2 Q(t), t = m - 1, Q a degree-8 minimax polynomial
/// (relative error 4.1e-9 before rounding, fitted by Remez for this library). Plain multiplies
/// and adds: the same bits on every ISA.
inline vf rng_log(vf x) {
  const vi ix = to_bits(x) - vi(0x3f3504f3);
  const vi e = sra(ix, 23);
  const vf t = from_bits((ix & vi(0x007fffff)) + vi(0x3f3504f3)) - splat(1.0f);
  vf q = splat(-7.62177906e-02f);
  q = q * t + splat(1.29044336e-01f);
  q = q * t + splat(-1.32429876e-01f);
  q = q * t + splat(1.41818251e-01f);
  q = q * t + splat(-1.66090826e-01f);
  q = q * t + splat(2.00019739e-01f);
  q = q * t + splat(-2.50015830e-01f);
  q = q * t + splat(3.33333257e-01f);
  q = q * t + splat(-4.99999883e-01f);
  const vf lg = (t * t) * q + t;
  const vf ef = to_float(e);
  return ef * splat(0.693145751953125f) + (ef * splat(1.42860677e-06f) + lg);
}

/// sin(2 pi u) and cos(2 pi u) for |u| < 2^21: u = k/4 + f exactly (k = round(4u), |f| <= 1/8),
/// sin(2 pi f) = f S(f^2), cos(2 pi f) = 1 + f^2 C(f^2) (minimax, relative error 3.2e-9 and
/// 6.4e-11 before rounding), then the quadrant k mod 4 swaps and negates.
inline void rng_sincos2pi(vf u, vf& s, vf& c) {
  const vf shifter = splat(12582912.0f);  // 1.5 * 2^23: x + shifter rounds x to an integer
  const vf t = u * splat(4.0f) + shifter;
  const vi k = to_bits(t);                // low bits: round(4u) mod 2^22
  const vf f = u - (t - shifter) * splat(0.25f);
  const vf x = f * f;
  vf sp = splat(-7.53935628e+01f);
  sp = sp * x + splat(8.15923536e+01f);
  sp = sp * x + splat(-4.13416615e+01f);
  sp = sp * x + splat(6.28318529e+00f);
  const vf sn = f * sp;
  vf cp = splat(5.92292441e+01f);
  cp = cp * x + splat(-8.54432363e+01f);
  cp = cp * x + splat(6.49393219e+01f);
  cp = cp * x + splat(-1.97392087e+01f);
  const vf cs = x * cp + splat(1.0f);
  const vm swap = to_float(k & vi(1)) > splat(0.5f);
  const vi sign_s = shl(k & vi(2), 30);
  const vi sign_c = shl((k + vi(1)) & vi(2), 30);
  s = from_bits(to_bits(select(swap, cs, sn)) ^ sign_s);
  c = from_bits(to_bits(select(swap, sn, cs)) ^ sign_c);
}

/// Box-Muller: (r cos(2 pi v), r sin(2 pi v)), r = sqrt(-2 log(u)).
inline void rng_box_muller(rng_vu wr, rng_vu wa, vf& z0, vf& z1) {
  const vf r = vsqrt(splat(-2.0f) * rng_log(rng_unit_open(wr)));  // IEEE on every ISA
  vf s, c;
  rng_sincos2pi(rng_unit24(wa), s, c);
  z0 = r * c;
  z1 = r * s;
}

// ------------------------------------------------------------------ chunk drivers
constexpr std::size_t kRngChunk = 64;        // elements per chunk: 16 counters x 4 words
constexpr std::size_t kRngRows = 16 / kW;   // vectors per word row of a chunk

/// Calls full(chunk, i) for each whole chunk of [offset, offset + n) (its 64 elements start at
/// index i of the call), and part(chunk, i, r0, cnt) for a partial chunk (elements r0 ..
/// r0 + cnt of the chunk are indices i .. i + cnt of the call).
template <std::size_t N, class Full, class Part>
inline void rng_for_chunks(std::uint64_t offset, std::size_t n, Full&& full, Part&& part) {
  if (n == 0) return;
  std::size_t i = 0;
  std::uint64_t e = offset;
  const std::size_t r0 = static_cast<std::size_t>(e % N);
  if (r0 != 0 || n < N) {
    const std::size_t cnt = (N - r0 < n) ? N - r0 : n;
    part(e / N, i, r0, cnt);
    i += cnt;
    e += cnt;
  }
  for (; n - i >= N; i += N, e += N) full(e / N, i);
  if (i < n) part(e / N, i, std::size_t{0}, n - i);
}

/// The 64 raw words of a chunk into dst[0, 64).
inline void rng_bits_chunk(const PhiloxKey& key, std::uint64_t chunk, std::uint32_t* dst) {
  for (std::size_t g = 0; g < kRngRows; ++g) {
    rng_vu w[4];
    rng_philox_words(key, chunk * 16 + g * kW, 0, 0, w);
    for (int j = 0; j < 4; ++j) rng_store_u(dst + 16 * j + g * kW, w[j]);
  }
}

inline void rng_uniform_chunk(const PhiloxKey& key, std::uint64_t chunk, float* dst, float lo,
                          float width) {
  for (std::size_t g = 0; g < kRngRows; ++g) {
    rng_vu w[4];
    rng_philox_words(key, chunk * 16 + g * kW, 0, 0, w);
    for (int j = 0; j < 4; ++j)
      store(dst + 16 * j + g * kW, rng_unit24(w[j]) * splat(width) + splat(lo));
  }
}

inline void rng_normal_chunk(const PhiloxKey& key, std::uint64_t chunk, float* dst, float mean,
                         float stddev) {
  for (std::size_t g = 0; g < kRngRows; ++g) {
    rng_vu w[4];
    rng_philox_words(key, chunk * 16 + g * kW, 0, 0, w);
    vf z0, z1, z2, z3;
    rng_box_muller(w[0], w[1], z0, z1);
    rng_box_muller(w[2], w[3], z2, z3);
    const vf sd = splat(stddev), mu = splat(mean);
    store(dst + g * kW, z0 * sd + mu);
    store(dst + 16 + g * kW, z1 * sd + mu);
    store(dst + 32 + g * kW, z2 * sd + mu);
    store(dst + 48 + g * kW, z3 * sd + mu);
  }
}

/// y = x * (keep ? scale : 0) over one chunk (x, y: 64 elements); returns the keep bits.
inline std::uint64_t rng_dropout_chunk(const PhiloxKey& key, std::uint64_t chunk, float p,
                                   float scale, const float* x, float* y) {
  std::uint64_t bits = 0;
  for (std::size_t g = 0; g < kRngRows; ++g) {
    rng_vu w[4];
    rng_philox_words(key, chunk * 16 + g * kW, 0, 0, w);
    for (int j = 0; j < 4; ++j) {
      const std::size_t pos = 16 * j + g * kW;
      const vm keep = rng_unit24(w[j]) >= splat(p);
      store(y + pos, load(x + pos) * select(keep, splat(scale), splat(0.0f)));
      bits |= static_cast<std::uint64_t>(rng_lanes_to_bits(keep)) << pos;
    }
  }
  return bits;
}

/// Writes cnt (<= 64) bits at bit position pos of m (bit pos % 8 of byte pos / 8), leaving
/// the other bits of the bytes it touches as they were.
inline void rng_put_bits(std::uint8_t* m, std::size_t pos, std::uint64_t bits, std::size_t cnt) {
  while (cnt > 0) {
    const std::size_t sh = pos % 8;
    const std::size_t take = (8 - sh < cnt) ? 8 - sh : cnt;
    const unsigned msk = ((1u << take) - 1u) << sh;
    std::uint8_t& b = m[pos / 8];
    b = static_cast<std::uint8_t>((b & ~msk) | ((static_cast<unsigned>(bits) << sh) & msk));
    bits >>= take;
    pos += take;
    cnt -= take;
  }
}
/// Reads cnt (<= 32) bits at bit position pos.
inline std::uint32_t rng_get_bits(const std::uint8_t* m, std::size_t pos, std::size_t cnt) {
  std::uint64_t v = 0;
  const std::size_t first = pos / 8, last = (pos + cnt - 1) / 8;
  for (std::size_t b = first; b <= last; ++b) v |= static_cast<std::uint64_t>(m[b]) << (8 * (b - first));
  v >>= pos % 8;
  return static_cast<std::uint32_t>(v & ((std::uint64_t{1} << cnt) - 1));
}

// ------------------------------------------------------------------ table entries
void rng_bits_entry(const PhiloxKey& key, std::uint64_t offset, std::uint32_t* out, std::size_t n) {
  rng_for_chunks<kRngChunk>(
      offset, n, [&](std::uint64_t c, std::size_t i) { rng_bits_chunk(key, c, out + i); },
      [&](std::uint64_t c, std::size_t i, std::size_t r0, std::size_t cnt) {
        alignas(64) std::uint32_t tmp[kRngChunk];
        rng_bits_chunk(key, c, tmp);
        std::memcpy(out + i, tmp + r0, cnt * sizeof(std::uint32_t));
      });
}

void rng_uniform_entry(const PhiloxKey& key, std::uint64_t offset, float* out, std::size_t n, float lo,
                  float width) {
  rng_for_chunks<kRngChunk>(
      offset, n, [&](std::uint64_t c, std::size_t i) { rng_uniform_chunk(key, c, out + i, lo, width); },
      [&](std::uint64_t c, std::size_t i, std::size_t r0, std::size_t cnt) {
        alignas(64) float tmp[kRngChunk];
        rng_uniform_chunk(key, c, tmp, lo, width);
        std::memcpy(out + i, tmp + r0, cnt * sizeof(float));
      });
}

void rng_normal_entry(const PhiloxKey& key, std::uint64_t offset, float* out, std::size_t n,
                 float mean, float stddev) {
  rng_for_chunks<kRngChunk>(
      offset, n,
      [&](std::uint64_t c, std::size_t i) { rng_normal_chunk(key, c, out + i, mean, stddev); },
      [&](std::uint64_t c, std::size_t i, std::size_t r0, std::size_t cnt) {
        alignas(64) float tmp[kRngChunk];
        rng_normal_chunk(key, c, tmp, mean, stddev);
        std::memcpy(out + i, tmp + r0, cnt * sizeof(float));
      });
}

/// Truncated normal for the kW elements e0 .. e0 + kW - 1 (e0 a multiple of kW): attempt a
/// uses the block of counter (lo32(e), hi32(e), a, 1), which gives two candidates: the two
/// Box-Muller values (mode 0), or (w0, w2) and (w1, w3) as (proposal, acceptance) words
/// (modes 1, 2). The first candidate accepted wins.
inline vf rng_trunc_vec(const PhiloxKey& key, const TruncNormalSpec& sp, std::uint64_t e0) {
  const vf alpha = splat(sp.alpha), beta = splat(sp.beta);
  vf out = splat(0.0f), last = splat(0.0f);
  vm pending = splat(0.0f) == splat(0.0f);
  auto propose = [&](rng_vu wp, rng_vu wa, vf& z) {
    const vf lhs = rng_log(rng_unit_open(wa)) * splat(2.0f);
    if (sp.mode == 1) {
      z = rng_unit24(wp) * splat(sp.width) + alpha;
      return m_and(z <= beta, lhs <= splat(sp.x0sq) - z * z);
    }
    z = alpha - rng_log(rng_unit_open(wp)) * splat(sp.inv_lambda);
    const vf d = z - splat(sp.lambda);
    return m_and(z <= beta, lhs <= splat(0.0f) - d * d);
  };
  for (int a = 0; a < kTruncMaxAttempts; ++a) {
    rng_vu w[4];
    rng_philox_words(key, e0, static_cast<std::uint32_t>(a), 1u, w);
    vf z0, z1;
    vm ok0, ok1;
    if (sp.mode == 0) {
      rng_box_muller(w[0], w[1], z0, z1);
      ok0 = m_and(z0 >= alpha, z0 <= beta);
      ok1 = m_and(z1 >= alpha, z1 <= beta);
    } else {
      ok0 = propose(w[0], w[2], z0);
      ok1 = propose(w[1], w[3], z1);
    }
    out = select(m_and(pending, ok0), z0, select(m_and(pending, ok1), z1, out));
    pending = m_and(pending, m_not(m_or(ok0, ok1)));
    last = z1;
    if (!any_of(pending)) break;
  }
  out = select(pending, last, out);  // unreachable in practice (see kTruncMaxAttempts)
  vf y = out * splat(sp.scale) + splat(sp.mean);
  y = select(y < splat(sp.lo), splat(sp.lo), y);
  y = select(y > splat(sp.hi), splat(sp.hi), y);
  return y;
}

inline void rng_trunc_chunk(const PhiloxKey& key, const TruncNormalSpec& sp, std::uint64_t chunk,
                        float* dst) {
  for (std::size_t g = 0; g < kRngRows; ++g) store(dst + g * kW, rng_trunc_vec(key, sp, chunk * 16 + g * kW));
}

void rng_trunc_entry(const PhiloxKey& key, const TruncNormalSpec& sp, std::uint64_t offset,
                       float* out, std::size_t n) {
  rng_for_chunks<16>(
      offset, n, [&](std::uint64_t c, std::size_t i) { rng_trunc_chunk(key, sp, c, out + i); },
      [&](std::uint64_t c, std::size_t i, std::size_t r0, std::size_t cnt) {
        alignas(64) float tmp[16];
        rng_trunc_chunk(key, sp, c, tmp);
        std::memcpy(out + i, tmp + r0, cnt * sizeof(float));
      });
}

void rng_dropout_fwd(const PhiloxKey& key, std::uint64_t offset, float p, float scale, const float* x,
                 float* y, std::size_t n, std::uint8_t* mask) {
  rng_for_chunks<kRngChunk>(
      offset, n,
      [&](std::uint64_t c, std::size_t i) {
        const std::uint64_t b = rng_dropout_chunk(key, c, p, scale, x + i, y + i);
        if (mask) {
          if (i % 8 == 0)
            std::memcpy(mask + i / 8, &b, 8);  // little-endian: bit i of byte i / 8
          else
            rng_put_bits(mask, i, b, kRngChunk);
        }
      },
      [&](std::uint64_t c, std::size_t i, std::size_t r0, std::size_t cnt) {
        alignas(64) float tx[kRngChunk] = {}, ty[kRngChunk];
        std::memcpy(tx + r0, x + i, cnt * sizeof(float));
        const std::uint64_t b = rng_dropout_chunk(key, c, p, scale, tx, ty);
        std::memcpy(y + i, ty + r0, cnt * sizeof(float));
        if (mask) rng_put_bits(mask, i, b >> r0, cnt);
      });
}

void rng_dropout_mask_bwd(const std::uint8_t* mask, float scale, const float* dy, float* dx,
                          std::size_t n) {
  const vf s = splat(scale), zero = splat(0.0f);
  std::size_t i = 0;
  for (; i + 64 <= n; i += 64) {  // 64 bits at a time (little-endian: bit i of byte i / 8)
    std::uint64_t bits;
    std::memcpy(&bits, mask + i / 8, 8);
    for (std::size_t v = 0; v < 64; v += kW) {
      const std::uint32_t b = static_cast<std::uint32_t>(bits >> v);
      store(dx + i + v, load(dy + i + v) * select(rng_bits_to_lanes(b), s, zero));
    }
  }
  for (; i + kW <= n; i += kW)
    store(dx + i, load(dy + i) * select(rng_bits_to_lanes(rng_get_bits(mask, i, kW)), s, zero));
  if (i < n) {
    const std::size_t k = n - i;
    store_partial(dx + i, load_partial(dy + i, k) * select(rng_bits_to_lanes(rng_get_bits(mask, i, k)), s, zero),
                  k);
  }
}
