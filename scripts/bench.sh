#!/usr/bin/env bash
# The benchmark comparison (simdgrad against oneDNN and naive loops): installs what is needed,
# builds Release in build/, runs simdgrad_bench pinned, prints the ratio table and writes
# out/bench-<isa>-<threads>t.{json,md,png}.
#
#   bash scripts/bench.sh [options]
#
#   --isa ISA        best (default), avx512, avx2, sse2 or scalar. Sets SIMDGRAD_MAX_ISA and the
#                    matching ONEDNN_MAX_CPU_ISA (avx512 -> AVX512_CORE, avx2 -> AVX2; oneDNN has
#                    nothing below SSE41, which sse2 and scalar get). "best" caps oneDNN at the
#                    ISA simdgrad picks, so both run the same vector width.
#   --threads N      OpenMP threads (default 1), pinned to CPUs 0..N-1 with OMP_PROC_BIND=close
#   --filter REGEX   benchmarks to run (default: the activation families and the stream
#                    bandwidth references, ^(activation_fwd|activation_bwd|activation_bwd_y|stream)/)
#   --family PREFIX  only these rows in the table (repeatable; passed to tools/bench_report.py)
#   --time MODE      real (default: wall-clock times) or cpu (the main thread's CPU time, less
#                    disturbed when other processes share the CPUs; see docs/bench.md)
#   --full           full-length run: 9 repetitions of 0.2 s each (default: a short run, 3
#                    repetitions of 0.05 s, a few minutes in all); repetitions are interleaved
#   --build-dir DIR  build directory (default build)
#   --out DIR        output directory (default out)
#   --no-deps        do not install packages
#   --no-build       use the existing build
#   -j N             build jobs (default: the number of CPUs)
# The same settings come from the environment: SIMDGRAD_BENCH_ISA, SIMDGRAD_BENCH_THREADS,
# SIMDGRAD_BENCH_FILTER, SIMDGRAD_BENCH_FULL=1, SIMDGRAD_BENCH_TIME, SIMDGRAD_BENCH_BUILD_DIR,
# SIMDGRAD_BENCH_OUT.
# Extra arguments after `--` go to simdgrad_bench as they are.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

isa=${SIMDGRAD_BENCH_ISA:-best}
threads=${SIMDGRAD_BENCH_THREADS:-1}
filter=${SIMDGRAD_BENCH_FILTER:-'^(activation_fwd|activation_bwd|activation_bwd_y|stream)/'}
full=${SIMDGRAD_BENCH_FULL:-0}
time_mode=${SIMDGRAD_BENCH_TIME:-real}
build=${SIMDGRAD_BENCH_BUILD_DIR:-build}
out=${SIMDGRAD_BENCH_OUT:-out}
deps=1
do_build=1
jobs=$(nproc 2>/dev/null || echo 2)
families=()
extra=()

die() { echo "bench.sh: $*" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --isa) isa=${2:?--isa needs a value}; shift 2 ;;
    --threads) threads=${2:?--threads needs a value}; shift 2 ;;
    --filter) filter=${2:?--filter needs a value}; shift 2 ;;
    --family) families+=(--family "${2:?--family needs a value}"); shift 2 ;;
    --full) full=1; shift ;;
    --time) time_mode=${2:?--time needs a value}; shift 2 ;;
    --build-dir) build=${2:?--build-dir needs a value}; shift 2 ;;
    --out) out=${2:?--out needs a value}; shift 2 ;;
    --no-deps) deps=0; shift ;;
    --no-build) do_build=0; shift ;;
    -j) jobs=${2:?-j needs a value}; shift 2 ;;
    -j*) jobs=${1#-j}; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
[[ "$threads" =~ ^[1-9][0-9]*$ ]] || die "--threads must be a positive integer, got '$threads'"
case "$time_mode" in real|cpu) ;; *) die "--time must be real or cpu, got '$time_mode'" ;; esac
case "$isa" in best|avx512|avx2|sse2|scalar|neon) ;; *) die "unknown --isa '$isa'" ;; esac

log() { echo "[simdgrad] bench: $*"; }

