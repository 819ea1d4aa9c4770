#!/usr/bin/env bash
# bench/noise-bench.sh - is a 1 MB log classified in milliseconds?
#
# Builds examples/noise_bench.rs in release and runs it: the text-change classifier
# (src/explain/text.rs, TextChange::classify) on synthetic 1 MB dpkg.log and bootstrap.log pairs
# (every line changed: the worst case), on a 1 MB pair whose only real change is in its last line,
# and on the testbed's var/log/{dpkg,bootstrap}.log (deb-a vs deb-b) when /var/tmp/testbed is there.
# Prints wall-clock median / max in ms and the mean CPU time per run (/proc/self/stat), and
# PASS/FAIL on every median against 10 ms.
#
# Recorded (2 cores shared, load average ~10.5; the crate at opt-level 3 with debug assertions,
# dependencies at opt-level 2: `CARGO_PROFILE_DEV_OPT_LEVEL=3 cargo run --example noise_bench -- 100`):
#                                                 median ms   cpu ms/run   kind
#   dpkg.log, 1 MB, all timestamps                   3.9         3.8       timestamps
#   bootstrap.log, 1 MB, timestamps + build paths    9.9         6.0       timestamps-and-build-paths
#   dpkg.log, 1 MB, other at the end                 5.5         4.1       other
#   testbed dpkg.log (45 KB)                         0.21        0.2       timestamps
#   testbed bootstrap.log (58 KB)                    0.15        0.1       timestamps-and-build-paths
#
# Usage: bench/noise-bench.sh [RUNS]      (default 50)
# Exit status: 0 = PASS, 1 = FAIL, 2 = build error.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "==> cargo build --release --example noise_bench"
cargo build --release --example noise_bench || exit 2
echo "==> host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
exec target/release/examples/noise_bench "$@"
