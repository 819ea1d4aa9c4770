#!/usr/bin/env bash
# bench/same-outputs.sh OLD NEW - do two builds of ocidiff-tui write the same bytes?
#
# For a change that must not change results (issue 12: a compact model, streaming writers), runs both
# binaries on every pair at hand with a matrix of flags and compares, byte for byte, stdout, the exit
# status, `--report-file` and a `--report-dir`'s report.json and README.md. Pairs: the make-example pair
# (written once by OLD into the work directory) and the testbed's deb-a against deb-b, deb-c, deb-d,
# deb-a-zstd and multi when /var/tmp/testbed/layouts has them (make-images.sh builds them).
# NDJSON events of layers read in parallel may come in another order from run to run: an NDJSON
# difference is reported only if OLD run twice gives the same bytes.
#
# Usage: bench/same-outputs.sh OLD_BINARY NEW_BINARY      (WORK=/var/tmp/ocidiff-same-outputs)
# Exit status: 0 = all the same, 1 = a difference (listed), 2 = error.
set -uo pipefail
OLD=${1:?usage: same-outputs.sh OLD_BINARY NEW_BINARY}
NEW=${2:?usage: same-outputs.sh OLD_BINARY NEW_BINARY}
TESTBED=${TESTBED:-/var/tmp/testbed}
WORK=${WORK:-/var/tmp/ocidiff-same-outputs}
export OCIDIFF_CONFIG=/dev/null NO_COLOR=1
rm -rf "$WORK" && mkdir -p "$WORK" || exit 2
rules=$WORK/rules.toml
cat > "$rules" <<'EOF'
max-unexplained = 0
denied-paths = ["etc/**"]
no-new-setuid = true
config-fields = ["User", "Env:PATH"]
max-growth-percent = 5.0
[packages]
no-downgrade = true
EOF
"$OLD" make-example "$WORK/example" > /dev/null 2>&1 || { echo "make-example failed" >&2; exit 2; }

pairs=("example oci:$WORK/example/a oci:$WORK/example/b")
for other in deb-b deb-c deb-d deb-a-zstd multi; do
  [ -f "$TESTBED/layouts/deb-a/index.json" ] && [ -f "$TESTBED/layouts/$other/index.json" ] &&
    pairs+=("deb-a-vs-$other oci:$TESTBED/layouts/deb-a oci:$TESTBED/layouts/$other")
done

flag_sets=(
  "--format json"
  "--format json --semantic"
  "--format json --view merged"
  "--format json --view per-layer"
  "--format json --semantic --view merged"
  "--format json --ignore-file-timestamps --ignore-path usr/share/doc --ignore-noise"
  "--format json --rules $rules"
  "--format json --explain"
  "--format ndjson"
  "--format table"
  "--format table --verbose --semantic"
  "--format table --report-file REPORT_FILE"
  "--format table --report-file REPORT_FILE --rules $rules --semantic"
  "--format table --report-dir REPORT_DIR"
  "--format table --report-dir REPORT_DIR --semantic --view merged"
)

# one BIN NAME PAIR_A PAIR_B FLAGS...: runs into $WORK/NAME.{out,code,file,dir}
one() {
  local bin=$1 name=$2 a=$3 b=$4; shift 4
  local args=() arg
  for arg in "$@"; do
    case $arg in
      REPORT_FILE) args+=("$WORK/$name.file") ;;
      REPORT_DIR) args+=("$WORK/$name.dir") ;;
      *) args+=("$arg") ;;
    esac
  done
  "$bin" --quiet "${args[@]}" "$a" "$b" > "$WORK/$name.out" 2> "$WORK/$name.err"
  echo $? > "$WORK/$name.code"
}

differ=0 compared=0
for pair in "${pairs[@]}"; do
  read -r label a b <<< "$pair"
  for i in "${!flag_sets[@]}"; do
    read -r -a flags <<< "${flag_sets[$i]}"
    one "$OLD" "$label.$i.old" "$a" "$b" "${flags[@]}"
    one "$NEW" "$label.$i.new" "$a" "$b" "${flags[@]}"
    same=1
    for part in out code file dir/report.json dir/README.md; do
      old=$WORK/$label.$i.old.$part new=$WORK/$label.$i.new.$part
      [ -e "$old" ] || [ -e "$new" ] || continue
      if ! cmp -s "$old" "$new"; then
        if [ "${flags[1]:-}" = ndjson ] && [ "$part" = out ]; then
          one "$OLD" "$label.$i.again" "$a" "$b" "${flags[@]}"
          cmp -s "$old" "$WORK/$label.$i.again.out" || { echo "  (ndjson order varies: $label ${flag_sets[$i]})"; continue; }
        fi
        echo "DIFFERS: $label ${flag_sets[$i]}: $part ($old vs $new)"
        same=0
      fi
    done
    compared=$((compared + 1))
    [ $same = 1 ] || differ=$((differ + 1))
    printf '  %-22s %-70s %s (%s bytes, exit %s)\n' "$label" "${flag_sets[$i]//$rules/RULES}" \
      "$([ $same = 1 ] && echo same || echo DIFFERENT)" "$(stat -c %s "$WORK/$label.$i.new.out")" \
      "$(cat "$WORK/$label.$i.new.code")"
  done
done
echo "$compared runs compared, $differ different"
[ $differ = 0 ]
