#!/usr/bin/env bash
# Installs the Debian 12 packages simdgrad needs, from Debian's archive only.
#
#   bash scripts/install-deps.sh [GROUP...]      GROUP: build, bench, cross, all (default: all)
#
#   build   compiler, CMake, Ninja, xsimd, OpenMP, GoogleTest, oneDNN, Google Benchmark and the
#           benchmark peers (OpenBLAS, BLIS, Eigen): enough for scripts/test.sh
#   bench   python3 with matplotlib, for the benchmark report (table + PNG chart)
#   cross   the aarch64 cross compiler and qemu-user (NEON tests under qemu-aarch64, and the
#           x86 fallback checks under qemu-x86_64 -cpu Nehalem/Haswell), for .ci/run
#
# Idempotent: packages already installed are not touched, and when nothing is missing neither
# `apt-get update` nor `apt-get install` runs (so a set-up machine needs no network). Otherwise
# it runs `apt-get update` first, then installs only the missing packages, quietly.
# Needs root (or sudo). SIMDGRAD_APT_UPDATE=always forces the `apt-get update`.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# ocl-icd-opencl-dev is only a Recommends of libdnnl-dev, but Debian's dnnl-config.cmake does
# find_package(OpenCL REQUIRED): without it find_package(dnnl) fails and oneDNN drops out.
build_pkgs=(g++ make cmake ninja-build pkg-config
            libxsimd-dev libgtest-dev libgmock-dev libdnnl-dev ocl-icd-opencl-dev libbenchmark-dev
            libopenblas-dev libblis-dev libeigen3-dev)
bench_pkgs=(python3 python3-matplotlib)
cross_pkgs=(g++-aarch64-linux-gnu qemu-user)

groups=("$@")
[[ ${#groups[@]} -gt 0 ]] || groups=(all)
want=()
for g in "${groups[@]}"; do
  case "$g" in
    build) want+=("${build_pkgs[@]}") ;;
    bench) want+=("${bench_pkgs[@]}") ;;
    cross) want+=("${cross_pkgs[@]}") ;;
    all)   want+=("${build_pkgs[@]}" "${bench_pkgs[@]}" "${cross_pkgs[@]}") ;;
    *) echo "install-deps.sh: unknown group '$g' (build, bench, cross, all)" >&2; exit 2 ;;
  esac
done

if ! command -v apt-get >/dev/null || ! command -v dpkg-query >/dev/null; then
  echo "install-deps.sh: needs Debian's apt-get and dpkg-query (Debian 12 'bookworm')" >&2
  exit 1
fi

missing=()
for p in "${want[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  if [[ "$status" != "installed" ]]; then
    # skip duplicates from overlapping groups
    case " ${missing[*]-} " in *" $p "*) ;; *) missing+=("$p") ;; esac
  fi
done

if [[ ${#missing[@]} -eq 0 && "${SIMDGRAD_APT_UPDATE:-}" != always ]]; then
  echo "[simdgrad] install-deps: all ${#want[@]} packages (${groups[*]}) already installed"
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then
    sudo_cmd=(sudo DEBIAN_FRONTEND=noninteractive)
  else
    echo "install-deps.sh: missing packages (${missing[*]}); run as root or install sudo" >&2
    exit 1
  fi
fi

apt_opts=(-q -y -o Dpkg::Use-Pty=0 -o APT::Color=0 -o Dpkg::Options::=--force-confdef
          -o Dpkg::Options::=--force-confold -o DPkg::Lock::Timeout=300)
log=$(mktemp /tmp/simdgrad-apt.XXXXXX.log)
# apt with retries: a flaky mirror or a dpkg lock held by another apt run does not fail the job
apt_retry() {
  local i
  for i in 1 2 3; do
    if "${sudo_cmd[@]}" apt-get "${apt_opts[@]}" "$@" >>"$log" 2>&1; then
      return 0
    fi
    echo "[simdgrad] install-deps: apt-get $1 failed (try $i of 3)" >&2
    [[ $i -eq 3 ]] || sleep 10
  done
  tail -n 40 "$log" >&2
  echo "install-deps.sh: apt-get $1 failed (log: $log)" >&2
  return 1
}
echo "[simdgrad] install-deps: apt-get update"
apt_retry update
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "[simdgrad] install-deps: installing ${missing[*]}"
  apt_retry install --no-install-recommends "${missing[@]}"
  echo "[simdgrad] install-deps: done"
fi
rm -f "$log"
