#!/usr/bin/env bash
# bench/scale-bench.sh - wall time and peak memory at scale, per output (issue 12).
#
# Builds (or reuses, under SCALE_DIR) two generated pairs of OCI layouts, one gzip layer each, written by
# streaming (examples/scale_bench.rs, examples/common/layout.rs):
#   host   GIB GiB of real files: TREE (/usr) repeated; on side b every mtime a day later, one file in
#          1000 changed, one entry in 20,000 left out and as many added;
#   small  ENTRIES small files (64-575 bytes, 1000 to a directory); on side b every mtime a day later,
#          one file in 1000 changed;
#   history one small layer, a config of STEPS history steps (8.4 MB at 100,000); on side b every step
#          created a year later (STEPS config differences in one config context).
# Then, on each pair, one run of each (GNU time: wall seconds and peak RSS):
#   floor      examples/baseline: sha256 of both blobs + gunzip + sha256 of the tars, 2 threads (the
#              baseline of bench/semantic-bench.sh)
#   semantic   --semantic --format table            (the time goal: <= 1.15 x the floor on host)
#   table      --format table                       (strict, as every run below)
#   verbose    --format table --verbose
#   json       --format json
#   ndjson     --format ndjson
#   html       --format html
#   report-dir --format table --report-dir DIR      (both sides of every differing file written)
#   explorer   scale_bench explorer: the comparison loaded as the explorer loads it, one frame drawn;
#              it prints its own wall time and peak RSS
# Goals (issue 12): headless peak RSS <= 150 MiB on host and history and <= 400 MiB on small in every
# format; explorer <= 400 MiB on host and history and <= 1 GiB on small; semantic <= 1.15 x floor on
# host.
#
# Usage: bench/scale-bench.sh
# Environment:
#   GIB=3 ENTRIES=1000000 STEPS=100000 TREE=/usr   the pairs' sizes (quick: GIB=1 ENTRIES=100000)
#   SCALE_DIR=/var/tmp/ocidiff-scale-bench   where the pairs are (DIR/host-GIB, DIR/small-ENTRIES)
#   PAIRS="host small history"
#   RUNS_OF="floor semantic table verbose json ndjson html report-dir explorer"
#   OCIDIFF=target/release/ocidiff-tui   the binary measured (another build's, to compare)
#   EXPLORER=target/release/examples/scale_bench   the explorer driver measured
#   BUILT=target/release  where the examples are; NO_BUILD=1 skips `cargo build --release` (to measure
#                       binaries built otherwise)
#   MEM_LIMIT_GIB=8     each run's address space is capped (ulimit -v): a run over it fails, and is
#                       reported so, instead of taking the shared machine's memory
#   BENCH_OUT=target/scale-bench   outputs and error logs (big outputs are deleted, their size kept)
# The machine's cores, load average and memory are printed: wall times are noisy on a shared host,
# peak RSS is not.  Page cache is not dropped; the pairs are read once untimed first.
# Exit status: 0 = every goal met, 1 = a goal missed or a run failed, 2 = error.
set -euo pipefail
cd "$(dirname "$0")/.."
GIB=${GIB:-3}
ENTRIES=${ENTRIES:-1000000}
STEPS=${STEPS:-100000}
TREE=${TREE:-/usr}
SCALE_DIR=${SCALE_DIR:-/var/tmp/ocidiff-scale-bench}
PAIRS=${PAIRS:-host small history}
RUNS_OF=${RUNS_OF:-floor semantic table verbose json ndjson html report-dir explorer}
BUILT=${BUILT:-${CARGO_TARGET_DIR:-target}/release}
OCIDIFF=${OCIDIFF:-$BUILT/ocidiff-tui}
EXPLORER=${EXPLORER:-$BUILT/examples/scale_bench}
BASE=$BUILT/examples/baseline
GEN=$BUILT/examples/scale_bench
MEM_LIMIT_GIB=${MEM_LIMIT_GIB:-8}
BENCH_OUT=${BENCH_OUT:-${CARGO_TARGET_DIR:-target}/scale-bench}

die() { echo "scale-bench: $*" >&2; exit 2; }
[ -x /usr/bin/time ] || die "/usr/bin/time missing (apt-get install time)"
mkdir -p "$BENCH_OUT"
if [ -z "${NO_BUILD:-}" ]; then
  echo "==> cargo build --release --bin ocidiff-tui --example baseline --example scale_bench"
  cargo build --release --bin ocidiff-tui --example baseline --example scale_bench || exit 2
fi
[ -x "$OCIDIFF" ] || die "no binary at $OCIDIFF"

