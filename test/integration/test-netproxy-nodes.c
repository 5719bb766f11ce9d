/* test-netproxy-nodes.c - Services across two nodes: the proxy of each
 * node sends Service traffic to endpoints on the other node.
 *
 * Two testbed nodes on the lan (host-gw routes between the pod CIDRs),
 * `knode server` in node A on its LAN address and `knode agent` (kubelet,
 * Service proxy, DNS) on both nodes; set-up and teardown are
 * test-agent-env.c's. Pods are real containers of the nodes' containerd:
 *
 *   far-b (node B) and far-a (node A): busybox httpd answering
 *     "served-by-<pod>" on 8080
 *   Service to-b (NodePort, port 80 -> 8080): its only endpoint is far-b
 *   Service to-a (ClusterIP): its only endpoint is far-a
 *
 * Checked: to-b's ClusterIP answers from node A itself (output hook) and
 * from a client pod on node A (prerouting hook, forwarded over the lan to
 * node B without masquerade); to-b's NodePort on node A answers a client
 * in the lan namespace, which has no route to the pod CIDRs, so the reply
 * path works only through node A's masquerade; and the other way round,
 * to-a's ClusterIP answers from node B. Real packets only inside the
 * testbed's namespaces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "test/integration/test-agent-env.h"
#include "test/runner/kt.h"

/* A pod pinned to node i answering "served-by-<name>" on 8080. */
static char *server_pod(const char *name, int i)
{
    return xasprintf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  labels: {app: %s}\n"
                     "spec:\n  nodeName: %s\n  terminationGracePeriodSeconds: 1\n"
                     "  containers:\n  - name: httpd\n    image: localhost/busybox:1.35\n"
                     "    imagePullPolicy: Never\n"
                     "    command: [sh, -c, 'mkdir -p /tmp/w && echo served-by-%s > "
                     "/tmp/w/index.html && exec httpd -f -p 8080 -h /tmp/w']\n",
                     name, name, ae_node_name(i), name);
}

static char *service(const char *name, const char *app, const char *type)
{
    return xasprintf("apiVersion: v1\nkind: Service\nmetadata:\n  name: %s\nspec:\n"
                     "  type: %s\n  selector: {app: %s}\n  ports:\n"
                     "  - {port: 80, targetPort: 8080}\n",
                     name, type, app);
}

/* Waits until pod name runs with an IP from node i's pod CIDR and ready. */
static void wait_pod_on(const char *name, int i)
{
    cleanup_free char *net = xstrdup(AE.tb.nodes[i].pod_cidr);
    *strrchr(net, '.') = '\0'; /* "10.244.2" */
    cleanup_free char *args = xasprintf("get pod %s -o jsonpath='{.status.phase} {.status.podIP} "
                                        "{.status.containerStatuses[0].ready}'",
                                        name);
    cleanup_free char *want = xasprintf("Running %s.", net);
    ae_wait_output(args, want, "server pod running on its node");
    ae_wait_output(args, " true", "server pod ready");
}

/* Waits until the Service's EndpointSlice lists exactly the pod's IP. */
static void wait_endpoint(const char *svc, const char *pod)
{
    cleanup_free char *ip_args = xasprintf("get pod %s -o jsonpath='{.status.podIP}'", pod);
    cleanup_free char *ip = ae_kubectl(NULL, ip_args);
    cleanup_free char *args = xasprintf("get endpointslices -l kubernetes.io/service-name=%s "
                                        "-o jsonpath='{.items[*].endpoints[*].addresses[0]}'",
                                        svc);
    ae_wait_output(args, ip, "the Service's EndpointSlice lists the pod");
}

static char *svc_field(const char *svc, const char *path)
{
    cleanup_free char *args = xasprintf("get svc %s -o jsonpath='{%s}'", svc, path);
    char *out = ae_kubectl(NULL, args);
    KT_ASSERT_MSG(out[0] && !strchr(out, ' '), "service %s %s: %s", svc, path, out);
    return out;
}

/* Polls url with curl from netns until the page holds want (the proxies
 * program the change asynchronously; AE_WAIT_S is a hang guard only). */
