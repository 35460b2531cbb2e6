// The vector vocabulary every kernel template is written in. Included inside the ISA namespace.
//
//   vf  float vector of kW lanes       vi  int32 vector of kW lanes      vm  lane mask of vf
//   load/store (unaligned), load_partial/store_partial (first k lanes), splat
//   first_lanes(k) (a mask of the first k lanes), load_lanes/store_lanes (under such a mask)
//   fmadd(a,b,c) = a*b+c, fnmadd(a,b,c) = c-a*b: fused on ISAs with FMA (avx2, avx512, neon),
//   a product then a sum on sse2 and on scalar x86-64 (the "unfused" formula family)
//   select(m,a,b), to_bits/from_bits (reinterpret), m_and/m_or/m_not, any_of
// The scalar path is the same templates with vf = float, vi = int32_t, vm = bool.

#if defined(SIMDGRAD_ISA_SCALAR)

using vf = float;
using vi = std::int32_t;
using vm = bool;
constexpr std::size_t kW = 1;
constexpr int kVectorRegs = 16;  // the register tiles' budget (x86-64's 16 xmm)
#if defined(__FP_FAST_FMAF)
#define SIMDGRAD_FUSED 1
inline vf fmadd(vf a, vf b, vf c) { return __builtin_fmaf(a, b, c); }
inline vf fnmadd(vf a, vf b, vf c) { return __builtin_fmaf(-a, b, c); }
#else
#define SIMDGRAD_FUSED 0
inline vf fmadd(vf a, vf b, vf c) { return a * b + c; }
inline vf fnmadd(vf a, vf b, vf c) { return c - a * b; }
#endif
inline vf load(const float* p) { return *p; }
inline vf load_once(const float* p) { return *p; }
inline void store(float* p, vf v) { *p = v; }
inline vf load_partial(const float* p, std::size_t k) { return k ? *p : 0.0f; }
inline void store_partial(float* p, vf v, std::size_t k) { if (k) *p = v; }
using lanes_t = std::size_t;
inline lanes_t first_lanes(std::size_t k) { return k; }
inline vf load_lanes(const float* p, lanes_t k) { return load_partial(p, k); }
inline void store_lanes(float* p, vf v, lanes_t k) { store_partial(p, v, k); }
inline vf splat(float s) { return s; }
inline vf select(vm m, vf a, vf b) { return m ? a : b; }
inline vi select_i(bool m, vi a, vi b) { return m ? a : b; }
inline vi to_bits(vf x) { vi i; std::memcpy(&i, &x, 4); return i; }
inline vf from_bits(vi i) { vf x; std::memcpy(&x, &i, 4); return x; }
inline vf to_float(vi i) { return static_cast<float>(i); }
inline vi shl(vi i, int n) { return static_cast<vi>(static_cast<std::uint32_t>(i) << n); }
inline vi sra(vi i, int n) { return i >> n; }
inline vi srl(vi i, int n) { return static_cast<vi>(static_cast<std::uint32_t>(i) >> n); }
inline vm m_and(vm a, vm b) { return a && b; }
inline vm m_or(vm a, vm b) { return a || b; }
inline vm m_not(vm a) { return !a; }
inline bool any_of(vm m) { return m; }
inline vm is_nan(vf x) { return x != x; }
inline vf vabs(vf x) { return from_bits(to_bits(x) & 0x7fffffff); }
inline vf vsqrt(vf x) { return __builtin_sqrtf(x); }
inline vf vdiv(vf a, vf b) { return a / b; }
inline float hsum(vf x) { return x; }
inline float hmax(vf x) { return x; }
inline vf hsum_rows(const vf* rows) { return rows[0]; }
inline vf lanes_from(vf v, std::size_t) { return v; }

#else  // xsimd

#if defined(SIMDGRAD_ISA_AVX512)
using arch_t = xsimd::avx512bw;
#define SIMDGRAD_FUSED 1
#elif defined(SIMDGRAD_ISA_AVX2)
using arch_t = xsimd::fma3<xsimd::avx2>;
#define SIMDGRAD_FUSED 1
#elif defined(SIMDGRAD_ISA_SSE2)
using arch_t = xsimd::sse2;
#define SIMDGRAD_FUSED 0
#elif defined(SIMDGRAD_ISA_NEON)
using arch_t = xsimd::neon64;
#define SIMDGRAD_FUSED 1
#else
#error "unknown SIMDGRAD_ISA"
#endif

