#!/usr/bin/env bash
# make-busybox-pair.sh - build a REAL, small image set from Debian's busybox-static
# for the integration tests: umoci builds the images, skopeo converts them.
#
# Usage: tests/real/make-busybox-pair.sh OUTDIR
# Needs: root (chown, umoci unpack), umoci 0.4.7, skopeo 1.9, busybox-static,
#        coreutils, tar.  No network.  Takes a few seconds.
#
# Output in OUTDIR (everything is rebuilt on every run: idempotent):
#   layout/        OCI layout built with umoci, tags:
#     a            base: one layer = busybox rootfs (/bin/busybox, one symlink per
#                  applet -> /bin/busybox, /etc files, /srv/data.txt ...), all mtimes
#                  $T_A; config: cmd /bin/sh, env PATH, label org.example.variant=a
#     b            a "rebuild" of a: the same files built again from scratch with
#                  all mtimes $T_B (and $T_B as created date) -> only timestamps
#                  and digests differ; config identical to a's except dates
#     c            a + one more layer with real changes (all touched files get
#                  mtime $T_C):
#                    modified  /etc/motd          (content)
#                    added     /etc/added.conf
#                    removed   /etc/issue         (.wh.issue whiteout)
#                    chmod     /srv/script.sh     0755 -> 0700
#                    chown     /srv/data.txt      0:0 -> 1000:1000
#                    symlink   /usr/local/bin/hello -> /srv/script.sh (new)
#                  plus /etc and the parent dirs as changed dirs; config label
#                  org.example.variant=c
#   a.oci.tar      skopeo oci-archive of a       (ref name ocidiff-test/busybox:a)
#   a.docker.tar   skopeo docker-archive of a    (ocidiff-test/busybox:a)
#   b.docker.tar   skopeo docker-archive of b    (ocidiff-test/busybox:b)
#   a-zstd/        OCI layout, tag a, zstd layers (skopeo --dest-compress-format zstd)
#
# Determinism: mtimes, config/history dates, file contents and modes are fixed,
# so with the same busybox-static version every run gives byte-identical layouts
# (layout/, a-zstd/) and docker-archives (checked with umoci 0.4.7 / skopeo 1.9.3);
# only a.oci.tar's own tar headers (mtimes) change, its image digests do not.
# Not used on purpose: `umoci insert --opaque` (0.4.7 writes a tar without the
# end-of-archive blocks, umoci#436; see /work/shared/testbed/make-images.sh).
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "$0: run as root (chown, umoci unpack)" >&2; exit 1; }
for c in umoci skopeo tar; do
  command -v "$c" >/dev/null || { echo "$0: $c not found (apt-get install umoci skopeo)" >&2; exit 1; }
done
BUSYBOX=/bin/busybox
# busybox-static ships /bin/busybox; make sure it is the static one (Debian's `busybox` is dynamic)
dpkg-query -W -f '${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' \
  || { echo "$0: busybox-static is not installed (apt-get install busybox-static)" >&2; exit 1; }

OUT=$(realpath -m "$1")
LAYOUT=$OUT/layout
WORK=$OUT/.work
T_A=@1700000000   # 2023-11-14T22:13:20Z
T_B=@1700086400   # one day later
T_C=@1700172800   # two days later
iso() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
SK=(skopeo --insecure-policy)
REF=ocidiff-test/busybox
START=$(date +%s.%N)

mkdir -p "$OUT"
rm -rf "$LAYOUT" "$WORK" "$OUT/a-zstd" "$OUT/a.oci.tar" "$OUT/a.docker.tar" "$OUT/b.docker.tar"
mkdir -p "$WORK"
umask 022

# populate ROOTFS MTIME: the busybox rootfs shared by a and b
populate() {
  local r=$1 t=$2
  mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,etc,root,home,var/log,srv,proc,sys,dev,tmp}
  chmod 1777 "$r/tmp"; chmod 0700 "$r/root"
  install -m 0755 "$BUSYBOX" "$r/bin/busybox"
  # what `busybox --install -s` does, but into the rootfs and deterministic:
  # an absolute symlink to /bin/busybox at each applet's canonical path
  local p
  while read -r p; do
    [ "$p" = bin/busybox ] && continue
    mkdir -p "$r/$(dirname "$p")"
    ln -sfn /bin/busybox "$r/$p"
  done < <("$BUSYBOX" --list-full | LC_ALL=C sort)
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000:app:/home/app:/bin/sh\n' > "$r/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\napp:x:1000:\n' > "$r/etc/group"
  printf 'root:*:19000:0:99999:7:::\n' > "$r/etc/shadow"; chmod 0640 "$r/etc/shadow"
  printf 'busybox\n' > "$r/etc/hostname"
  printf 'Welcome to the ocidiff busybox test image.\n' > "$r/etc/motd"
  printf 'busybox test image \\n \\l\n' > "$r/etc/issue"
  printf 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nexport PS1="\\h:\\w\\$ "\n' > "$r/etc/profile"
  printf 'hosts: files dns\n' > "$r/etc/nsswitch.conf"
  printf 'some data\n' > "$r/srv/data.txt"
  printf '#!/bin/sh\necho hello from busybox\n' > "$r/srv/script.sh"; chmod 0755 "$r/srv/script.sh"
  mkdir -p "$r/home/app"; chown 1000:1000 "$r/home/app"
  find "$r" -exec touch -h -d "$t" {} +
}

