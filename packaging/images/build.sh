#!/bin/sh
# build.sh OUTDIR - builds the two container images knode's tests and
# standalone mode use without any registry:
#   OUTDIR/pause.tar    localhost/pause:3.9     knode's static pause (pause.c),
#                                                entrypoint /pause, user 65535:65535
#   OUTDIR/busybox.tar  localhost/busybox:1.35  Debian's busybox-static with its
#                                                applet links, /etc/passwd+group
#                                                (root, nobody), /www/index.html, /tmp
# Both are docker-archive tarballs (umoci builds the OCI layout, skopeo converts),
# which `ctr -n k8s.io images import` accepts.
#
# Idempotent: OUTDIR/.stamp holds a hash of this script, pause.c and the busybox
# binary; when it matches, nothing is rebuilt. The build happens in a temporary
# folder inside OUTDIR, and each tarball is moved into place with one rename.
# Concurrent runs are serialised with flock on OUTDIR/.lock.
set -eu

OUT=${1:?usage: build.sh OUTDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
BUSYBOX=${BUSYBOX:-/bin/busybox}
CC=${CC:-cc}

need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    echo "images: '$1' not found; run 'make deps' (Debian packages umoci skopeo busybox-static)" >&2
    exit 1
}
for t in "$CC" umoci skopeo sha256sum flock tar; do need "$t"; done
[ -x "$BUSYBOX" ] || { echo "images: $BUSYBOX missing; run 'make deps' (busybox-static)" >&2; exit 1; }

bb_version=$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null || echo unknown)
hash=$({ cat "$HERE/build.sh" "$HERE/pause.c"; echo "busybox-static $bb_version"; \
         sha256sum <"$BUSYBOX"; } | sha256sum | cut -d' ' -f1)

mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock 9
if [ -s "$OUT/pause.tar" ] && [ -s "$OUT/busybox.tar" ] &&
   [ "$(cat "$OUT/.stamp" 2>/dev/null || true)" = "$hash" ]; then
    exit 0
fi

tmp=$(mktemp -d "$OUT/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
rootless=""
[ "$(id -u)" = 0 ] || rootless="--rootless"

build_pause() {
    "$CC" -Os -static -s -Wall -Wextra -Werror -o "$tmp/pause" "$HERE/pause.c"
    "$tmp/pause" -v >/dev/null
    umoci new --image "$tmp/oci:pause"
    umoci unpack $rootless --image "$tmp/oci:pause" "$tmp/b-pause"
    install -m 0755 "$tmp/pause" "$tmp/b-pause/rootfs/pause"
    umoci repack --image "$tmp/oci:pause" "$tmp/b-pause"
    umoci config --image "$tmp/oci:pause" --config.entrypoint /pause \
        --config.user 65535:65535 --os linux
}

busybox_rootfs() {  # busybox_rootfs DIR
    r=$1
    mkdir -p "$r/bin" "$r/etc" "$r/www" "$r/usr" "$r/root" "$r/tmp"
    chmod 1777 "$r/tmp"
    chmod 0700 "$r/root"
    install -m 0755 "$BUSYBOX" "$r/bin/busybox"
    for a in $("$BUSYBOX" --list); do
        [ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"
    done
    for a in sh sleep httpd nc nslookup wget; do
        [ -L "$r/bin/$a" ] || { echo "images: busybox lacks applet $a" >&2; exit 1; }
    done
    ln -s bin "$r/sbin"
    ln -s ../bin "$r/usr/bin"
    ln -s ../bin "$r/usr/sbin"
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$r/etc/passwd"
    printf 'root:x:0:\nnobody:x:65534:\n' >"$r/etc/group"
    echo hello-from-busybox >"$r/www/index.html"
}

build_busybox() {
    umoci new --image "$tmp/oci:busybox"
    umoci unpack $rootless --image "$tmp/oci:busybox" "$tmp/b-busybox"
    busybox_rootfs "$tmp/b-busybox/rootfs"
    umoci repack --image "$tmp/oci:busybox" "$tmp/b-busybox"
    umoci config --image "$tmp/oci:busybox" --config.cmd /bin/sh \
        --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --config.workingdir / --os linux
}

umoci init --layout "$tmp/oci"
build_pause
build_busybox
skopeo --insecure-policy copy -q "oci:$tmp/oci:pause" "docker-archive:$tmp/pause.tar:localhost/pause:3.9"
skopeo --insecure-policy copy -q "oci:$tmp/oci:busybox" \
    "docker-archive:$tmp/busybox.tar:localhost/busybox:1.35"
for f in pause busybox; do
    tar -tf "$tmp/$f.tar" | grep -qx manifest.json || { echo "images: bad $f.tar" >&2; exit 1; }
done

# a stale stamp first, so an interrupted move is rebuilt next time
rm -f "$OUT/.stamp"
mv -f "$tmp/pause.tar" "$OUT/pause.tar"
mv -f "$tmp/busybox.tar" "$OUT/busybox.tar"
echo "$hash" >"$tmp/stamp"
mv -f "$tmp/stamp" "$OUT/.stamp"
echo "images: built $OUT/pause.tar $OUT/busybox.tar"
