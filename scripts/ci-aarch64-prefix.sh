#!/usr/bin/env bash
# Builds the arm64 dependencies of the aarch64 cross build into a private prefix, from packages
# already installed on this (amd64) machine, with no network and without touching dpkg:
#   - GoogleTest + GoogleMock, compiled from /usr/src/googletest (Debian's googletest package, a
#     dependency of libgtest-dev) with aarch64-linux-gnu-g++ and installed into PREFIX
#   - xsimd's headers (header-only, the same for every architecture) copied from libxsimd-dev
# oneDNN is left out: the cross build runs without it (the double reference stands).
#
#   bash scripts/ci-aarch64-prefix.sh PREFIX
#
# A second run with the same Debian package versions does nothing (stamp file in PREFIX).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/ci-lib.sh

prefix=${1:?usage: ci-aarch64-prefix.sh PREFIX}
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)

for tool in aarch64-linux-gnu-g++ cmake ninja; do
  command -v "$tool" >/dev/null || { echo "ci-aarch64-prefix.sh: $tool not found (bash scripts/install-deps.sh)" >&2; exit 1; }
done
[[ -f /usr/src/googletest/CMakeLists.txt ]] || { echo "ci-aarch64-prefix.sh: /usr/src/googletest missing (apt-get install googletest)" >&2; exit 1; }
[[ -f /usr/include/xsimd/xsimd.hpp ]] || { echo "ci-aarch64-prefix.sh: xsimd headers missing (apt-get install libxsimd-dev)" >&2; exit 1; }

stamp_want=$(dpkg-query -W -f='${Package}=${Version}\n' googletest libxsimd-dev g++-aarch64-linux-gnu 2>/dev/null
             sha256sum cmake/aarch64-linux-gnu.cmake scripts/ci-aarch64-prefix.sh | cut -c1-16)
if [[ -f "$prefix/.simdgrad-stamp" && "$(cat "$prefix/.simdgrad-stamp")" == "$stamp_want" ]]; then
  sg_log "aarch64 prefix $prefix is up to date"
  exit 0
fi

rm -rf "$prefix/include" "$prefix/lib" "$prefix/.build-googletest" "$prefix/.simdgrad-stamp"

# xsimd: header-only; libxsimd-dev is Multi-Arch: same only because of its cmake/pkg-config files
mkdir -p "$prefix/include"
cp -a /usr/include/xsimd "$prefix/include/"

# GoogleTest, static, for aarch64
sg_log "building GoogleTest for aarch64 into $prefix"
cmake -S /usr/src/googletest -B "$prefix/.build-googletest" -G Ninja \
      -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/aarch64-linux-gnu.cmake" \
      -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib \
      -DBUILD_GMOCK=ON -DINSTALL_GTEST=ON -DBUILD_SHARED_LIBS=OFF >"$prefix/.googletest-configure.log" 2>&1 \
  || { cat "$prefix/.googletest-configure.log" >&2; exit 1; }
cmake --build "$prefix/.build-googletest" -j "$(sg_jobs)" >"$prefix/.googletest-build.log" 2>&1 \
  || { tail -n 60 "$prefix/.googletest-build.log" >&2; exit 1; }
cmake --install "$prefix/.build-googletest" >/dev/null
rm -rf "$prefix/.build-googletest"

echo "$stamp_want" >"$prefix/.simdgrad-stamp"
sg_log "aarch64 prefix ready: $prefix (GoogleTest $(dpkg-query -W -f='${Version}' googletest), xsimd $(dpkg-query -W -f='${Version}' libxsimd-dev))"