using vf = xsimd::batch<float, arch_t>;
using vi = xsimd::batch<std::int32_t, arch_t>;
using vm = xsimd::batch_bool<float, arch_t>;
constexpr std::size_t kW = vf::size;
// Architectural vector registers, the register tiles' budget.
#if defined(SIMDGRAD_ISA_AVX512) || defined(SIMDGRAD_ISA_NEON)
constexpr int kVectorRegs = 32;
#else
constexpr int kVectorRegs = 16;
#endif

// xsimd 8.1 does not fuse xsimd::fma on AVX-512, so each ISA states its FMA explicitly.
inline vf fmadd(vf a, vf b, vf c) {
#if defined(SIMDGRAD_ISA_AVX512)
  return _mm512_fmadd_ps(a, b, c);
#elif defined(SIMDGRAD_ISA_AVX2)
  return _mm256_fmadd_ps(a, b, c);
#elif defined(SIMDGRAD_ISA_NEON)
  return vfmaq_f32(c, a, b);
#else
  return a * b + c;
#endif
}
inline vf fnmadd(vf a, vf b, vf c) {
#if defined(SIMDGRAD_ISA_AVX512)
  return _mm512_fnmadd_ps(a, b, c);
#elif defined(SIMDGRAD_ISA_AVX2)
  return _mm256_fnmadd_ps(a, b, c);
#elif defined(SIMDGRAD_ISA_NEON)
  return vfmsq_f32(c, a, b);
#else
  return c - a * b;
#endif
}

inline vf load(const float* p) { return vf::load_unaligned(p); }
/// load(p) kept in a register: GCC otherwise folds a load used by several multiply-adds into
/// each of them as a memory operand, one load per use (AVX2 and AVX-512; elsewhere load).
inline vf load_once(const float* p) {
  vf v = load(p);
#if defined(SIMDGRAD_ISA_AVX512) || defined(SIMDGRAD_ISA_AVX2)
  auto r = static_cast<typename vf::register_type>(v);
  __asm__("" : "+v"(r));
  v = r;
#endif
  return v;
}
inline void store(float* p, vf v) { v.store_unaligned(p); }
inline vf splat(float s) { return vf(s); }

inline vf load_partial(const float* p, std::size_t k) {
#if defined(SIMDGRAD_ISA_AVX512)
  return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << k) - 1u), p);
#elif defined(SIMDGRAD_ISA_AVX2)
  // one masked load (masked-off lanes read as 0 and never fault), not a copy through the stack
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(k)), lanes));
#else
  alignas(64) float buf[kW] = {};
  for (std::size_t i = 0; i < k && i < kW; ++i) buf[i] = p[i];  // k <= kW (bounded for GCC)
  return vf::load_aligned(buf);
#endif
}
inline void store_partial(float* p, vf v, std::size_t k) {
#if defined(SIMDGRAD_ISA_AVX512)
  _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << k) - 1u), v);
#elif defined(SIMDGRAD_ISA_AVX2)
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  _mm256_maskstore_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(k)), lanes), v);
#else
  alignas(64) float buf[kW];
  v.store_aligned(buf);
  for (std::size_t i = 0; i < k && i < kW; ++i) p[i] = buf[i];
#endif
}

