#!/usr/bin/env bash
# The README's test command: installs what the build needs (Debian 12 packages), configures a
# Release build, builds everything, and runs the whole test suite with ctest: the "unit" label,
# then the "exhaustive" label (ULP sweeps over all 2^32 floats). Exits non-zero on any failure.
#
#   bash scripts/test.sh
#
# Environment (all optional):
#   SIMDGRAD_BUILD_DIR   build directory (default: build, under the repository root)
#   SIMDGRAD_JOBS        build parallelism (default: the number of CPUs)
#   SIMDGRAD_NO_DEPS=1   skip the package check (scripts/install-deps.sh build)
#   SIMDGRAD_EXHAUSTIVE=0  leave out the exhaustive label
#   SIMDGRAD_CMAKE_ARGS  extra arguments for the cmake configure step
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/ci-lib.sh

build_dir=${SIMDGRAD_BUILD_DIR:-build}
# a tally of our own unless a caller (.ci/run) collects one across its stages
own_tally=0
if [[ -z "${SIMDGRAD_TALLY:-}" ]]; then
  SIMDGRAD_TALLY=$(mktemp /tmp/simdgrad-tally.XXXXXX)
  export SIMDGRAD_TALLY
  own_tally=1
fi
cleanup() { [[ $own_tally -eq 0 ]] || rm -f "$SIMDGRAD_TALLY"; }
trap cleanup EXIT

if [[ "${SIMDGRAD_NO_DEPS:-0}" != 1 ]]; then
  bash scripts/install-deps.sh build
fi

t0=$SECONDS
extra=()
if [[ -n "${SIMDGRAD_CMAKE_ARGS:-}" ]]; then
  read -r -a extra <<<"$SIMDGRAD_CMAKE_ARGS"
fi
sg_log "configure: $build_dir (Release)"
gen=(-G Ninja)
[[ ! -f "$build_dir/CMakeCache.txt" ]] || gen=()   # keep the generator an existing build chose
mkdir -p "$build_dir"
cmake -S . -B "$build_dir" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release "${extra[@]}" 2>&1 |
  tee "$build_dir/configure.log"
# oneDNN is installed above; if CMake still does not find it, the oneDNN comparisons would
# silently drop out of the suite: refuse (pass -DSIMDGRAD_WITH_ONEDNN=OFF to opt out).
if grep -q 'oneDNN not found' "$build_dir/configure.log"; then
  sg_log "oneDNN (libdnnl-dev) is installed but CMake did not find it: see $build_dir/configure.log"
  exit 1
fi
sg_log "build: $build_dir with $(sg_jobs) jobs"
cmake --build "$build_dir" -j "$(sg_jobs)"
sg_log "configure+build: $((SECONDS - t0)) s"

rc=0
t0=$SECONDS
sg_ctest "$build_dir" -L unit || rc=1
sg_log "unit tests: $((SECONDS - t0)) s"

if [[ "${SIMDGRAD_EXHAUSTIVE:-1}" != 0 ]]; then
  n=$(sg_ctest_count "$build_dir" -L exhaustive)
  if [[ "${n:-0}" -gt 0 ]]; then
    t0=$SECONDS
    sg_ctest "$build_dir" -L exhaustive || rc=1
    sg_log "exhaustive tests: $((SECONDS - t0)) s"
  else
    sg_log "no test has the label 'exhaustive' (no tests/exhaustive_*.cpp yet)"
  fi
fi

if [[ $own_tally -eq 1 ]]; then
  read -r passed failed < <(sg_tally_totals)
  echo "$passed passed, $failed failed"
fi
exit "$rc"
