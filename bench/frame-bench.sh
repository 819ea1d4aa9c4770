#!/usr/bin/env bash
# bench/frame-bench.sh - does the explorer draw a frame of a 100,000-entry tree in under 10 ms?
#
# Builds examples/frame_bench.rs in release and runs it: an App fed (as the event loop feeds it)
# with 1,000 directories x 100 files of synthetic file differences (added, removed, content,
# mtime-only), every directory open, drawn on a 200x50 ratatui TestBackend. Prints median / p95 /
# max in ms for:
#   (a) App::refresh after toggling --ignore-file-timestamps, and its parts
#       (Presentation::shown_flags, Presentation::hidden_by_option, Tree::visibility, Tree::rows)
#   (b) one frame while the selection moves down (entry selected), plus a layer and the top
#       directory selected (their detail panes summarise 100,000 entries)
#   (c) a key press: App::update(Down) + frame; and `1` (re-filter) + frame
# and PASS/FAIL on the median frame of (b) against 10 ms.
#
# Recorded (2 cores, load ~1.3, `bench/frame-bench.sh 1000 100 20`, median ms; "before" = the
# explorer as first committed, "after" = with the fixes in src/tui made alongside this bench):
#                                        before    after
#   (b) frame, entry selected             0.38     0.41   goal < 10 ms: PASS
#       frame, layer selected             7.46     0.61   (10.8 ms under load before)
#       frame, usr/ selected              7.45     0.31
#   (c) key Down → frame                  0.38     0.41
#       key Space (close a dir) → frame   135      6.0
#       key ] (from mid-tree) → frame     867     13.5
#       key n (from mid-tree) → frame     331     22.3
#       key 1 → refresh → frame           149    138    (filter.rs: shown_flags 60,
#                                                          hidden_by_option 118; --semantic 420-570)
#
# Usage: bench/frame-bench.sh [DIRS FILES RUNS]      (defaults 1000 100 100)
# Exit status: 0 = PASS, 1 = FAIL, 2 = build error.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "==> cargo build --release --example frame_bench"
cargo build --release --example frame_bench || exit 2
echo "==> host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
exec target/release/examples/frame_bench "$@"
