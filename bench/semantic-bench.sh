#!/usr/bin/env bash
# bench/semantic-bench.sh - is `ocidiff-tui --semantic` close to the unavoidable cost?
#
# Compares, on the real Debian rebuild pair from /work/shared/testbed/make-images.sh
# (deb-a vs deb-b: 3 layers each, 51 MB gzip / 117 MB uncompressed base layer,
# 6.6k entries):
#   ocidiff   ocidiff-tui --semantic --format table oci:DEB-A oci:DEB-B
#             (exit 1 = "images differ" is success here; 2 or more is a failure)
#   baseline  target/release/examples/baseline DEB-A DEB-B: for every layer blob,
#             read + sha256 the compressed bytes + gunzip (flate2 MultiGzDecoder,
#             zlib-rs) + sha256 the tar stream, on 2 threads (see examples/baseline.rs)
# Goals: ocidiff median wall time <= 1.1 x baseline median (issue 9; it was 1.3 before), ocidiff peak RSS < 100 MiB.
#
# Usage: bench/semantic-bench.sh            (from anywhere; builds release first)
# Environment:
#   TESTBED=/var/tmp/testbed   testbed root; make-images.sh runs (DIFFOSCOPE=0
#                              ARM64=relabel) only if TESTBED/layouts/deb-a is missing
#   MAKE_IMAGES=/work/shared/testbed/make-images.sh
#   RUNS=3                     timed runs of each (after one untimed warm-up run each)
#   BENCH_OUT=target/bench     where the tool's output and the raw timings go
#   OCIDIFF=target/release/ocidiff-tui   the binary to measure
# Measured with GNU time (/usr/bin/time -f '%M %U %S': peak RSS KiB, user and system
# CPU seconds) and bash's $EPOCHREALTIME around it (wall seconds, to the microsecond:
# GNU time's own wall time comes in 10 ms steps).  The goal is on wall time; CPU time (user+sys)
# is printed too because it is much less sensitive to other load on the machine.
# Page cache: NOT dropped (no `echo 3 > drop_caches`): every run reads warm files,
# both programs alike; the warm-up runs make sure of that.  Runs alternate
# baseline/ocidiff so that load from other processes hits both alike; the
# load average is printed because this is a shared 2-core machine.
# hyperfine is not used (it does not report peak RSS); plain loops instead.
# Exit status: 0 = goals met (or the tool is not there yet), 1 = a goal missed,
# 2 = error.
set -euo pipefail

cd "$(dirname "$0")/.."
TESTBED=${TESTBED:-/var/tmp/testbed}
MAKE_IMAGES=${MAKE_IMAGES:-/work/shared/testbed/make-images.sh}
RUNS=${RUNS:-3}
BENCH_OUT=${BENCH_OUT:-target/bench}
A=$TESTBED/layouts/deb-a
B=$TESTBED/layouts/deb-b
TOOL=${OCIDIFF:-target/release/ocidiff-tui}
BASE=target/release/examples/baseline
GOAL_RATIO=1.1
GOAL_RSS_MIB=100

step() { printf '\n==> %s\n' "$*"; }
die() { echo "semantic-bench: $*" >&2; exit 2; }
[ -x /usr/bin/time ] || die "/usr/bin/time missing (apt-get install time)"
case "$RUNS" in ''|*[!0-9]*|0) die "RUNS must be a positive integer" ;; esac
mkdir -p "$BENCH_OUT"

if [ ! -d "$A" ] || [ ! -d "$B" ]; then
  step "testbed missing ($A): running $MAKE_IMAGES $TESTBED (DIFFOSCOPE=0 ARM64=relabel, a few minutes)"
  DIFFOSCOPE=0 ARM64=relabel "$MAKE_IMAGES" "$TESTBED"
fi
[ -f "$A/index.json" ] && [ -f "$B/index.json" ] || die "no OCI layouts at $A and $B"

step "cargo build --release --bin ocidiff-tui --example baseline"
if ! cargo build --release --bin ocidiff-tui --example baseline; then
  echo "building the binary failed; building the baseline alone (ocidiff not measured)" >&2
  TOOL=/nonexistent
  cargo build --release --example baseline
fi

have_tool=0
if [ -x "$TOOL" ] && "$TOOL" --help > "$BENCH_OUT/help.txt" 2>&1 && grep -q -- '--semantic' "$BENCH_OUT/help.txt"; then
  have_tool=1
else
  echo "NOTE: $TOOL --help fails or does not mention --semantic: the CLI is not there yet; baseline only"
fi

# timed LABEL CMD...: one run; appends "wall_s rss_kib user_s sys_s" to BENCH_OUT/LABEL.times
timed() {
  local label=$1 rc=0; shift
  local start=$EPOCHREALTIME
  /usr/bin/time -f '%e %M %U %S' -o "$BENCH_OUT/time.tmp" "$@" > "$BENCH_OUT/$label.out" 2> "$BENCH_OUT/$label.err" || rc=$?
  local end=$EPOCHREALTIME
  case "$label:$rc" in
    baseline:0|ocidiff:0|ocidiff:1) ;;   # ocidiff exits 1 when the images differ
    *) echo "$label failed (exit $rc):" >&2; tail -20 "$BENCH_OUT/$label.err" >&2; exit 2 ;;
  esac
  # GNU time's wall time has 10 ms steps, a 4% step at 0.25 s: the wall time is the shell's clock's.
  tail -1 "$BENCH_OUT/time.tmp" | awk -v s="$start" -v e="$end" '{ $1 = sprintf("%.4f", e - s); print }' \
    >> "$BENCH_OUT/$label.times"
}
TOOL_CMD=("$TOOL" --semantic --format table "oci:$A" "oci:$B")
BASE_CMD=("$BASE" "$A" "$B")