for pair in $PAIRS; do
  case $pair in
    host) dir=$SCALE_DIR/host-$GIB; "$GEN" host "$dir" "$GIB" "$TREE" || exit 2 ;;
    small) dir=$SCALE_DIR/small-$ENTRIES; "$GEN" small "$dir" "$ENTRIES" || exit 2 ;;
    history) dir=$SCALE_DIR/history-$STEPS; "$GEN" history "$dir" "$STEPS" || exit 2 ;;
    *) die "unknown pair $pair (host, small, history)" ;;
  esac
  du -sh "$dir/a" "$dir/b" | sed 's/^/    /'
done
echo "==> machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)," \
  "$(awk '/MemAvailable/ { printf "%d", $2 / 1048576 }' /proc/meminfo) GiB available; $OCIDIFF"

# run LABEL CMD...: one run under GNU time and the memory cap; sets wall, rss_mib, status
run() {
  local label=$1 rc=0; shift
  local out=$BENCH_OUT/$label
  ( ulimit -v $((MEM_LIMIT_GIB << 20)); exec /usr/bin/time -f '%e %M' -o "$out.time" "$@" ) \
    > "$out.out" 2> "$out.err" || rc=$?
  read -r wall rss_kib < <(tail -1 "$out.time" | grep -E '^[0-9.]+ [0-9]+$' || echo "- 0")
  rss_mib=$((rss_kib / 1024))
  size=$(stat -c %s "$out.out")
  case $rc in
    0|1) status=ok ;;   # 1: the images differ
    *) status="FAILED (exit $rc; see $out.err)"; failed=1 ;;
  esac
  [ "$size" -lt $((64 << 20)) ] || : > "$out.out"   # a big output's size is all that is kept
}

failed=0
missed=0
summary=$BENCH_OUT/summary.txt
: > "$summary"
for pair in $PAIRS; do
  case $pair in
    host) dir=$SCALE_DIR/host-$GIB; headless_goal=150; explorer_goal=400 ;;
    small) dir=$SCALE_DIR/small-$ENTRIES; headless_goal=400; explorer_goal=1024 ;;
    history) dir=$SCALE_DIR/history-$STEPS; headless_goal=150; explorer_goal=400 ;;
  esac
  A=$dir/a B=$dir/b
  echo "==> $pair: $A vs $B"
  cat "$A"/blobs/sha256/* "$B"/blobs/sha256/* > /dev/null   # warm the page cache, untimed
  floor=""
  for what in $RUNS_OF; do
    args=()
    case $what in
      floor) run "$pair.floor" "$BASE" "$A" "$B" ;;
      semantic) args=(--semantic --format table) ;;
      table) args=(--format table) ;;
      verbose) args=(--format table --verbose) ;;
      json) args=(--format json) ;;
      ndjson) args=(--format ndjson) ;;
      html) args=(--format html) ;;
      report-dir) rm -rf "$BENCH_OUT/$pair.report"; args=(--format table --report-dir "$BENCH_OUT/$pair.report") ;;
      explorer) run "$pair.explorer" "$EXPLORER" explorer "oci:$A" "oci:$B" ;;
      *) die "unknown run $what" ;;
    esac
    [ ${#args[@]} -eq 0 ] || run "$pair.$what" "$OCIDIFF" "${args[@]}" "oci:$A" "oci:$B"
    [ "$what" != report-dir ] || rm -rf "$BENCH_OUT/$pair.report"
    [ "$what" != floor ] || floor=$wall
    ratio=$(awk -v w="$wall" -v f="$floor" 'BEGIN { if (f > 0 && w + 0 > 0) printf "%.2fx", w / f; else printf "-" }')
    goal=""
    case $what in
      floor) ;;
      explorer) goal=$explorer_goal ;;
      *) goal=$headless_goal ;;
    esac
    verdict=""
    if [ -n "$goal" ] && [ "$status" = ok ]; then
      if [ "$rss_mib" -le "$goal" ]; then verdict="<= $goal MiB"; else verdict="> $goal MiB (goal missed)"; missed=1; fi
    fi
    if [ "$pair:$what" = host:semantic ] && [ "$status" = ok ] && [ -n "$floor" ]; then
      if awk -v w="$wall" -v f="$floor" 'BEGIN { exit !(w <= 1.15 * f) }'; then
        verdict="$verdict; time <= 1.15x floor"
      else
        verdict="$verdict; time > 1.15x floor (goal missed)"; missed=1
      fi
    fi
    printf '  %-6s %-10s %8ss %7s %7d MiB %12d B out  %s %s\n' "$pair" "$what" "$wall" "$ratio" \
      "$rss_mib" "$size" "$status" "$verdict" | tee -a "$summary"
    [ "$what" != explorer ] || sed 's/^/           /' "$BENCH_OUT/$pair.explorer.out"
  done
done
echo "==> load average after: $(cut -d' ' -f1-3 /proc/loadavg); summary in $summary"
exit $(( failed | missed ))
