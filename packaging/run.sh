#!/bin/sh
# run.sh BUILD - `make run`: a throwaway one-node cluster, `knode standalone`
# with its data under BUILD/run/, inside a network namespace of its own.
#
# Why a namespace: standalone programs the node's network (the cni0 bridge
# and pod routes through CNI, nftables Service rules, the DNS address
# 10.96.0.10). On a shared machine none of that may touch the host's own
# network, so run.sh creates the netns "knode-run" with loopback, the DNS
# address on lo and an uplink (veth knode0, its peer also inside;
# 10.250.255.1/24, default route)
# for the node IP and NodePorts. knode runs there in a private mount
# namespace in which the cgroup v1 hierarchies are mounted again (plain
# `ip netns exec` remounts /sys and hides /sys/fs/cgroup/*, which runc
# needs). standalone starts its own containerd (config, state and socket
# under BUILD/run/containerd, images imported from BUILD/images).
#
# Use the cluster from another shell:
#   sudo ip netns exec knode-run kubectl --kubeconfig BUILD/run/admin.kubeconfig get nodes
# Ctrl-C stops knode; run.sh then stops what is left (the shims in the
# namespace, the pods in the cgroup tree /knode-run, all started by this run)
# by PID and removes the namespace, the cgroups and the shim sockets.
set -eu
BUILD=${1:-build}
BUILD=$(cd "$BUILD" && pwd)
DATA=$BUILD/run
NS=knode-run
NODE_IP=10.250.255.1

if [ "$(id -u)" != 0 ]; then
    echo "make run needs root (network namespace, containerd, cgroups)" >&2
    exit 1
fi
if [ -e "/run/netns/$NS" ]; then
    echo "network namespace $NS exists: is another 'make run' active? (remove it with: ip netns del $NS)" >&2
    exit 1
fi
mkdir -p "$DATA"

cleanup() {
    trap - EXIT INT TERM
    for pid in $(ip netns pids "$NS" 2>/dev/null); do
        kill -TERM "$pid" 2>/dev/null || true
    done
    sleep 1
    for pid in $(ip netns pids "$NS" 2>/dev/null); do
        kill -KILL "$pid" 2>/dev/null || true
    done
    # the pods run in netns of their own but in this run's cgroup tree
    find /sys/fs/cgroup/memory/knode-run -name cgroup.procs 2>/dev/null |
        while read -r f; do
            while read -r pid; do
                kill -KILL "$pid" 2>/dev/null || true
            done <"$f"
        done
    sleep 1
    for d in /sys/fs/cgroup/*/knode-run; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    ip netns del "$NS" 2>/dev/null || true
    # containerd 1.6 keeps shim sockets in /run/containerd/s whatever its
    # state dir; remove the ones of this run's bundles
    for a in "$DATA"/containerd/state/io.containerd.runtime.v2.task/*/*/address; do
        [ -f "$a" ] || continue
        s=$(sed 's|^unix://||' "$a")
        case "$s" in /run/containerd/s/*) rm -f "$s" ;; esac
    done
}
ip netns add "$NS"
trap cleanup EXIT INT TERM
ip -n "$NS" link set lo up
ip -n "$NS" addr add 10.96.0.10/32 dev lo
ip -n "$NS" link add knode0 type veth peer name knode0p
ip -n "$NS" link set knode0p up
ip -n "$NS" addr add "$NODE_IP/24" dev knode0
ip -n "$NS" link set knode0 up
ip -n "$NS" route add default dev knode0
ip netns exec "$NS" sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'

echo "knode: standalone in netns $NS (data dir $DATA)"
echo "       sudo ip netns exec $NS kubectl --kubeconfig $DATA/admin.kubeconfig get nodes"
CGROUPS=$(awk '$3 == "cgroup" && $2 ~ "^/sys/fs/cgroup/" { print $1, $2, $4 }' /proc/self/mounts)
export CGROUPS
# shellcheck disable=SC2016  # expanded by the inner shell
ip netns exec "$NS" /bin/sh -c '
    set -e
    mount -t tmpfs -o mode=755,nosuid,nodev,noexec cgroup-root /sys/fs/cgroup
    echo "$CGROUPS" | while read -r src mp opts; do
        [ -n "$mp" ] || continue
        mkdir -p "$mp"
        mount -t cgroup -o "$opts" "$src" "$mp"
    done
    exec "$@"' run "$BUILD/knode" standalone --data-dir "$DATA" \
    --root-dir "$DATA/kubelet" --pod-logs-dir "$DATA/pods" --node-ip "$NODE_IP" \
    --hostname-override knode --cgroup-root /knode-run &
KNODE=$!
trap 'kill -TERM $KNODE 2>/dev/null || true' INT TERM
wait $KNODE || true
wait $KNODE 2>/dev/null || true
cleanup
