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
# Usage: bench/frame-bench.sh [DIRS FILES RUNS]      (defaults 1000 100 100)
# Exit status: 0 = PASS, 1 = FAIL, 2 = build error.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "==> cargo build --release --example frame_bench"
cargo build --release --example frame_bench || exit 2
echo "==> host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
exec target/release/examples/frame_bench "$@"
