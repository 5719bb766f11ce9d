#!/bin/bash
# bench-dns.sh BUILD - cluster DNS benchmarks (issue 7), one run, never pass/fail.
#
# Everything runs in a network namespace of its own (kt<pid>-dnsb; nothing is
# added to the root namespace) and on the same machine in the same run:
#
# - Cluster names: N Services (default 10,000 in 100 namespaces; every tenth
#   headless) with one EndpointSlice of E endpoints each (default 5: 50,000
#   endpoints). `knode dns` reads them through its informers; knotd and nsd
#   serve an equivalent zone written from the same objects (the same names,
#   records and TTL; reverse zones left out, since the query mix has no
#   PTR). dnsperf sends each server the same queries (A of every Service,
#   SRV of a named port for every fourth, an endpoint name of every headless
#   one, NXDOMAIN for every twentieth) with 1 worker (server pinned to CPU 0,
#   dnsperf to CPU 1) and with 2 workers (unpinned: dnsperf competes for the
#   two cores, so the ratio matters more than the figure).
# - Cache hits: knode dns and unbound both forward example.test to a knotd
#   upstream; after one warm-up pass dnsperf asks the same 1,000 names again.
# - RSS of knode dns holding the N Services and N*E endpoints (informer
#   caches included), beside the target (50 MB), CoreDNS's published figure
#   (49 MB + 0.86 KB per object) and knotd holding the zone alone.
#
# The objects come from a small list/watch responder in this script (HTTPS
# on the namespace's 127.0.0.1, the JSON shape `knode server` returns), not
# from `knode server`: creating 10,000 Services and their slices through the
# API would dominate the run time of the benchmark.
#
# Output lines: <figure> <value> <unit> vs <peer> <value> <unit> ratio <x>
# Environment: DNS_BENCH_SERVICES, DNS_BENCH_ENDPOINTS, DNS_BENCH_SECONDS,
# DNS_BENCH_KEEP=1 (keep the work folder with every log).
# Needs root, python3, openssl, dnsperf, dig, curl, taskset; knotd, nsd and
# unbound are optional (a missing peer is reported and skipped).
set -u
BUILD=${1:-build}
KNODE=$(readlink -f "$BUILD/knode")
NSVC=${DNS_BENCH_SERVICES:-10000}
NEPS=${DNS_BENCH_ENDPOINTS:-5}
SECS=${DNS_BENCH_SECONDS:-5}

KNODE_IP=10.96.0.10
KNOT_IP=10.96.0.11
NSD_IP=10.96.0.12
UNBOUND_IP=10.96.0.13
UPSTREAM_IP=10.53.0.2
API_PORT=16443
HEALTH=127.0.0.1:18080

if [ "$(id -u)" != 0 ]; then
    echo "bench-dns: skipped (needs root for a network namespace)"
    exit 0
fi
for t in ip python3 openssl dnsperf dig curl taskset; do
    command -v $t >/dev/null || {
        echo "bench-dns: skipped (needs $t)"
        exit 0
    }
done
[ -x "$KNODE" ] || {
    echo "bench-dns: no $BUILD/knode"
    exit 1
}
have() { command -v "$1" >/dev/null || { echo "bench-dns: no $1: its figures are left out"; return 1; }; }
HAVE_KNOT=0 HAVE_NSD=0 HAVE_UNBOUND=0
have knotd && HAVE_KNOT=1
have nsd && HAVE_NSD=1
have unbound && HAVE_UNBOUND=1

NS=kt$$-dnsb
W=$(mktemp -d /tmp/bench-dns.XXXXXX)
PIDS=""

cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    for p in $PIDS; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null
    done
    ip netns del "$NS" 2>/dev/null
    if [ -n "${DNS_BENCH_KEEP:-}" ]; then echo "bench-dns: kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

nsx() { ip netns exec "$NS" "$@"; }

# bg LOG CMD...: starts CMD in the namespace; its PID goes to $LAST.
bg() {
    local log=$1
    shift
    ip netns exec "$NS" "$@" >"$W/$log" 2>&1 &
    LAST=$!
    PIDS="$PIDS $LAST"
}

