#!/usr/bin/env bash
# The README's main-job command: installs what is needed (Debian 12 packages), builds simdgrad
# and its demo (Release), trains the deep network in every configuration, and draws the plot.
#
#   bash scripts/demo.sh [simdgrad-demo options...]      e.g. --depth 30 --threads 1 --isa avx2
#
# Output: the tables on stdout, out/demo.json and out/demo.png.
# Environment: SIMDGRAD_BUILD_DIR (default build), SIMDGRAD_NO_DEPS=1 skips the package check.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build_dir=${SIMDGRAD_BUILD_DIR:-build}

if [[ "${SIMDGRAD_NO_DEPS:-0}" != 1 ]]; then
  bash scripts/install-deps.sh build bench
fi
gen=(-G Ninja)
[[ ! -f "$build_dir/CMakeCache.txt" ]] || gen=()
cmake -S . -B "$build_dir" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" --target simdgrad-demo simdgrad-info -j "$(nproc)"

mkdir -p out
"$build_dir/simdgrad-info"
echo
"$build_dir/examples/simdgrad-demo" --json out/demo.json "$@"
/usr/bin/python3 tools/plot_demo.py out/demo.json out/demo.png