# ---------------------------------------------------------------- dependencies
if [[ $deps -eq 1 ]]; then
  if [[ -f scripts/install-deps.sh ]]; then
    bash scripts/install-deps.sh build bench
  else
    pkgs=(g++ cmake ninja-build libxsimd-dev libdnnl-dev libbenchmark-dev libgtest-dev
          python3-matplotlib)
    missing=()
    for p in "${pkgs[@]}"; do
      [[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" == installed ]] ||
        missing+=("$p")
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
      log "installing ${missing[*]}"
      sudo_cmd=()
      [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
      "${sudo_cmd[@]}" apt-get update -q
      DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -q -y "${missing[@]}"
    fi
  fi
fi

# ---------------------------------------------------------------- build
if [[ $do_build -eq 1 ]]; then
  log "building Release in $build/"
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" --target simdgrad_bench simdgrad-info -j "$jobs"
fi
bench_exe="$build/bench/simdgrad_bench"
info_exe="$build/simdgrad-info"
[[ -x "$bench_exe" ]] || die "$bench_exe not built"

# ---------------------------------------------------------------- ISA and threads
if [[ "$isa" == best ]]; then
  unset SIMDGRAD_MAX_ISA
  run_isa=$("$info_exe" | sed -n 's/^active isa: *\([a-z0-9]*\).*/\1/p')
  [[ -n "$run_isa" ]] || die "could not read the active ISA from $info_exe"
else
  export SIMDGRAD_MAX_ISA=$isa
  run_isa=$("$info_exe" | sed -n 's/^active isa: *\([a-z0-9]*\).*/\1/p')
  [[ "$run_isa" == "$isa" ]] || die "this CPU cannot run --isa $isa (active isa: $run_isa)"
fi
case "$run_isa" in
  avx512) export ONEDNN_MAX_CPU_ISA=AVX512_CORE ;;
  avx2) export ONEDNN_MAX_CPU_ISA=AVX2 ;;
  sse2|scalar)
    export ONEDNN_MAX_CPU_ISA=SSE41
    log "oneDNN has no $run_isa path: it runs SSE4.1 (ONEDNN_MAX_CPU_ISA=SSE41)" ;;
  *) unset ONEDNN_MAX_CPU_ISA ;;
esac

ncpu=$(nproc 2>/dev/null || echo 1)
[[ $threads -le $ncpu ]] || log "warning: $threads threads on $ncpu CPUs"
export OMP_NUM_THREADS=$threads OMP_PROC_BIND=close
pin=()
if command -v taskset >/dev/null && [[ $threads -le $ncpu ]]; then
  pin=(taskset -c "0-$((threads - 1))")
fi

# Repetitions are randomly interleaved across benchmarks, so that a burst of load from other
# processes spreads over many rows instead of skewing one; the tables use their medians.
if [[ "$full" == 1 ]]; then
  timing=(--benchmark_min_time=0.2 --benchmark_repetitions=9)
else
  timing=(--benchmark_min_time=0.05 --benchmark_repetitions=3)
fi
timing+=(--benchmark_enable_random_interleaving=true)

# ---------------------------------------------------------------- run
mkdir -p "$out"
tag="bench-$run_isa-${threads}t"
json="$out/$tag.json"
count=$("$bench_exe" --benchmark_filter="$filter" --benchmark_list_tests | wc -l)
[[ $count -gt 0 ]] || die "no benchmark matches '$filter'"
log "isa $run_isa (ONEDNN_MAX_CPU_ISA=${ONEDNN_MAX_CPU_ISA:-unset}), $threads thread(s)," \
    "${pin[*]:-unpinned}: $count benchmarks matching '$filter'"
"${pin[@]}" "$bench_exe" --benchmark_filter="$filter" "${timing[@]}" \
  --benchmark_report_aggregates_only=true \
  --benchmark_out="$json" --benchmark_out_format=json "${extra[@]}" >"$out/$tag.txt"
log "raw output in $out/$tag.txt and $json"

# ---------------------------------------------------------------- report
/usr/bin/python3 tools/bench_report.py "$json" --bandwidth --time "$time_mode" "${families[@]}" \
  --markdown "$out/$tag.md" --png "$out/$tag.png"
log "table in $out/$tag.md, chart in $out/$tag.png"
