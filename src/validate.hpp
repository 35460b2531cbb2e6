#pragma once
// Argument checks shared by every entry point. Each throws simdgrad::error with the message
// "simdgrad::<function>: <argument> <what is wrong>", before the caller writes anything.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "simdgrad/error.hpp"

namespace simdgrad::detail {

[[noreturn]] inline void fail(const char* fn, const std::string& what) {
  throw error(std::string("simdgrad::") + fn + ": " + what);
}

inline std::string fmt(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// The messages of the checks below are built out of line, in functions marked cold: inline,
// a check's passing path is a compare and a branch (at 8^3 a GEMM's checks were a fifth of the
// call, most of it calls to check_finite and the set-up of strings that were never built).
[[noreturn]] __attribute__((noinline, cold)) inline void fail_null(const char* fn,
                                                                   const char* name,
                                                                   std::size_t n) {
  fail(fn, std::string(name) + " is null with " + std::to_string(n) + " elements");
}

/// p may be null only when n == 0.
template <class T>
inline void check_ptr(const char* fn, const char* name, const T* p, std::size_t n) {
  if (n != 0 && p == nullptr) fail_null(fn, name, n);
}

/// True when a*b overflows size_t (the compiler's checked multiply, without a division).
inline bool mul_overflows(std::size_t a, std::size_t b) {
  std::size_t r;
  return __builtin_mul_overflow(a, b, &r);
}

/// True when n floats do not fit in the address space (check_count's bound).
inline bool count_too_large(std::size_t n) {
  return n > std::numeric_limits<std::size_t>::max() / sizeof(float) / 2;
}

[[noreturn]] __attribute__((noinline, cold)) inline void fail_mul_overflow(const char* fn,
                                                                           const char* name,
                                                                           std::size_t a,
                                                                           std::size_t b) {
  fail(fn, std::string(name) + " overflows size_t (" + std::to_string(a) + " * " +
               std::to_string(b) + ")");
}

/// a*b without overflow of size_t, else an error naming the argument.
inline std::size_t checked_mul(const char* fn, const char* name, std::size_t a, std::size_t b) {
  if (mul_overflows(a, b)) fail_mul_overflow(fn, name, a, b);
  return a * b;
}

[[noreturn]] __attribute__((noinline, cold)) inline void fail_too_large(const char* fn,
                                                                        const char* name,
                                                                        std::size_t n) {
  fail(fn, std::string(name) + " is too large (" + std::to_string(n) + ")");
}

/// Element count n of floats must fit in the address space.
inline void check_count(const char* fn, const char* name, std::size_t n) {
  if (count_too_large(n)) fail_too_large(fn, name, n);
}

/// True when [a, a+na) and [b, b+nb) (in elements of T) share any byte.
template <class T, class U>
inline bool overlap(const T* a, std::size_t na, const U* b, std::size_t nb) {
  if (na == 0 || nb == 0 || !a || !b) return false;
  const auto pa = reinterpret_cast<std::uintptr_t>(a);
  const auto pb = reinterpret_cast<std::uintptr_t>(b);
  return pa < pb + nb * sizeof(U) && pb < pa + na * sizeof(T);
}

/// out may be the same array as in, or disjoint from it; partial overlap is an error.
template <class T>
inline void check_alias(const char* fn, const char* out_name, const T* out, const char* in_name,
                        const T* in, std::size_t n) {
  if (out != in && overlap(out, n, in, n))
    fail(fn, std::string(out_name) + " partially overlaps " + in_name +
                 " (only the same array, in place, or disjoint arrays are allowed)");
}

[[noreturn]] __attribute__((noinline, cold)) inline void fail_overlap(const char* fn,
                                                                      const char* out_name,
                                                                      const char* in_name) {
  fail(fn, std::string(out_name) + " overlaps " + in_name);
}

/// out must not share memory with in at all.
template <class T, class U>
inline void check_disjoint(const char* fn, const char* out_name, const T* out, std::size_t nout,
                           const char* in_name, const U* in, std::size_t nin) {
  if (overlap(out, nout, in, nin)) fail_overlap(fn, out_name, in_name);
}

[[noreturn]] __attribute__((noinline, cold)) inline void fail_not_finite(const char* fn,
                                                                         const char* name,
                                                                         double v) {
  fail(fn, std::string(name) + " must be finite, got " + fmt(v));
}

inline void check_finite(const char* fn, const char* name, double v) {
  if (!std::isfinite(v)) fail_not_finite(fn, name, v);
}

/// lo <= v <= hi (closed), finite.
inline void check_range(const char* fn, const char* name, double v, double lo, double hi) {
  if (!(v >= lo && v <= hi))
    fail(fn, std::string(name) + " must be in [" + fmt(lo) + ", " + fmt(hi) + "], got " + fmt(v));
}

/// v > 0, finite.
inline void check_positive(const char* fn, const char* name, double v) {
  if (!(v > 0) || !std::isfinite(v))
    fail(fn, std::string(name) + " must be finite and > 0, got " + fmt(v));
}

/// v >= 0, finite.
inline void check_nonnegative(const char* fn, const char* name, double v) {
  if (!(v >= 0) || !std::isfinite(v))
    fail(fn, std::string(name) + " must be finite and >= 0, got " + fmt(v));
}

}  // namespace simdgrad::detail
