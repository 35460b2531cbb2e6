# Shared helpers for scripts/test.sh and .ci/run (sourced, not run).
#
#   sg_log MSG...            prints "[simdgrad] MSG" on stderr
#   sg_jobs                  build parallelism: $SIMDGRAD_JOBS, else the number of CPUs
#   sg_ctest DIR ARGS...     runs ctest in DIR with output-on-failure, keeps its output in
#                            DIR/ctest-<label>.log, adds its pass/fail counts to the tally file
#                            ($SIMDGRAD_TALLY), returns ctest's status
#   sg_tally_totals          prints "PASSED FAILED" summed over the tally file
#   sg_ctest_count DIR ARGS  prints how many tests ctest would run (ctest -N)

sg_log() { printf '[simdgrad] %s\n' "$*" >&2; }

sg_jobs() {
  if [[ -n "${SIMDGRAD_JOBS:-}" ]]; then
    echo "$SIMDGRAD_JOBS"
  else
    nproc 2>/dev/null || echo 2
  fi
}

sg_ctest_count() {
  local dir=$1; shift
  ctest --test-dir "$dir" -N "$@" | sed -n 's/^Total Tests: *\([0-9][0-9]*\).*/\1/p'
}

# One line per ctest run in the tally file: "<passed> <failed> <what>".
sg_ctest() {
  local dir=$1; shift
  local tag
  tag=$(printf '%s' "$*" | tr -c 'A-Za-z0-9_.-' '_' | cut -c1-40)
  local log="$dir/ctest-${tag}.log"
  local rc=0
  ctest --test-dir "$dir" --output-on-failure --no-tests=error "$@" 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
  local line total failed
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
  if [[ -n "$line" ]]; then
    failed=$(sed -E 's/^[0-9]+% tests passed, ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
    total=$(sed -E 's/^[0-9]+% tests passed, ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")
  else
    # ctest died before its summary (or found no test): count the run as one failure
    total=1
    failed=1
    [[ $rc -ne 0 ]] || rc=1
  fi
  if [[ -n "${SIMDGRAD_TALLY:-}" ]]; then
    echo "$((total - failed)) $failed ctest($dir $*)" >>"$SIMDGRAD_TALLY"
  fi
  return "$rc"
}

sg_tally_totals() {
  local passed=0 failed=0 p f rest
  if [[ -n "${SIMDGRAD_TALLY:-}" && -f "$SIMDGRAD_TALLY" ]]; then
    while read -r p f rest; do
      passed=$((passed + p))
      failed=$((failed + f))
    done <"$SIMDGRAD_TALLY"
  fi
  echo "$passed $failed"
}
