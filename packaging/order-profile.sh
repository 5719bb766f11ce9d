#!/bin/bash
# order-profile.sh BUILD - regenerates packaging/knode.order, the symbol
# order knode is linked with (ARCHITECTURE.md, "Linking").
#
# The node commands (kubelet, dns, proxy) run under callgrind inside the
# integration tests that drive them for real (pods through containerd, DNS
# and proxy against an API server), and every function of the knode binary
# they executed is listed, node-agent first. lld packs those functions
# together at the start of .text, so the pages a node process touches are
# few and contiguous instead of spread over the whole binary (the kernel maps
# file pages in 64 KiB windows around each fault, so a scattered layout
# makes most of the binary resident).
#
# Only a build input: a function missing from the list still links, just
# elsewhere. Needs root (the tests do), valgrind; takes about 10 minutes.
set -eu
BUILD=${1:-build}
OUT=packaging/knode.order
TESTS=${ORDER_TESTS:-"bench.kubelet_pod_startup_rss_cpu dns_api proxy_api"}

command -v valgrind >/dev/null || {
    echo "order-profile: needs valgrind" >&2
    exit 1
}
make -s "$BUILD/knode" "$BUILD/test-integration"
W=$(mktemp -d /tmp/knode-order.XXXXXX)
trap 'rm -rf "$W"' EXIT

# test-integration starts the knode found next to itself: a wrapper that
# runs the node commands under callgrind and everything else as is
cp "$BUILD/test-integration" "$W/test-integration"
cp "$BUILD/knode" "$W/knode.real"
cat >"$W/knode" <<EOF
#!/bin/sh
case "\$1" in
kubelet|agent|dns|proxy)
    # GLIBC_TUNABLES set: the node commands then do not restart themselves
    # with it (cmd/main.c), which would leave callgrind behind
    exec env GLIBC_TUNABLES=glibc.malloc.tcache_count=0 valgrind -q --tool=callgrind --demangle=no --callgrind-out-file=$W/cg.\$1.%p.out \\
        $W/knode.real "\$@" ;;
esac
exec $W/knode.real "\$@"
EOF
chmod +x "$W/knode"

for t in $TESTS; do
    "$W/test-integration" "$t" | tail -n 1
done

# every function of the knode object that callgrind saw executed, once,
# kubelet's first, then the agent's, DNS's and the proxy's additions
python3 - "$W" "$OUT" <<'PY'
import glob, re, sys
w, out = sys.argv[1], sys.argv[2]
seen, order = set(), []
for cmd in ("kubelet", "agent", "dns", "proxy"):
    for path in sorted(glob.glob("%s/cg.%s.*.out" % (w, cmd))):
        objs, fns, cur = {}, {}, None
        for line in open(path, errors="replace"):
            m = re.match(r"^(c?ob|c?fn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
            if not m:
                continue
            kind, ident, name = m.groups()
            table = objs if kind.endswith("ob") else fns
            if name:
                table[ident] = name
            if kind == "ob":
                cur = objs[ident]
            elif kind == "fn" and cur and cur.endswith("/knode.real"):
                sym = fns[ident]
                if sym not in seen and not sym.startswith("0x"):
                    seen.add(sym)
                    order.append(sym)
open(out, "w").write("".join(s + "\n" for s in order))
print("order-profile: %d functions in %s" % (len(order), out))
PY
