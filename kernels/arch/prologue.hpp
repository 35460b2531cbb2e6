#pragma once
// Included first by every per-ISA translation unit kernels/arch/<family>.cpp, outside any
// namespace. Everything after it is included inside simdgrad::kernels::SIMDGRAD_ISA_NS, so that
// no inline function compiled with this ISA's flags can be merged with another ISA's copy.
// Kernel TUs use no STL containers or algorithms (their instances would be shared across ISAs).
#include <cstddef>
#include <cstdint>
#include <cstring>

#if !defined(SIMDGRAD_ISA_NS)
#error "kernels/arch/*.cpp are compiled once per ISA by CMake (SIMDGRAD_ISA_NS undefined)"
#endif

#if !defined(SIMDGRAD_ISA_SCALAR)
#include <xsimd/xsimd.hpp>
#endif
#if defined(SIMDGRAD_ISA_AVX512) || defined(SIMDGRAD_ISA_AVX2) || defined(SIMDGRAD_ISA_SSE2)
#include <immintrin.h>
#endif
#if defined(SIMDGRAD_ISA_NEON)
#include <arm_neon.h>
#endif
