#pragma once
// The dispatch layer: one table of kernel pointers per ISA and family, picked by active_isa().
//
// A family declares a plain struct of function pointers in kernels/<family>_table.hpp, and each
// per-ISA translation unit kernels/arch/<family>.cpp defines
//   void simdgrad::kernels::<isa>::fill(<Family>Table&);
// SIMDGRAD_DECLARE_KERNEL_TABLE(<Family>Table) declares those for every ISA built, and
// active_table<<Family>Table>() returns the table of the active ISA (built once, thread-safely).
// A fill function runs only for ISAs the CPU has: it is compiled with that ISA's flags, so even
// its stores of the function pointers may use the ISA's vector registers.
#include <atomic>

#include "simdgrad/cpu.hpp"

namespace simdgrad::detail {

constexpr int kIsaCount = 5;

/// Atomic read of the active ISA (cheap: one relaxed load after the first call).
Isa active_isa_fast() noexcept;

template <class Table>
struct TableSet {
  Table table[kIsaCount] = {};
  bool have[kIsaCount] = {};
};

/// Defined for each family by SIMDGRAD_DECLARE_KERNEL_TABLE.
template <class Table>
const TableSet<Table>& table_set();

/// The table of the active ISA.
template <class Table>
const Table& active_table() noexcept {
  const TableSet<Table>& s = table_set<Table>();
  const int i = static_cast<int>(active_isa_fast());
  return s.have[i] ? s.table[i] : s.table[0];
}

/// The table of a given ISA; nullptr when its kernels are not built.
template <class Table>
const Table* table_for(Isa isa) noexcept {
  const TableSet<Table>& s = table_set<Table>();
  const int i = static_cast<int>(isa);
  return (i >= 0 && i < kIsaCount && s.have[i]) ? &s.table[i] : nullptr;
}

}  // namespace simdgrad::detail

#define SIMDGRAD_FILL_DECL_(ns, Table) \
  namespace simdgrad::kernels::ns {    \
  void fill(Table&);                   \
  }

#if defined(SIMDGRAD_HAVE_ISA_SSE2)
#define SIMDGRAD_FILL_SSE2_(Table) SIMDGRAD_FILL_DECL_(sse2, Table)
#define SIMDGRAD_SET_SSE2_(s) \
  if (::simdgrad::isa_available(::simdgrad::Isa::sse2)) { ::simdgrad::kernels::sse2::fill(s.table[1]); s.have[1] = true; }
#else
#define SIMDGRAD_FILL_SSE2_(Table)
#define SIMDGRAD_SET_SSE2_(s)
#endif
#if defined(SIMDGRAD_HAVE_ISA_AVX2)
#define SIMDGRAD_FILL_AVX2_(Table) SIMDGRAD_FILL_DECL_(avx2, Table)
#define SIMDGRAD_SET_AVX2_(s) \
  if (::simdgrad::isa_available(::simdgrad::Isa::avx2)) { ::simdgrad::kernels::avx2::fill(s.table[2]); s.have[2] = true; }
#else
#define SIMDGRAD_FILL_AVX2_(Table)
#define SIMDGRAD_SET_AVX2_(s)
#endif
#if defined(SIMDGRAD_HAVE_ISA_AVX512)
#define SIMDGRAD_FILL_AVX512_(Table) SIMDGRAD_FILL_DECL_(avx512, Table)
#define SIMDGRAD_SET_AVX512_(s) \
  if (::simdgrad::isa_available(::simdgrad::Isa::avx512)) { ::simdgrad::kernels::avx512::fill(s.table[3]); s.have[3] = true; }
#else
#define SIMDGRAD_FILL_AVX512_(Table)
#define SIMDGRAD_SET_AVX512_(s)
#endif
#if defined(SIMDGRAD_HAVE_ISA_NEON)
#define SIMDGRAD_FILL_NEON_(Table) SIMDGRAD_FILL_DECL_(neon, Table)
#define SIMDGRAD_SET_NEON_(s) \
  if (::simdgrad::isa_available(::simdgrad::Isa::neon)) { ::simdgrad::kernels::neon::fill(s.table[4]); s.have[4] = true; }
#else
#define SIMDGRAD_FILL_NEON_(Table)
#define SIMDGRAD_SET_NEON_(s)
#endif

/// Declares the per-ISA fill functions of a table and defines table_set<Table>() for it.
/// Use once per family, at global namespace scope in the family's src/<family>.cpp.
#define SIMDGRAD_DECLARE_KERNEL_TABLE(Table)                              \
  SIMDGRAD_FILL_DECL_(scalar, Table)                                      \
  SIMDGRAD_FILL_SSE2_(Table)                                              \
  SIMDGRAD_FILL_AVX2_(Table)                                              \
  SIMDGRAD_FILL_AVX512_(Table)                                            \
  SIMDGRAD_FILL_NEON_(Table)                                              \
  namespace simdgrad::detail {                                            \
  template <>                                                             \
  const TableSet<Table>& table_set<Table>() {                             \
    static const TableSet<Table> set = [] {                               \
      TableSet<Table> s;                                                  \
      ::simdgrad::kernels::scalar::fill(s.table[0]);                      \
      s.have[0] = true;                                                   \
      SIMDGRAD_SET_SSE2_(s) SIMDGRAD_SET_AVX2_(s) SIMDGRAD_SET_AVX512_(s) \
      SIMDGRAD_SET_NEON_(s) return s;                                     \
    }();                                                                  \
    return set;                                                           \
  }                                                                       \
  }
