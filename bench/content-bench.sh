#!/usr/bin/env bash
# bench/content-bench.sh - does a file's content show in at most 150 ms after the scan?
#
# Builds examples/content_bench.rs in release and runs it on two pairs:
#   1. the Debian rebuild pair of /work/shared/testbed/make-images.sh (deb-a vs deb-b, 48 MiB gzip
#      base layer; skipped if the testbed is absent);
#   2. a generated pair of one gzip layer of GIB GiB uncompressed each (65,536 files per 2 GiB,
#      one in 997 differing), written by streaming into BIG_DIR and reused when present.
# For each: the scan's wall time with and without the content spool, then p50/p95/max of the time
# from selecting a file (ContentLoader::want) to its rendered hunks, "before" (no spool: the layer
# is decompressed and verified again, as the explorer did) and "after" (read from the spool).
#
# Usage: bench/content-bench.sh [SAMPLES BEFORE_SAMPLES]   (defaults 40 5)
# Environment: TESTBED=/var/tmp/testbed, BIG_DIR=/var/tmp/ocidiff-content-bench, GIB=2
# Exit status: 0 = PASS (p95 after <= 150 ms on every pair), 1 = FAIL, 2 = error.
set -euo pipefail
cd "$(dirname "$0")/.."
TESTBED=${TESTBED:-/var/tmp/testbed}
BIG_DIR=${BIG_DIR:-/var/tmp/ocidiff-content-bench}
GIB=${GIB:-2}
SAMPLES=${1:-40}
BEFORE=${2:-5}
echo "==> cargo build --release --example content_bench"
cargo build --release --example content_bench || exit 2
BENCH=${CARGO_TARGET_DIR:-target}/release/examples/content_bench
echo "==> host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
if [ -f "$TESTBED/layouts/deb-a/index.json" ] && [ -f "$TESTBED/layouts/deb-b/index.json" ]; then
  "$BENCH" compare "oci:$TESTBED/layouts/deb-a" "oci:$TESTBED/layouts/deb-b" "$SAMPLES" "$BEFORE" || status=$?
else
  echo "==> testbed absent ($TESTBED/layouts/deb-a): pair 1 skipped"
fi
[ "$status" -le 1 ] || exit "$status"
echo "==> generating the big pair in $BIG_DIR (${GIB} GiB uncompressed per layer; reused if present)"
"$BENCH" generate "$BIG_DIR" "$GIB" || exit 2
big=0
"$BENCH" compare "oci:$BIG_DIR/big-a" "oci:$BIG_DIR/big-b" "$SAMPLES" "$BEFORE" || big=$?
[ "$big" -le 1 ] || exit "$big"
exit $(( status | big ))