/// The first k lanes (1 <= k <= kW) as a mask made once, for loops that load and store the same
/// partial vector many times (load_partial and store_partial make theirs on every call).
#if defined(SIMDGRAD_ISA_AVX512)
using lanes_t = __mmask16;
inline lanes_t first_lanes(std::size_t k) { return static_cast<__mmask16>((1u << k) - 1u); }
inline vf load_lanes(const float* p, lanes_t m) { return _mm512_maskz_loadu_ps(m, p); }
inline void store_lanes(float* p, vf v, lanes_t m) { _mm512_mask_storeu_ps(p, m, v); }
#elif defined(SIMDGRAD_ISA_AVX2)
using lanes_t = __m256i;
inline lanes_t first_lanes(std::size_t k) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(k)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline vf load_lanes(const float* p, lanes_t m) { return _mm256_maskload_ps(p, m); }
inline void store_lanes(float* p, vf v, lanes_t m) { _mm256_maskstore_ps(p, m, v); }
#else
using lanes_t = std::size_t;
inline lanes_t first_lanes(std::size_t k) { return k; }
inline vf load_lanes(const float* p, lanes_t k) { return load_partial(p, k); }
inline void store_lanes(float* p, vf v, lanes_t k) { store_partial(p, v, k); }
#endif
inline vf select(vm m, vf a, vf b) { return xsimd::select(m, a, b); }
inline vi to_bits(vf x) { return xsimd::bitwise_cast<vi>(x); }
inline vf from_bits(vi i) { return xsimd::bitwise_cast<vf>(i); }
inline vf to_float(vi i) { return xsimd::batch_cast<float>(i); }
inline vi shl(vi i, int n) { return i << n; }
inline vi sra(vi i, int n) { return i >> n; }
inline vi srl(vi i, int n) {
  return xsimd::bitwise_cast<vi>(xsimd::bitwise_cast<xsimd::batch<std::uint32_t, arch_t>>(i) >> n);
}
inline vm m_and(vm a, vm b) { return a & b; }
inline vm m_or(vm a, vm b) { return a | b; }
inline vm m_not(vm a) { return ~a; }
inline bool any_of(vm m) { return xsimd::any(m); }
inline vm is_nan(vf x) { return xsimd::isnan(x); }  // x != x is an ordered compare on AVX
inline vf vabs(vf x) { return from_bits(to_bits(x) & vi(0x7fffffff)); }
// xsimd 8.1 gives neon64 the 32-bit NEON float sqrt and division: reciprocal(-sqrt) estimates
// refined by Newton steps, not correctly rounded. vsqrt and vdiv are IEEE on every ISA.
inline vf vsqrt(vf x) {
#if defined(SIMDGRAD_ISA_NEON)
  return vsqrtq_f32(x);
#else
  return xsimd::sqrt(x);
#endif
}
/// a / b, correctly rounded on every ISA (use it rather than operator/, which is not on NEON).
inline vf vdiv(vf a, vf b) {
#if defined(SIMDGRAD_ISA_NEON)
  return vdivq_f32(a, b);
#else
  return a / b;
#endif
}
inline float hsum(vf x) { return xsimd::hadd(x); }
/// Lane t: the sum of the lanes of rows[t], for kW rows (a transposed reduction). xsimd 8.1's
/// AVX-512 haddp returns rows 2-5 and 10-13 in the order 4, 5, 2, 3: the AVX-512 version here
/// folds 256-bit halves, then 128-bit quarters, then lanes within quarters, and puts the lanes
/// in order with one permute.
inline vf hsum_rows(const vf* rows) {
#if defined(SIMDGRAD_ISA_AVX512)
  __m512 t[8], u[4];
  for (int q = 0; q < 8; ++q) {  // [rows[2q] quarters 0+2, 1+3 | rows[2q+1] quarters 0+2, 1+3]
    const __m512 a = rows[2 * q], b = rows[2 * q + 1];
    t[q] = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE));
  }
  for (int q = 0; q < 4; ++q)  // quarter j: the 4 partial sums of rows[4q + j]
    u[q] = _mm512_add_ps(_mm512_shuffle_f32x4(t[2 * q], t[2 * q + 1], 0x88),
                         _mm512_shuffle_f32x4(t[2 * q], t[2 * q + 1], 0xDD));
  const __m512 v01 =
      _mm512_add_ps(_mm512_unpacklo_ps(u[0], u[1]), _mm512_unpackhi_ps(u[0], u[1]));
  const __m512 v23 =
      _mm512_add_ps(_mm512_unpacklo_ps(u[2], u[3]), _mm512_unpackhi_ps(u[2], u[3]));
  const __m512d d01 = _mm512_castps_pd(v01), d23 = _mm512_castps_pd(v23);
  // lane 4j + q: the sum of rows[4q + j]
  const __m512 f = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(d01, d23)),
                                 _mm512_castpd_ps(_mm512_unpackhi_pd(d01, d23)));
  const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return _mm512_permutexvar_ps(idx, f);
#else
  return xsimd::haddp(rows);
#endif
}

/// Lanes first, first + 1, ... of v moved to lanes 0, 1, ... (the lanes after them unspecified):
/// a permute in registers on AVX-512 and AVX2, a copy through memory elsewhere. (The dot tiles
/// used to store their vector of sums and load each row's part back, a masked load of a vector
/// just stored: Intel Xeon, 1 thread, two builds, 4096 x 2 x 32 NT +10% with AVX-512 and +7.5%
/// with AVX2 in registers, 128 x 4 x 128 NT/NN +2-3%, 4 x 1024 x 256 NT +2-3%, the rest within
/// 1%.)
inline vf lanes_from(vf v, std::size_t first) {
#if defined(SIMDGRAD_ISA_AVX512)
  const __m512i idx = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(first)),
                                       _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                                         12, 13, 14, 15));
  return _mm512_permutexvar_ps(idx, v);
#elif defined(SIMDGRAD_ISA_AVX2)
  const __m256i idx = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(first)),
                                       _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  return _mm256_permutevar8x32_ps(v, idx);
#else
  alignas(64) float buf[2 * kW] = {};
  v.store_aligned(buf);
  return vf::load_unaligned(buf + first);
#endif
}

#endif