# build_base TAG MTIME VARIANT: umoci new + unpack, populate, repack, config
build_base() {
  local tag=$1 t=$2 variant=$3 b=$WORK/bundle-$1 created
  created=$(iso "$t")
  umoci new --image "$LAYOUT:$tag"
  umoci unpack --image "$LAYOUT:$tag" "$b" >/dev/null
  populate "$b/rootfs" "$t"
  umoci repack --image "$LAYOUT:$tag" --history.created "$created" \
    --history.created_by "make-busybox-pair.sh: busybox-static rootfs" "$b"
  umoci config --image "$LAYOUT:$tag" --created "$created" --history.created "$created" \
    --architecture amd64 --os linux --author ocidiff-test \
    --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --config.cmd /bin/sh --config.workingdir / \
    --config.label org.example.variant="$variant" \
    --history.created_by "make-busybox-pair.sh: umoci config"
  rm -rf "$b"
}

umoci init --layout "$LAYOUT"
build_base a "$T_A" base
build_base b "$T_B" base

# c = a + one layer of real changes
b=$WORK/bundle-c; r=$b/rootfs; created=$(iso "$T_C")
umoci unpack --image "$LAYOUT:a" "$b" >/dev/null
printf 'Welcome to the ocidiff busybox test image (variant c).\n' > "$r/etc/motd"
printf 'added=1\n' > "$r/etc/added.conf"
rm -f "$r/etc/issue"
chmod 0700 "$r/srv/script.sh"
chown 1000:1000 "$r/srv/data.txt"
ln -s /srv/script.sh "$r/usr/local/bin/hello"
touch -h -d "$T_C" "$r/etc/motd" "$r/etc/added.conf" "$r/etc" "$r/srv/script.sh" "$r/srv/data.txt" \
  "$r/usr/local/bin/hello" "$r/usr/local/bin"
umoci repack --image "$LAYOUT:c" --history.created "$created" \
  --history.created_by "make-busybox-pair.sh: edit motd, add added.conf, rm issue, chmod, chown, symlink" "$b"
umoci config --image "$LAYOUT:c" --created "$created" --no-history --config.label org.example.variant=c
rm -rf "$b"
umoci gc --layout "$LAYOUT"

# skopeo conversions
"${SK[@]}" copy -q "oci:$LAYOUT:a" "oci-archive:$OUT/a.oci.tar:$REF:a"
"${SK[@]}" copy -q "oci:$LAYOUT:a" "docker-archive:$OUT/a.docker.tar:$REF:a"
"${SK[@]}" copy -q "oci:$LAYOUT:b" "docker-archive:$OUT/b.docker.tar:$REF:b"
# skopeo 1.9.3 (bookworm) supports --dest-compress-format zstd for the oci transport
"${SK[@]}" copy -q --dest-compress-format zstd "oci:$LAYOUT:a" "oci:$OUT/a-zstd:a"
rm -rf "$WORK"

# short manifest digest of tag $1, from the compact index.json umoci writes
digest() { sed -n 's/.*"digest":"\(sha256:[0-9a-f]\{12\}\)[0-9a-f]*","size":[0-9]*,"annotations":{"org.opencontainers.image.ref.name":"'"$1"'"}.*/\1/p' "$LAYOUT/index.json"; }
printf 'make-busybox-pair: %s: layout tags a=%s b=%s c=%s, a.oci.tar a.docker.tar b.docker.tar a-zstd/ (busybox %s, %.1fs)\n' \
  "$OUT" "$(digest a)" "$(digest b)" "$(digest c)" \
  "$(dpkg-query -W -f '${Version}' busybox-static)" "$(awk -v a="$START" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')"