# cpu_idle_pct: % of CPU time idle over the next second (from /proc/stat)
cpu_idle_pct() {
  local a b
  a=$(awk '/^cpu /{ print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat); sleep 1
  b=$(awk '/^cpu /{ print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%d", 100 * (y[1] - x[1]) / (y[2] - x[2] + 1e-9) }'
}
idle=$(cpu_idle_pct)
step "host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), CPU ${idle}% idle just now; page cache not dropped"
[ "$idle" -ge 90 ] || echo "WARNING: only ${idle}% idle - other processes compete for the cores; wall times are noisy (compare cpu times)"
rm -f "$BENCH_OUT"/*.times
step "warm-up (untimed): baseline$([ $have_tool = 1 ] && echo ", ocidiff")"
timed baseline "${BASE_CMD[@]}"
[ $have_tool = 1 ] && timed ocidiff "${TOOL_CMD[@]}"
cat "$BENCH_OUT/baseline.out"
rm -f "$BENCH_OUT"/*.times
step "$RUNS timed runs each, alternating"
for i in $(seq "$RUNS"); do
  timed baseline "${BASE_CMD[@]}"
  printf '  run %d: baseline %7.3fs %5d MiB' "$i" "$(tail -1 "$BENCH_OUT/baseline.times" | cut -d' ' -f1)" \
    "$(( $(tail -1 "$BENCH_OUT/baseline.times" | cut -d' ' -f2) / 1024 ))"
  if [ $have_tool = 1 ]; then
    timed ocidiff "${TOOL_CMD[@]}"
    printf '   ocidiff %7.3fs %5d MiB' "$(tail -1 "$BENCH_OUT/ocidiff.times" | cut -d' ' -f1)" \
      "$(( $(tail -1 "$BENCH_OUT/ocidiff.times" | cut -d' ' -f2) / 1024 ))"
  fi
  echo
done

# stats FILE -> "min median max_rss_kib median_cpu_s" (wall min/median, cpu = user+sys)
stats() {
  local cpu_med
  cpu_med=$(awk '{ printf "%.2f\n", $3 + $4 }' "$1" | sort -n | awk '{ c[NR] = $1 }
       END { printf "%.2f", (NR % 2) ? c[(NR + 1) / 2] : (c[NR / 2] + c[NR / 2 + 1]) / 2 }')
  sort -n -k1,1 "$1" | awk -v cpu="$cpu_med" '{ t[NR] = $1; if ($2 > rss) rss = $2 }
       END { n = NR; med = (n % 2) ? t[(n + 1) / 2] : (t[n / 2] + t[n / 2 + 1]) / 2;
             printf "%.4f %.4f %d %s\n", t[1], med, rss, cpu }'
}
read -r b_min b_med b_rss b_cpu < <(stats "$BENCH_OUT/baseline.times")
[ -n "${b_rss:-}" ] || die "no baseline timings"
step "result (deb-a vs deb-b, $RUNS runs, min / median wall time)"
printf '  baseline  %7.3fs  (min %.3fs, cpu %.2fs)                                peak RSS %4d MiB\n' \
  "$b_med" "$b_min" "$b_cpu" $((b_rss / 1024))
if [ $have_tool = 0 ]; then
  echo "  ocidiff   not measured: the CLI is not there yet (baseline alone)"
  exit 0
fi
read -r o_min o_med o_rss o_cpu < <(stats "$BENCH_OUT/ocidiff.times")
[ -n "${o_rss:-}" ] || die "no ocidiff timings"
ratio=$(awk -v o="$o_med" -v b="$b_med" 'BEGIN { printf "%.2f", o / b }')
ratio_min=$(awk -v o="$o_min" -v b="$b_min" 'BEGIN { printf "%.2f", o / b }')
rss_mib=$((o_rss / 1024))
cpu_ratio=$(awk -v o="$o_cpu" -v b="$b_cpu" 'BEGIN { printf "%.2f", o / b }')
printf '  ocidiff   %7.3fs  (min %.3fs, cpu %.2fs)  (ratio %sx, min/min %sx, cpu %sx)  peak RSS %4d MiB\n' \
  "$o_med" "$o_min" "$o_cpu" "$ratio" "$ratio_min" "$cpu_ratio" "$rss_mib"
ok=0
if awk -v r="$ratio" -v g="$GOAL_RATIO" 'BEGIN { exit !(r <= g) }'; then
  echo "  PASS  time: ratio $ratio <= $GOAL_RATIO"
else
  echo "  FAIL  time: ratio $ratio > $GOAL_RATIO"; ok=1
fi
if [ "$rss_mib" -lt "$GOAL_RSS_MIB" ]; then
  echo "  PASS  memory: peak RSS $rss_mib MiB < $GOAL_RSS_MIB MiB"
else
  echo "  FAIL  memory: peak RSS $rss_mib MiB >= $GOAL_RSS_MIB MiB"; ok=1
fi
echo "  (ocidiff's table output: $BENCH_OUT/ocidiff.out; raw timings: $BENCH_OUT/*.times)"
exit $ok
