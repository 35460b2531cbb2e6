#pragma once
// CPU detection, the ISA cap, and threading.
#include <string>

namespace simdgrad {

/// The kernel paths simdgrad has. Ordered: a higher value is a superset on its architecture
/// (scalar < sse2 < avx2 < avx512 on x86-64; scalar < neon on aarch64).
enum class Isa : int { scalar = 0, sse2 = 1, avx2 = 2, avx512 = 3, neon = 4 };

/// Lower-case name of an ISA ("scalar", "sse2", "avx2", "avx512", "neon").
const char* isa_name(Isa isa) noexcept;
/// Parses a name as isa_name() writes it (case-insensitive). Throws simdgrad::error otherwise.
Isa parse_isa(const std::string& name);

/// CPU features as detected (cpuid + xgetbv on x86-64, hwcaps on aarch64).
struct CpuFeatures {
  bool sse2 = false, sse41 = false, avx = false, avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512cd = false, avx512bw = false, avx512dq = false, avx512vl = false;
  bool os_ymm = false;   // XCR0 has SSE and AVX state enabled
  bool os_zmm = false;   // XCR0 has opmask, ZMM_Hi256 and Hi16_ZMM state enabled
  bool neon = false, asimd_fma = false;
  std::string vendor, brand;
};
const CpuFeatures& cpu_features() noexcept;

/// The best ISA the CPU (and the OS) supports among those compiled into this build.
Isa cpu_isa() noexcept;
/// The ISA kernels run on now: cpu_isa() capped by SIMDGRAD_MAX_ISA and set_max_isa().
Isa active_isa() noexcept;
/// Caps the ISA for all later calls. A cap above what the CPU has leaves cpu_isa(); an ISA of
/// another architecture (neon on x86-64) throws. Returns the ISA now active.
/// Not meant to be called while other threads run simdgrad kernels.
Isa set_max_isa(Isa cap);
/// True when kernels for this ISA are compiled in and the CPU runs them.
bool isa_available(Isa isa) noexcept;

/// Threads used by simdgrad's parallel kernels. Default: OpenMP's (OMP_NUM_THREADS).
/// n == 0 restores that default. Results never depend on it.
void set_num_threads(int n);
int num_threads() noexcept;

/// Sets flush-to-zero and denormals-are-zero for the calling thread (x86 MXCSR, aarch64 FPCR.FZ).
/// Returns the previous setting. simdgrad never changes it by itself.
bool set_flush_denormals(bool on) noexcept;

}  // namespace simdgrad