static void wait_http(const char *netns, const char *url, const char *want, const char *what)
{
    time_t end = time(NULL) + AE_WAIT_S;
    for (;;) {
        cleanup_free char *page =
            ae_capture(NULL, "ip netns exec %s curl -s --max-time 5 %s", netns, url);
        if (strstr(page, want))
            return;
        KT_ASSERT_MSG(time(NULL) < end, "%s: %s answered \"%s\", want %s", what, url, page, want);
        usleep(300000);
    }
}

/* A pod on node A fetching url (a few tries: busybox wget, bounded by
 * timeout since its -T crashes) and printing the page. */
static void client_pod(const char *url, const char *want)
{
    cleanup_free char *yaml =
        xasprintf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: client\nspec:\n  nodeName: %s\n"
                  "  restartPolicy: Never\n  containers:\n  - name: c\n"
                  "    image: localhost/busybox:1.35\n    imagePullPolicy: Never\n"
                  "    command: [sh, -c, 'for i in 1 2 3 4 5 6 7 8 9 10; do "
                  "timeout 5 wget -q -O- %s && exit 0; sleep 1; done; exit 1']\n",
                  ae_node_name(0), url);
    ae_apply("client", yaml);
    ae_wait_output("get pod client -o jsonpath='{.status.phase} {.status.podIP}'", "Succeeded",
                   "the client pod fetched the page");
    cleanup_free char *ip = ae_kubectl(NULL, "get pod client -o jsonpath='{.status.podIP}'");
    cleanup_free char *net = xstrdup(AE.tb.nodes[0].pod_cidr);
    *strrchr(net, '.') = '\0';
    KT_ASSERT_MSG(strncmp(ip, net, strlen(net)) == 0, "client pod IP %s not on node A", ip);
    cleanup_free char *logs = ae_kubectl(NULL, "logs client");
    KT_ASSERT_MSG(strstr(logs, want), "client pod got \"%s\", want %s", logs, want);
}

static void start_agents(void)
{
    char *flags[] = {"--kubeconfig", AE.kubeconfig, NULL};
    for (int i = 0; i < 2; i++)
        ae_start_agent(i, "agent", flags);
    for (int i = 0; i < 2; i++)
        ae_node_ready(i);
}

static void apply_objects(void)
{
    const char *names[2] = {"far-a", "far-b"};
    for (int i = 0; i < 2; i++) {
        cleanup_free char *pod = server_pod(names[i], i);
        ae_apply(names[i], pod);
    }
    cleanup_free char *to_b = service("to-b", "far-b", "NodePort");
    cleanup_free char *to_a = service("to-a", "far-a", "ClusterIP");
    ae_apply("to-b", to_b);
    ae_apply("to-a", to_a);
    for (int i = 0; i < 2; i++)
        wait_pod_on(names[i], i);
    wait_endpoint("to-b", "far-b");
    wait_endpoint("to-a", "far-a");
}

KT_TEST_TIMEOUT(netproxy_nodes, services_route_to_the_other_node, 900)
{
    ae_setup(2, true);
    start_agents();
    apply_objects();
    const tb_node *a = &AE.tb.nodes[0], *b = &AE.tb.nodes[1];
    cleanup_free char *vip_b = svc_field("to-b", ".spec.clusterIP");
    cleanup_free char *node_port = svc_field("to-b", ".spec.ports[0].nodePort");
    cleanup_free char *vip_a = svc_field("to-a", ".spec.clusterIP");
    cleanup_free char *url_b = xasprintf("http://%s/", vip_b);
    /* node A itself, then a pod on node A, to the endpoint on node B */
    wait_http(a->netns, url_b, "served-by-far-b", "ClusterIP from node A");
    client_pod(url_b, "served-by-far-b");
    /* from outside through node A's NodePort: only masquerade brings the
     * reply back (the lan has no route to the pod CIDRs) */
    cleanup_free char *np_url = xasprintf("http://%s:%s/", a->node_ip, node_port);
    wait_http(AE.tb.lan_netns, np_url, "served-by-far-b", "NodePort on node A from the lan");
    /* the other way round: node B's proxy, endpoint on node A */
    cleanup_free char *url_a = xasprintf("http://%s/", vip_a);
    wait_http(b->netns, url_a, "served-by-far-a", "ClusterIP from node B");
}
