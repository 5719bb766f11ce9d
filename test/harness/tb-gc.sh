#!/bin/bash
# tb-gc.sh [-n] [PREFIX...] - removes what testbed runs (testbed.c) left
# behind when they could not tear down themselves (the test process was
# SIGKILLed, the machine's CI job was stopped...). A run's names all carry its
# prefix "kt<pid>-" (or "kt<pid>.<n>-"); a prefix is collected only when that
# PID is gone, so live runs, and anything not named by the testbed, are never
# touched. Without PREFIX, every dead run found is collected.
#   -n   only print what would be removed
# Run as root. Exits 0 when nothing of the collected runs is left.
set -u
dry=0
[ "${1:-}" = -n ] && { dry=1; shift; }

run() { if [ $dry = 1 ]; then echo "would: $*"; else "$@"; fi; }

alive() {  # alive PID: exists and is not a zombie
    local st
    [ -r "/proc/$1/stat" ] || return 1
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

found_prefixes() {
    { ls /run/netns 2>/dev/null
      for d in /run/knode-tb-kt*; do [ -d "$d" ] && echo "${d#/run/knode-tb-}-"; done
      for h in /sys/fs/cgroup/*/; do ls "$h" 2>/dev/null; done
    } | sed -n 's/^\(kt[0-9][0-9]*\(\.[0-9][0-9]*\)\{0,1\}-\).*/\1/p' | sort -u
}

kill_pids() {  # kill_pids PID... : TERM, then KILL what is left after 3s
    local i any p
    [ $# -gt 0 ] || return 0
    run kill -TERM "$@" 2>/dev/null
    [ $dry = 1 ] && return 0
    i=0
    while [ $i -lt 30 ]; do
        any=0; for p in "$@"; do alive "$p" && any=1; done
        [ $any = 0 ] && return 0
        sleep 0.1; i=$((i + 1))
    done
    kill -KILL "$@" 2>/dev/null
}

gc_node_dir() {  # gc_node_dir DIR : containers, containerd, outside files
    local d="$1" rt root id pid a s t f
    for rt in runc crun; do
        command -v $rt >/dev/null || continue
        for root in "$d/$rt"/*/; do
            [ -d "$root" ] || continue
            for id in $($rt --root "$root" list -q 2>/dev/null); do
                run $rt --root "$root" kill --all "$id" KILL 2>/dev/null
                run $rt --root "$root" delete --force "$id" 2>/dev/null
            done
        done
    done
    pid=$(cat "$d/containerd.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$d/containerd.toml"; then
        kill_pids "$pid"
    fi
    for a in "$d"/state/io.containerd.runtime.v2.task/*/*/address; do
        [ -f "$a" ] || continue
        s=$(sed 's|^unix://||' "$a")
        case $s in /run/containerd/s/*..*) ;; /run/containerd/s/*) run rm -f "$s" ;; esac
    done
    for t in "$d"/state/io.containerd.runtime.v2.task/*/* "$d"/root/io.containerd.grpc.v1.cri/sandboxes/*; do
        [ -d "$t" ] || continue
        id=$(basename "$t")
        case $id in *[!A-Za-z0-9_.-]*) continue ;; esac
        for f in /var/lib/cni/results/*-"$id"-*; do [ -e "$f" ] && run rm -f "$f"; done
    done
}

gc_cgroup() {  # gc_cgroup DIR : kill its processes, remove it deepest first
    local i
    find "$1" -name cgroup.procs -exec cat {} + 2>/dev/null | while read -r p; do
        run kill -KILL "$p" 2>/dev/null
    done
    [ $dry = 1 ] && { echo "would: rmdir -r $1"; return 0; }
    i=0
    while [ -d "$1" ] && [ $i -lt 40 ]; do
        find "$1" -depth -type d -exec rmdir {} \; 2>/dev/null
        [ -d "$1" ] && sleep 0.05
        i=$((i + 1))
    done
}

gc_prefix() {  # gc_prefix PREFIX
    local p="$1" root d f ns h cg
    root="/run/knode-tb-${p%-}"
    for d in "$root"/node*; do [ -d "$d" ] && gc_node_dir "$d"; done
    for f in /run/netns/"$p"*; do
        [ -e "$f" ] || continue
        ns=$(basename "$f")
        # shellcheck disable=SC2046
        kill_pids $(ip netns pids "$ns" 2>/dev/null)
        run ip netns del "$ns"
    done
    for h in /sys/fs/cgroup/*/; do
        for cg in "$h$p"*; do [ -d "$cg" ] && gc_cgroup "$cg"; done
    done
    grep -F " $root/" /proc/mounts | awk '{print $2}' | sort -r | while read -r mp; do
        run umount -l "$mp"
    done
    [ -d "$root" ] && run rm -rf "$root"
    echo "tb-gc: collected $p"
}

left_of() {  # left_of PREFIX : prints what is still there
    local p="$1" f cg
    for f in /run/netns/"$p"*; do [ -e "$f" ] && echo "netns $f"; done
    [ -e "/run/knode-tb-${p%-}" ] && echo "dir /run/knode-tb-${p%-}"
    for cg in /sys/fs/cgroup/*/"$p"*; do [ -d "$cg" ] && echo "cgroup $cg"; done
}

prefixes=${*:-$(found_prefixes)}
rc=0
for p in $prefixes; do
    case $p in kt[0-9]*-) ;; *) echo "tb-gc: not a testbed prefix: $p" >&2; rc=2; continue ;; esac
    pid=${p#kt}; pid=${pid%%[.-]*}
    if alive "$pid"; then echo "tb-gc: $p: run $pid is alive, skipped"; continue; fi
    gc_prefix "$p"
    [ $dry = 1 ] && continue
    left=$(left_of "$p")
    [ -n "$left" ] && { echo "tb-gc: $p: left behind: $left" >&2; rc=1; }
done
exit $rc
