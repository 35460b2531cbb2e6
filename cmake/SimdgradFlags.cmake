# Compiler-flag and dependency helpers for simdgrad.

# The ISAs whose kernels this target architecture gets. Each becomes one object library compiled
# with that ISA's flags only (see simdgrad_isa_flags).
function(simdgrad_target_isas out)
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
    set(${out} scalar sse2 avx2 avx512 PARENT_SCOPE)
  elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64|ARM64)$")
    set(${out} scalar neon PARENT_SCOPE)
  else()
    set(${out} scalar PARENT_SCOPE)
  endif()
endfunction()

function(simdgrad_isa_flags isa out)
  if(isa STREQUAL "avx512")
    set(f -mavx512f -mavx512cd -mavx512bw -mavx512dq -mavx512vl -mfma -mavx2 -mf16c)
  elseif(isa STREQUAL "avx2")
    set(f -mavx2 -mfma -mf16c)
  elseif(isa STREQUAL "sse2")
    set(f -msse2)
  elseif(isa STREQUAL "neon")
    set(f "")            # aarch64's baseline includes Advanced SIMD (NEON) with FMA
  else()
    set(f "")            # scalar: the target's baseline, no vector library
  endif()
  set(${out} ${f} PARENT_SCOPE)
endfunction()

# xsimd is header-only and used only inside the per-ISA kernel objects, so simdgrad's installed
# package does not depend on it. Debian's xsimd 8.1 config links a target named xtl that Debian
# does not ship: an empty imported xtl target keeps find_package(xsimd) usable.
macro(simdgrad_find_xsimd)
  if(NOT TARGET xtl)
    add_library(xtl INTERFACE IMPORTED)
  endif()
  find_package(xsimd CONFIG QUIET)
  if(xsimd_FOUND AND xsimd_INCLUDE_DIRS)
    set(SIMDGRAD_XSIMD_INCLUDE_DIR "${xsimd_INCLUDE_DIRS}")
  else()
    find_path(SIMDGRAD_XSIMD_INCLUDE_DIR xsimd/xsimd.hpp
              HINTS /usr/include /usr/local/include NO_CMAKE_FIND_ROOT_PATH)
  endif()
  if(NOT SIMDGRAD_XSIMD_INCLUDE_DIR OR NOT EXISTS "${SIMDGRAD_XSIMD_INCLUDE_DIR}/xsimd/xsimd.hpp")
    message(FATAL_ERROR "simdgrad: xsimd headers not found (Debian: apt-get install libxsimd-dev)")
  endif()
  message(STATUS "simdgrad: xsimd headers in ${SIMDGRAD_XSIMD_INCLUDE_DIR}")
endmacro()
