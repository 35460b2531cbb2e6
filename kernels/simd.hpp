// The vector vocabulary every kernel template is written in. Included inside the ISA namespace.
//
//   vf  float vector of kW lanes       vi  int32 vector of kW lanes      vm  lane mask of vf
//   load/store (unaligned), load_partial/store_partial (first k lanes), splat
//   fmadd(a,b,c) = a*b+c, fnmadd(a,b,c) = c-a*b: fused on ISAs with FMA (avx2, avx512, neon),
//   a product then a sum on sse2 and on scalar x86-64 (the "unfused" formula family)
//   select(m,a,b), to_bits/from_bits (reinterpret), m_and/m_or/m_not, any_of
// The scalar path is the same templates with vf = float, vi = int32_t, vm = bool.

#if defined(SIMDGRAD_ISA_SCALAR)

using vf = float;
using vi = std::int32_t;
using vm = bool;
constexpr std::size_t kW = 1;
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
inline void store(float* p, vf v) { *p = v; }
inline vf load_partial(const float* p, std::size_t k) { return k ? *p : 0.0f; }
inline void store_partial(float* p, vf v, std::size_t k) { if (k) *p = v; }
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
inline float hsum(vf x) { return x; }
inline float hmax(vf x) { return x; }

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
inline void store(float* p, vf v) { v.store_unaligned(p); }
inline vf splat(float s) { return vf(s); }

inline vf load_partial(const float* p, std::size_t k) {
#if defined(SIMDGRAD_ISA_AVX512)
  return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << k) - 1u), p);
#else
  alignas(64) float buf[kW] = {};
  for (std::size_t i = 0; i < k; ++i) buf[i] = p[i];
  return vf::load_aligned(buf);
#endif
}
inline void store_partial(float* p, vf v, std::size_t k) {
#if defined(SIMDGRAD_ISA_AVX512)
  _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << k) - 1u), v);
#else
  alignas(64) float buf[kW];
  v.store_aligned(buf);
  for (std::size_t i = 0; i < k; ++i) p[i] = buf[i];
#endif
}

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
inline vf vsqrt(vf x) { return xsimd::sqrt(x); }
inline float hsum(vf x) { return xsimd::hadd(x); }

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