// ---------------------------------------------------------------------------------------------
// Helpers shared by every ISA (written once on the vocabulary above).

/// Round to nearest even, exactly, for |x| < 2^22 (the shifter trick; same bits on every ISA).
inline vf round_near(vf x) {
  const vf shifter = splat(12582912.0f);  // 1.5 * 2^23
  return (x + shifter) - shifter;
}

/// 2^n for integral-valued float n in [-126, 127], by building the exponent bits.
inline vf pow2i(vf n) {
  const vf shifter = splat(12582912.0f + 127.0f);
  return from_bits(shl(to_bits(n + shifter), 23));
}

/// Copy the sign bit of s onto |m|.
inline vf copysign_v(vf m, vf s) {
  const vi sign = to_bits(s) & to_bits(splat(-0.0f));
  return from_bits(to_bits(vabs(m)) | sign);
}

// ---------------------------------------------------------------------------------------------
// Lane masks and byte masks (one uint8_t per lane, 0 or 1; e.g. a ReLU mask kept for backward).

/// Mask of the first k lanes (k <= kW).
inline vm mask_first(std::size_t k) {
#if defined(SIMDGRAD_ISA_SCALAR)
  return k != 0;
#else
  alignas(64) static constexpr float iota[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  return vf::load_aligned(iota) < splat(static_cast<float>(k));
#endif
}

/// kW bytes at p -> lanes that are nonzero.
inline vm load_mask_u8(const std::uint8_t* p) {
#if defined(SIMDGRAD_ISA_SCALAR)
  return *p != 0;
#elif defined(SIMDGRAD_ISA_AVX512)
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return vm(static_cast<__mmask16>(_mm_test_epi8_mask(b, b)));
#elif defined(SIMDGRAD_ISA_AVX2)
  const __m256i w = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  return vm(_mm256_castsi256_ps(_mm256_cmpgt_epi32(w, _mm256_setzero_si256())));
#elif defined(SIMDGRAD_ISA_SSE2)
  std::int32_t u;
  std::memcpy(&u, p, 4);
  const __m128i z = _mm_setzero_si128();
  const __m128i w = _mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(u), z), z);
  return vm(_mm_castsi128_ps(_mm_cmpgt_epi32(w, z)));
#elif defined(SIMDGRAD_ISA_NEON)
  std::uint32_t u;
  std::memcpy(&u, p, 4);
  const uint16x8_t w = vmovl_u8(vreinterpret_u8_u32(vdup_n_u32(u)));
  return vm(vcgtq_u32(vmovl_u16(vget_low_u16(w)), vdupq_n_u32(0)));
#endif
}

/// The first k (< kW) bytes at p -> lanes that are nonzero; the other lanes are false.
inline vm load_mask_u8_partial(const std::uint8_t* p, std::size_t k) {
#if defined(SIMDGRAD_ISA_AVX512)
  const __m128i b = _mm_maskz_loadu_epi8(static_cast<__mmask16>((1u << k) - 1u), p);
  return vm(static_cast<__mmask16>(_mm_test_epi8_mask(b, b)));
#else
  alignas(16) std::uint8_t buf[16] = {};
  for (std::size_t i = 0; i < k; ++i) buf[i] = p[i];
  return load_mask_u8(buf);
#endif
}

/// Stores kW bytes at p: 1 where m is true, else 0.
inline void store_mask_u8(std::uint8_t* p, vm m) {
#if defined(SIMDGRAD_ISA_SCALAR)
  *p = m ? 1 : 0;
#elif defined(SIMDGRAD_ISA_AVX512)
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p),
                   _mm_maskz_mov_epi8(static_cast<__mmask16>(m), _mm_set1_epi8(1)));
#elif defined(SIMDGRAD_ISA_AVX2)
  const __m256i v = _mm256_and_si256(_mm256_castps_si256(m), _mm256_set1_epi32(1));
  const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_packs_epi16(w, w));
#elif defined(SIMDGRAD_ISA_SSE2)
  const __m128i v = _mm_and_si128(_mm_castps_si128(m), _mm_set1_epi32(1));
  const __m128i w = _mm_packs_epi32(v, v);
  const std::int32_t u = _mm_cvtsi128_si32(_mm_packs_epi16(w, w));
  std::memcpy(p, &u, 4);
#elif defined(SIMDGRAD_ISA_NEON)
  const uint32x4_t v = vandq_u32(m, vdupq_n_u32(1));
  const uint16x4_t h = vmovn_u32(v);
  const uint8x8_t b = vmovn_u16(vcombine_u16(h, h));
  const std::uint32_t u = vget_lane_u32(vreinterpret_u32_u8(b), 0);
  std::memcpy(p, &u, 4);
