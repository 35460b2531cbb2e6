// CPU detection, the ISA cap, threading and denormal control.
#include "simdgrad/cpu.hpp"

#include <omp.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "simdgrad/error.hpp"
#include "simdgrad/version.hpp"
#include "src/dispatch.hpp"

#if defined(__x86_64__) || defined(_M_X64)
#define SIMDGRAD_X86 1
#include <cpuid.h>
#include <xmmintrin.h>
#elif defined(__aarch64__)
#define SIMDGRAD_AARCH64 1
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#endif

namespace simdgrad {

const char* version() noexcept { return SIMDGRAD_VERSION_STRING; }

namespace {

#if defined(SIMDGRAD_X86)
unsigned long long read_xcr0() {
  unsigned eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}
#endif

CpuFeatures detect() {
  CpuFeatures f;
#if defined(SIMDGRAD_X86)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(0, &a, &b, &c, &d)) {
    const unsigned max_leaf = a;
    char v[13] = {};
    std::memcpy(v + 0, &b, 4);
    std::memcpy(v + 4, &d, 4);
    std::memcpy(v + 8, &c, 4);
    f.vendor = v;
    if (max_leaf >= 1) {
      __cpuid_count(1, 0, a, b, c, d);
      f.sse2 = (d >> 26) & 1;
      f.sse41 = (c >> 19) & 1;
      f.fma = (c >> 12) & 1;
      f.f16c = (c >> 29) & 1;
      const bool osxsave = (c >> 27) & 1;
      const bool avx_bit = (c >> 28) & 1;
      unsigned long long xcr0 = osxsave ? read_xcr0() : 0;
      f.os_ymm = (xcr0 & 0x6) == 0x6;
      f.os_zmm = f.os_ymm && (xcr0 & 0xE0) == 0xE0;
      f.avx = avx_bit && f.os_ymm;
      if (max_leaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        f.avx2 = ((b >> 5) & 1) && f.os_ymm;
        f.avx512f = ((b >> 16) & 1) && f.os_zmm;
        f.avx512dq = ((b >> 17) & 1) && f.os_zmm;
        f.avx512cd = ((b >> 28) & 1) && f.os_zmm;
        f.avx512bw = ((b >> 30) & 1) && f.os_zmm;
        f.avx512vl = ((b >> 31) & 1) && f.os_zmm;
      }
      f.fma = f.fma && f.os_ymm;
      f.f16c = f.f16c && f.os_ymm;
    }
  }
  if (__get_cpuid(0x80000000u, &a, &b, &c, &d) && a >= 0x80000004u) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      __cpuid_count(0x80000002u + i, 0, a, b, c, d);
      std::memcpy(brand + 16 * i + 0, &a, 4);
      std::memcpy(brand + 16 * i + 4, &b, 4);
      std::memcpy(brand + 16 * i + 8, &c, 4);
      std::memcpy(brand + 16 * i + 12, &d, 4);
    }
    const char* p = brand;
    while (*p == ' ') ++p;
    f.brand = p;
    while (!f.brand.empty() && f.brand.back() == ' ') f.brand.pop_back();
  }
#elif defined(SIMDGRAD_AARCH64)
  const unsigned long hw = getauxval(AT_HWCAP);
  f.neon = (hw & HWCAP_ASIMD) != 0;
  f.asimd_fma = f.neon;  // Advanced SIMD on aarch64 always has fused multiply-add
  f.vendor = "ARM";
  f.brand = "aarch64";
#endif
  return f;
}

// Rank of an ISA on this architecture; -1 when it belongs to another one.
int rank(Isa isa) {
  switch (isa) {
    case Isa::scalar: return 0;
#if defined(SIMDGRAD_X86)
    case Isa::sse2: return 1;
    case Isa::avx2: return 2;
    case Isa::avx512: return 3;
#elif defined(SIMDGRAD_AARCH64)
    case Isa::neon: return 1;
#endif
    default: return -1;
  }
}

bool built(Isa isa) {
  switch (isa) {
    case Isa::scalar: return true;
#if defined(SIMDGRAD_HAVE_ISA_SSE2)
    case Isa::sse2: return true;
#endif
#if defined(SIMDGRAD_HAVE_ISA_AVX2)
    case Isa::avx2: return true;
#endif
#if defined(SIMDGRAD_HAVE_ISA_AVX512)
    case Isa::avx512: return true;
#endif
#if defined(SIMDGRAD_HAVE_ISA_NEON)
    case Isa::neon: return true;
#endif
    default: return false;
  }
}