# stop_pid PID: ends one process started here and forgets it (so cleanup
# never signals a reused PID).
stop_pid() {
    kill "$1" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# report NAME VALUE UNIT PEER PEER_VALUE BETTER
report() {
    printf '%-42s %9s %-4s vs %-36s %9s %-4s ratio %s (%s is better)\n' \
        "$1" "$2" "$3" "$4" "$5" "$3" "$(ratio "$2" "$5")" "$6"
}

rss_mb() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# ---- objects, zone and queries ---------------------------------------------------------
# Service i: ns-(i % 100)/svc-i, ClusterIP 10.100.(i / 250).(i % 250 + 1) or
# headless (i % 10 == 9, endpoints named svc-i-j); endpoint j of svc-i at
# 10.(128 + j).(i / 256 % 256).(i % 256).
generate() {
    python3 - "$W" "$NSVC" "$NEPS" <<'PY'
import json, sys
w, nsvc, neps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
nns = 100
def meta(name, ns, i):
    m = {"name": name, "uid": "00000000-0000-4000-8000-%012d" % i,
         "creationTimestamp": "2026-01-01T00:00:00Z", "generation": 1, "resourceVersion": str(100 + i)}
    if ns: m["namespace"] = ns
    return m
def eip(i, j): return "10.%d.%d.%d" % (128 + j, i // 256 % 256, i % 256)
def cip(i): return "10.100.%d.%d" % (i // 250, i % 250 + 1)
svcs, slices, nss, zone, q = [], [], [], [], []
for n in range(nns):
    nss.append({"metadata": meta("ns-%d" % n, None, n), "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"}})
zone += ["$ORIGIN cluster.local.", "$TTL 5",
         "@ SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5",
         "@ NS ns.dns.cluster.local.", "ns.dns A 10.96.0.10", 'dns-version TXT "1.1.0"']
for i in range(nsvc):
    ns, name = "ns-%d" % (i % nns), "svc-%d" % i
    fq = "%s.%s.svc" % (name, ns)
    headless = i % 10 == 9
    ip = "None" if headless else cip(i)
    svcs.append({"metadata": meta(name, ns, i), "spec": {
        "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}],
        "type": "ClusterIP", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
        "ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"], "clusterIP": ip, "clusterIPs": [ip]},
        "apiVersion": "v1", "kind": "Service", "status": {"loadBalancer": {}}})
    eps = []
    for j in range(neps):
        e = {"addresses": [eip(i, j)], "conditions": {"ready": True, "serving": True, "terminating": False},
             "nodeName": "node-%d" % (j % 3), "targetRef": {"kind": "Pod", "namespace": ns,
             "name": "%s-%d" % (name, j), "uid": "00000000-0000-4000-9000-%06d%06d" % (i, j)}}
        host = "%s-%d" % (name, j) if headless else eip(i, j).replace(".", "-")
        if headless: e["hostname"] = host
        eps.append(e)
        zone.append("%s.%s A %s" % (host, fq, eip(i, j)))
        if headless:
            zone.append("%s A %s" % (fq, eip(i, j)))
            zone.append("_http._tcp.%s SRV 0 %d 8080 %s.%s" % (fq, 100 // neps, host, fq))
            zone.append("%s SRV 0 %d 8080 %s.%s" % (fq, 100 // neps, host, fq))
    sm = meta(name + "-a", ns, nsvc + i)
    sm["labels"] = {"kubernetes.io/service-name": name,
                    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}
    slices.append({"metadata": sm, "addressType": "IPv4", "endpoints": eps,
                   "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
                   "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice"})
    if not headless:
        zone += ["%s A %s" % (fq, ip), "_http._tcp.%s SRV 0 100 80 %s" % (fq, fq),
                 "%s SRV 0 100 80 %s" % (fq, fq)]
    q.append("%s.cluster.local A" % fq)
    if i % 4 == 0: q.append("_http._tcp.%s.cluster.local SRV" % fq)
    if headless: q.append("%s-0.%s.cluster.local A" % (name, fq))
    if i % 20 == 0: q.append("nope-%d.%s.cluster.local A" % (i, ns))
def lst(kind, api, items):
    return {"kind": kind, "apiVersion": api, "metadata": {"resourceVersion": "1000000"}, "items": items}
json.dump(lst("ServiceList", "v1", svcs), open(w + "/services.json", "w"))
json.dump(lst("EndpointSliceList", "discovery.k8s.io/v1", slices), open(w + "/endpointslices.json", "w"))
json.dump(lst("NamespaceList", "v1", nss), open(w + "/namespaces.json", "w"))
open(w + "/cluster.local.zone", "w").write("\n".join(zone) + "\n")
open(w + "/queries.txt", "w").write("\n".join(q) + "\n")
ez = ["$ORIGIN example.test.", "$TTL 300",
      "@ SOA ns.example.test. hostmaster.example.test. 1 7200 1800 86400 300",
      "@ NS ns.example.test.", "ns A 10.53.0.2"]
ez += ["h%d A 10.54.%d.%d" % (i, i // 250, i % 250 + 1) for i in range(1000)]
open(w + "/example.test.zone", "w").write("\n".join(ez) + "\n")
open(w + "/forward.txt", "w").write("".join("h%d.example.test A\n" % i for i in range(1000)))
PY
}

# The list/watch responder: lists from the files, paged as the API server
# pages them (limit, continue), and watches that stay open without events
# until their timeout.
write_responder() {
    cat >"$W/responder.py" <<'PY'
import http.server, json, socketserver, ssl, sys, time, urllib.parse
w, port = sys.argv[1], int(sys.argv[2])
files = {"/api/v1/services": "services.json", "/api/v1/namespaces": "namespaces.json",
         "/apis/discovery.k8s.io/v1/endpointslices": "endpointslices.json"}
lists = {p: json.load(open(w + "/" + f)) for p, f in files.items()}

def page(lst, q):
    """One page of a list as the API server pages it (limit, continue)."""
    limit = int(q.get("limit", ["0"])[0])
    start = int(q.get("continue", ["0"])[0] or "0")
    items = lst["items"]
    end = len(items) if limit <= 0 else min(len(items), start + limit)
    out = dict(lst, items=items[start:end])
    out["metadata"] = dict(lst["metadata"])
    if end < len(items):
        out["metadata"]["continue"] = str(end)
    return json.dumps(out).encode()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        lst = lists.get(u.path)
        if lst is None:
            b = b'{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}'
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(b)))
            self.end_headers()
            self.wfile.write(b)
            return
        if q.get("watch") == ["true"]:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            time.sleep(int(q.get("timeoutSeconds", ["300"])[0]))
            self.wfile.write(b"0\r\n\r\n")
            return
        body = page(lst, q)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
s = S(("127.0.0.1", port), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(w + "/api.crt", w + "/api.key")
s.socket = ctx.wrap_socket(s.socket, server_side=True)
s.serve_forever()
PY
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1 -keyout "$W/api.key" -out "$W/api.crt" 2>/dev/null
    cat >"$W/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: bench
  cluster: {server: "https://127.0.0.1:$API_PORT", certificate-authority: "$W/api.crt"}
users:
- name: bench
  user: {token: bench}
contexts:
- name: bench
  context: {cluster: bench, user: bench}
current-context: bench
EOF
}

knot_conf() { # NAME IP WORKERS ZONE
    mkdir -p "$W/$1"
    cat >"$W/$1/knot.conf" <<EOF
server:
    rundir: "$W/$1"
    listen: $2@53
    udp-workers: $3
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$W/$1/db"
control:
    listen: "$W/$1/knot.sock"
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: "$W"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
  - domain: $4
    file: "$W/$4.zone"
EOF
}

nsd_conf() { # WORKERS
    mkdir -p "$W/nsd"
    cat >"$W/nsd/nsd.conf" <<EOF
server:
    ip-address: $NSD_IP
    port: 53
    server-count: $1
    username: ""
    chroot: ""
    zonesdir: "$W"
    pidfile: "$W/nsd/nsd.pid"
    zonelistfile: "$W/nsd/zone.list"
    xfrdfile: "$W/nsd/xfrd.state"
    xfrdir: "$W/nsd"
    database: ""
    verbosity: 0
    rrl-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: cluster.local
    zonefile: "$W/cluster.local.zone"
EOF
}

unbound_conf() { # WORKERS
    mkdir -p "$W/unbound"
    cat >"$W/unbound/unbound.conf" <<EOF
server:
    interface: $UNBOUND_IP
    port: 53
    num-threads: $1
    username: ""
    chroot: ""
    directory: "$W/unbound"
    pidfile: "$W/unbound/unbound.pid"
    use-syslog: no
    logfile: ""
    do-not-query-localhost: no
    access-control: 0.0.0.0/0 allow
    module-config: "iterator"
    local-zone: "test." nodefault
    msg-cache-size: 64m
    rrset-cache-size: 64m
forward-zone:
    name: "example.test"
    forward-addr: $UPSTREAM_IP
EOF
}

wait_dns() { # IP NAME: until the server answers
    for _ in $(seq 150); do
        nsx dig @"$1" +time=1 +tries=1 +short "$2" A 2>/dev/null | grep -q . && return 0
        sleep 0.1
    done
    echo "bench-dns: $1 does not answer $2"
    return 1
}

# perf IP FILE CPU: "qps avg_latency_us" from one dnsperf run
perf() {
    local pin=""
    [ -n "$3" ] && pin="taskset -c $3"
    nsx $pin dnsperf -s "$1" -d "$2" -l "$SECS" -c 8 -T 1 -q 256 -t 2 >"$W/perf.out" 2>&1
    echo "== $1 $2 cpu=$3" >>"$W/perf.all"
    cat "$W/perf.out" >>"$W/perf.all"
    awk '/Queries per second/ { q = $4 } /Average Latency/ { l = $4 * 1e6 }
         END { printf "%.0f %.0f\n", q, l }' "$W/perf.out"
}

warm() { nsx dnsperf -s "$1" -d "$W/forward.txt" -n 1 -c 1 -q 10 >/dev/null 2>&1; }

start_knode() { # WORKERS CPU
    bg knode-dns-$1.log ${2:+taskset -c $2} "$KNODE" dns --kubeconfig "$W/kubeconfig" \
        --dns-listen-address $KNODE_IP --dns-upstream $UPSTREAM_IP --dns-threads "$1" \
        --dns-health-address $HEALTH
    KNODE_PID=$LAST
    local t0=$(date +%s.%N)
    for _ in $(seq 1200); do
        if nsx curl -s http://$HEALTH/metrics 2>/dev/null |
            grep -q "^knode_dns_zone_services $NSVC\$"; then
            LOAD_S=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
            return 0
        fi
        sleep 0.1
    done
    echo "bench-dns: knode dns did not load the Services (see $W/knode-dns-$1.log)"
    return 1
}

start_knot() { # NAME IP WORKERS ZONE CPU
    knot_conf "$1" "$2" "$3" "$4"
    bg "$1.log" ${5:+taskset -c $5} knotd -c "$W/$1/knot.conf"
    KNOT_PID=$LAST
}

# ---- run -----------------------------------------------------------------------------------
ip netns add "$NS" || exit 1
ip -n "$NS" link set lo up
for a in $KNODE_IP $KNOT_IP $NSD_IP $UNBOUND_IP $UPSTREAM_IP; do
    ip -n "$NS" addr add $a/32 dev lo
done
generate
write_responder
bg responder.log python3 "$W/responder.py" "$W" $API_PORT
for _ in $(seq 100); do
    nsx curl -s --cacert "$W/api.crt" https://127.0.0.1:$API_PORT/api/v1/namespaces -o /dev/null && break
    sleep 0.1
done
echo "bench-dns: $NSVC Services ($((NSVC / 10)) headless) x $NEPS endpoints," \
    "$(wc -l <"$W/queries.txt") queries, dnsperf ${SECS}s per run"

if [ $HAVE_KNOT = 1 ]; then # the upstream for forwarded names
    start_knot upstream $UPSTREAM_IP 1 example.test ""
    wait_dns $UPSTREAM_IP h1.example.test
fi

declare -A QPS LAT
for w in 1 2; do
    if [ $w = 1 ]; then srv_cpu=0 perf_cpu=1; else srv_cpu="" perf_cpu=""; fi
    start_knode $w "$srv_cpu" || exit 1
    if [ $w = 1 ]; then
        KNODE_RSS=$(rss_mb "$KNODE_PID")
        KNODE_LOAD=$LOAD_S
        nsx curl -s http://$HEALTH/metrics >"$W/metrics.txt"
        BUILD_S=$(awk '/^knode_dns_zone_build_seconds/ { printf "%.3f", $2 }' "$W/metrics.txt")
        ZONE_MB=$(awk '/^knode_dns_zone_bytes/ { printf "%.1f", $2 / 1e6 }' "$W/metrics.txt")
    fi
    read -r QPS[knode$w] LAT[knode$w] < <(perf $KNODE_IP "$W/queries.txt" "$perf_cpu")
    if [ $w = 1 ] && [ $HAVE_KNOT = 1 ]; then
        warm $KNODE_IP
        read -r QPS[kcache] LAT[kcache] < <(perf $KNODE_IP "$W/forward.txt" "$perf_cpu")
    fi
    [ $w = 1 ] && KNODE_RSS_AFTER=$(rss_mb "$KNODE_PID")
    stop_pid "$KNODE_PID"
    if [ $HAVE_KNOT = 1 ]; then
        start_knot knot$w $KNOT_IP $w cluster.local "$srv_cpu"
        if wait_dns $KNOT_IP svc-0.ns-0.svc.cluster.local; then
            read -r QPS[knot$w] LAT[knot$w] < <(perf $KNOT_IP "$W/queries.txt" "$perf_cpu")
            [ $w = 1 ] && KNOT_RSS=$(rss_mb "$KNOT_PID")
        fi
        stop_pid "$KNOT_PID"
    fi
    if [ $HAVE_NSD = 1 ]; then
        nsd_conf $w
        bg nsd-$w.log ${srv_cpu:+taskset -c $srv_cpu} nsd -d -c "$W/nsd/nsd.conf"
        NSD_PID=$LAST
        if wait_dns $NSD_IP svc-0.ns-0.svc.cluster.local; then
            read -r QPS[nsd$w] LAT[nsd$w] < <(perf $NSD_IP "$W/queries.txt" "$perf_cpu")
        fi
        stop_pid "$NSD_PID"
    fi
    if [ $w = 1 ] && [ $HAVE_UNBOUND = 1 ] && [ $HAVE_KNOT = 1 ]; then
        unbound_conf 1
        bg unbound.log ${srv_cpu:+taskset -c $srv_cpu} unbound -d -c "$W/unbound/unbound.conf"
        UNBOUND_PID=$LAST
        if wait_dns $UNBOUND_IP h1.example.test; then
            warm $UNBOUND_IP
            read -r QPS[ucache] LAT[ucache] < <(perf $UNBOUND_IP "$W/forward.txt" "$perf_cpu")
        fi
        stop_pid "$UNBOUND_PID"
    fi
done

# ---- figures ---------------------------------------------------------------------------------
for w in 1 2; do
    peer="" pq=0 pl=0
    for p in knot nsd; do
        v=${QPS[$p$w]:-0}
        if [ "$v" -gt "$pq" ]; then peer=$p pq=$v pl=${LAT[$p$w]}; fi
    done
    [ "$peer" = knot ] && peer=knotd
    if [ -n "$peer" ]; then
        report "cluster names, $w worker(s): QPS" "${QPS[knode$w]}" qps "fastest: $peer, $w worker(s)" "$pq" higher
        report "cluster names, $w worker(s): mean latency" "${LAT[knode$w]}" us "$peer, $w worker(s)" "$pl" lower
    else
        echo "cluster names, $w worker(s): QPS ${QPS[knode$w]} (no peer)"
    fi
    for p in knot nsd; do
        [ -n "${QPS[$p$w]:-}" ] && report "  knode dns vs each, $w worker(s)" "${QPS[knode$w]}" qps "$p" "${QPS[$p$w]}" higher
    done
done
if [ -n "${QPS[ucache]:-}" ]; then
    report "forwarded names, cache hits: QPS" "${QPS[kcache]}" qps "unbound, warm cache, 1 thread" "${QPS[ucache]}" higher
    report "forwarded names, cache hits: latency" "${LAT[kcache]}" us "unbound, warm cache, 1 thread" "${LAT[ucache]}" lower
fi
objs=$((NSVC * 2 + 100))
coredns=$(awk -v s="$NSVC" -v e="$NEPS" 'BEGIN { printf "%.1f", 49 + 0.86 * (s * (e + 1) + 100) / 1024 }')
label="RSS, $NSVC Services + $((NSVC * NEPS)) endpoints"
report "$label" "$KNODE_RSS" MB "target" 50 lower
report "$label" "$KNODE_RSS" MB "CoreDNS: 49 MB + 0.86 KB per object" "$coredns" lower
[ -n "${KNOT_RSS:-}" ] && report "$label" "$KNODE_RSS" MB "knotd, zone only (no API caches)" "$KNOT_RSS" lower
echo "knode dns: RSS after the dnsperf runs ${KNODE_RSS_AFTER} MB, of which the zone snapshot" \
    "${ZONE_MB} MB (the rest: informer caches of the JSON objects, buffers, libraries);" \
    "$objs objects listed and served ${KNODE_LOAD} s after start; a full rebuild takes ${BUILD_S} s"
exit 0
