#!/bin/sh
# nsrun.sh NETNS CMD [ARG...] - run a command inside a testbed node, by hand,
# the way tb_exec (testbed.c) runs it from tests: in the node's network
# namespace, in a private mount namespace where /sys belongs to that netns
# and the cgroup v1 hierarchies are mounted again (plain `ip netns exec`
# remounts /sys and so hides /sys/fs/cgroup/*; runc then fails with "no
# cgroup mount found in mountinfo"). The cgroup2 "unified" mount of a hybrid
# host is left out, as crun 1.8 refuses hybrid mode.
#
#   sudo test/harness/nsrun.sh kt1234-nodeA ip route
#   sudo test/harness/nsrun.sh kt1234-nodeA ctr -a /run/knode-tb-kt1234/nodeA/containerd.sock ps
#
# The command's arguments are passed through "$@", never re-parsed by a shell.
set -eu
[ $# -ge 2 ] || { echo "usage: nsrun.sh NETNS CMD [ARG...]" >&2; exit 2; }
ns=$1
shift
[ -e "/run/netns/$ns" ] || { echo "nsrun.sh: no network namespace $ns" >&2; exit 1; }
# "source mountpoint options" of each cgroup v1 hierarchy, read on the host
NSRUN_CGROUPS=$(awk '$3 == "cgroup" && $2 ~ "^/sys/fs/cgroup/" { print $1, $2, $4 }' /proc/self/mounts)
export NSRUN_CGROUPS
# shellcheck disable=SC2016  # expanded by the inner shell
exec ip netns exec "$ns" /bin/sh -c '
    set -e
    mount -t tmpfs -o mode=755,nosuid,nodev,noexec cgroup-root /sys/fs/cgroup
    echo "$NSRUN_CGROUPS" | while read -r src mp opts; do
        [ -n "$mp" ] || continue
        mkdir -p "$mp"
        mount -t cgroup -o "$opts" "$src" "$mp"
    done
    unset NSRUN_CGROUPS
    exec "$@"' nsrun "$@"