#endif
}

/// Stores the first k (< kW) bytes of store_mask_u8(m) at p.
inline void store_mask_u8_partial(std::uint8_t* p, vm m, std::size_t k) {
#if defined(SIMDGRAD_ISA_AVX512)
  _mm_mask_storeu_epi8(p, static_cast<__mmask16>((1u << k) - 1u),
                       _mm_maskz_mov_epi8(static_cast<__mmask16>(m), _mm_set1_epi8(1)));
#else
  alignas(16) std::uint8_t buf[16];
  store_mask_u8(buf, m);
  for (std::size_t i = 0; i < k; ++i) p[i] = buf[i];
#endif
}

// ---------------------------------------------------------------------------------------------
// Non-temporal stores, for outputs too large to stay in cache (no read-for-ownership).

/// Stores v at p (aligned to the vector size) bypassing the caches where the ISA can.
inline void store_stream(float* p, vf v) {
#if defined(SIMDGRAD_ISA_AVX512)
  _mm512_stream_ps(p, v);
#elif defined(SIMDGRAD_ISA_AVX2)
  _mm256_stream_ps(p, v);
#elif defined(SIMDGRAD_ISA_SSE2)
  _mm_stream_ps(p, v);
#else
  store(p, v);
#endif
}

/// Orders the non-temporal stores before any later store (call before other threads read).
inline void stream_fence() {
#if defined(SIMDGRAD_ISA_AVX512) || defined(SIMDGRAD_ISA_AVX2) || defined(SIMDGRAD_ISA_SSE2)
  _mm_sfence();
#endif
}

/// A whole-vector store, non-temporal when NT (then p is aligned to the vector size).
template <bool NT>
inline void store_maybe_stream(float* p, vf v) {
  if constexpr (NT)
    store_stream(p, v);
  else
    store(p, v);
}

/// Software prefetch distance of the streaming loops: 2 KiB. The hardware prefetchers stop at
/// every 4 KiB page; a prefetch this far ahead keeps a sequential stream going across pages.
constexpr std::size_t kPrefetchFloats = 512;

/// Prefetches the cache lines of p[kPrefetchFloats .. kPrefetchFloats + floats) (never faults).
inline void prefetch_ahead(const float* p, std::size_t floats) {
  for (std::size_t q = 0; q < floats; q += 16) __builtin_prefetch(p + kPrefetchFloats + q);
}

// ---------------------------------------------------------------------------------------------
// Table lookup (piecewise polynomials in math.hpp).

/// t[i & 7] in each lane, t a table of 8 floats (32-byte aligned); the same bits on every ISA.
inline vf lut8(const float* t, vi i) {
#if defined(SIMDGRAD_ISA_SCALAR)
  return t[i & 7];
#elif defined(SIMDGRAD_ISA_AVX512)
  return _mm512_permutexvar_ps(i, _mm512_broadcast_f32x8(_mm256_load_ps(t)));
#elif defined(SIMDGRAD_ISA_AVX2)
  return _mm256_permutevar8x32_ps(_mm256_load_ps(t), i);  // uses the low 3 bits of i
#elif defined(SIMDGRAD_ISA_SSE2)
  alignas(16) std::int32_t k[4];
  i.store_aligned(k);
  return _mm_setr_ps(t[k[0] & 7], t[k[1] & 7], t[k[2] & 7], t[k[3] & 7]);
#elif defined(SIMDGRAD_ISA_NEON)
  const uint8x16x2_t tb = {{vld1q_u8(reinterpret_cast<const std::uint8_t*>(t)),
                            vld1q_u8(reinterpret_cast<const std::uint8_t*>(t) + 16)}};
  const uint32x4_t k = vandq_u32(vreinterpretq_u32_s32(i), vdupq_n_u32(7));
  const uint8x16_t bi = vreinterpretq_u8_u32(vmlaq_n_u32(vdupq_n_u32(0x03020100u), k, 0x04040404u));
  return vreinterpretq_f32_u8(vqtbl2q_u8(tb, bi));
#endif
}

/// max(a, b) and min(a, b), for clamping against a constant a: a NaN in b is returned as NaN on
/// every ISA (x86 returns the second operand when either is NaN; NEON returns NaN).
inline vf vmax(vf a, vf b) {
#if defined(SIMDGRAD_ISA_SCALAR)
  return a > b ? a : b;
#else
  return xsimd::max(a, b);
#endif
}
inline vf vmin(vf a, vf b) {
#if defined(SIMDGRAD_ISA_SCALAR)
  return a < b ? a : b;
#else
  return xsimd::min(a, b);
#endif
}
