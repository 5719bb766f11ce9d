#!/bin/sh
# deps.sh - install, only when missing, every Debian package that building,
# testing and running knode need. Idempotent and quiet when all is present.
set -eu

BUILD_PKGS="build-essential pkg-config libgrpc-dev libprotobuf-c-dev protobuf-c-compiler
 libcurl4-openssl-dev libcjson-dev libyaml-dev libnftables-dev libnftnl-dev libmnl-dev
 libnl-3-dev libnl-genl-3-dev libnetfilter-conntrack-dev libsqlite3-dev libssl-dev
 libmicrohttpd-dev libgnutls28-dev clang libclang-rt-14-dev llvm clang-format lld"
RUNTIME_PKGS="containerd runc crun containernetworking-plugins nftables conntrack iproute2
 util-linux procps kmod openssl ca-certificates"
TEST_PKGS="busybox-static umoci skopeo sqlite3 dnsutils bind9-dnsutils curl python3 etcd-server
 nghttp2-server"
BENCH_PKGS="dnsperf knot nsd unbound hyperfine"

missing=""
for p in $BUILD_PKGS $RUNTIME_PKGS $TEST_PKGS ${KNODE_BENCH_DEPS:+$BENCH_PKGS}; do
    # dpkg-query prints "install ok installed" only for fully installed packages
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$st" = "install ok installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "knode deps: missing Debian packages:$missing" >&2
    echo "knode deps: run 'make deps' as root (or: sudo apt-get install$missing)" >&2
    exit 1
fi
echo "knode deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# the package lists may be missing or stale on a fresh machine
if ! apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# Debian's containerd package starts a system containerd where systemd runs;
# knode's tests and standalone mode use their own instances, never that one.
exit 0
