# Cross-compiling simdgrad for aarch64 (NEON) with Debian's g++-aarch64-linux-gnu.
# Tests run under qemu-user through CMAKE_CROSSCOMPILING_EMULATOR, so ctest works unchanged.
#
#   cmake -S . -B build-aarch64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
#         -DSIMDGRAD_AARCH64_PREFIX=<dir with arm64 GoogleTest and xsimd> ...
#
# scripts/ci-aarch64-prefix.sh builds that prefix (GoogleTest from /usr/src/googletest with the
# cross compiler, xsimd's headers). Nothing of the host's (x86-64) libraries or package configs is
# ever searched: find_package/find_library/find_path look only under the cross root
# (/usr/aarch64-linux-gnu) and SIMDGRAD_AARCH64_PREFIX.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# try_compile projects re-read this file: hand them the same variables.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES SIMDGRAD_AARCH64_PREFIX SIMDGRAD_QEMU_CPU)

set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
if(SIMDGRAD_AARCH64_PREFIX)
  list(APPEND CMAKE_FIND_ROOT_PATH "${SIMDGRAD_AARCH64_PREFIX}")
endif()
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# qemu's default CPU ("max") has SVE/SVE2, which would send oneDNN (if present) down its SVE path
# and is not a CPU anyone trains on: emulate a plain ARMv8.0 NEON core unless told otherwise.
if(NOT SIMDGRAD_QEMU_CPU)
  set(SIMDGRAD_QEMU_CPU cortex-a72)
endif()
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -cpu ${SIMDGRAD_QEMU_CPU} -L /usr/aarch64-linux-gnu)