bool cpu_runs(const CpuFeatures& f, Isa isa) {
  switch (isa) {
    case Isa::scalar: return true;
    case Isa::sse2: return f.sse2;
    case Isa::avx2: return f.avx2 && f.fma && f.f16c && f.os_ymm;
    case Isa::avx512:
      return f.avx512f && f.avx512cd && f.avx512bw && f.avx512dq && f.avx512vl && f.os_zmm &&
             f.fma;
    case Isa::neon: return f.neon && f.asimd_fma;
  }
  return false;
}

Isa best_available() {
  const CpuFeatures& f = cpu_features();
  Isa best = Isa::scalar;
  for (Isa i : {Isa::sse2, Isa::avx2, Isa::avx512, Isa::neon})
    if (rank(i) > rank(best) && built(i) && cpu_runs(f, i)) best = i;
  return best;
}

// The best available ISA whose rank is at most that of cap.
Isa capped(Isa cap) {
  Isa best = Isa::scalar;
  for (Isa i : {Isa::sse2, Isa::avx2, Isa::avx512, Isa::neon})
    if (rank(i) > rank(best) && rank(i) <= rank(cap) && isa_available(i)) best = i;
  return best;
}

std::atomic<int> g_active{-1};
std::once_flag g_init;

void init_from_env() {
  Isa isa = best_available();
  if (const char* env = std::getenv("SIMDGRAD_MAX_ISA"); env && *env) {
    try {
      Isa cap = parse_isa(env);
      if (rank(cap) < 0) {
        std::fprintf(stderr,
                     "simdgrad: SIMDGRAD_MAX_ISA=%s names an ISA of another architecture; "
                     "ignored\n", env);
      } else {
        isa = capped(cap);
      }
    } catch (const error&) {
      std::fprintf(stderr,
                   "simdgrad: SIMDGRAD_MAX_ISA=%s is not an ISA name (scalar, sse2, avx2, avx512, "
                   "neon); ignored\n", env);
    }
  }
  g_active.store(static_cast<int>(isa), std::memory_order_release);
}

std::atomic<int> g_threads{0};

}  // namespace

const char* isa_name(Isa isa) noexcept {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::sse2: return "sse2";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    case Isa::neon: return "neon";
  }
  return "unknown";
}

Isa parse_isa(const std::string& name) {
  std::string s;
  for (char c : name) s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (Isa i : {Isa::scalar, Isa::sse2, Isa::avx2, Isa::avx512, Isa::neon})
    if (s == isa_name(i)) return i;
  throw error("simdgrad::parse_isa: name '" + name +
              "' is not an ISA (scalar, sse2, avx2, avx512, neon)");
}

const CpuFeatures& cpu_features() noexcept {
  static const CpuFeatures f = detect();
  return f;
}

bool isa_available(Isa isa) noexcept {
  return rank(isa) >= 0 && built(isa) && cpu_runs(cpu_features(), isa);
}

Isa cpu_isa() noexcept { return best_available(); }

Isa active_isa() noexcept { return detail::active_isa_fast(); }

Isa set_max_isa(Isa cap) {
  if (rank(cap) < 0)
    throw error(std::string("simdgrad::set_max_isa: cap '") + isa_name(cap) +
                "' is not an ISA of this architecture");
  std::call_once(g_init, init_from_env);
  const Isa isa = capped(cap);
  g_active.store(static_cast<int>(isa), std::memory_order_release);
  return isa;
}

void set_num_threads(int n) {
  if (n < 0) throw error("simdgrad::set_num_threads: n must be >= 0, got " + std::to_string(n));
  g_threads.store(n, std::memory_order_relaxed);
}

int num_threads() noexcept {
  const int n = g_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : omp_get_max_threads();
}

bool set_flush_denormals(bool on) noexcept {
#if defined(SIMDGRAD_X86)
  const unsigned csr = _mm_getcsr();
  const unsigned bits = 0x8040u;  // FTZ (bit 15) | DAZ (bit 6)
  _mm_setcsr(on ? (csr | bits) : (csr & ~bits));
  return (csr & bits) == bits;
#elif defined(SIMDGRAD_AARCH64)
  unsigned long fpcr = 0;
  __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
  const unsigned long fz = 1ul << 24;
  const unsigned long next = on ? (fpcr | fz) : (fpcr & ~fz);
  __asm__ volatile("msr fpcr, %0" : : "r"(next));
  return (fpcr & fz) != 0;
#else
  (void)on;
  return false;
#endif
}

namespace detail {
Isa active_isa_fast() noexcept {
  int v = g_active.load(std::memory_order_acquire);
  if (v < 0) {
    std::call_once(g_init, init_from_env);
    v = g_active.load(std::memory_order_acquire);
  }
  return static_cast<Isa>(v);
}
}  // namespace detail

}  // namespace simdgrad
