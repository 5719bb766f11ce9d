/* test-agent-join.c - a second testbed node joins `knode server` (node A,
 * listening on node A's LAN address) in agent mode and runs its share of a
 * Deployment: first with `knode token create` on the server and
 * `knode agent --server URL --token ID.SECRET --ca-cert-hash sha256:HEX`
 * (TLS bootstrap), then, after its Node was deleted, with a kubeconfig.
 * Node A runs `knode kubelet`. Checked each time: both Nodes Ready, every
 * replica Running with a pod IP from its node's CIDR and hostIP = its node's
 * IP, and both nodes hold replicas (spec.nodeName). Set-up: test-agent-env.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "controlplane/pki.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "test/integration/test-agent-env.h"
#include "test/runner/kt.h"

#define REPLICAS 6

static const char DEPLOYMENT[] = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
                                 "  name: spread\nspec:\n  replicas: 6\n"
                                 "  selector: {matchLabels: {app: spread}}\n"
                                 "  template:\n    metadata: {labels: {app: spread}}\n"
                                 "    spec:\n      terminationGracePeriodSeconds: 2\n"
                                 "      containers:\n      - name: c\n"
                                 "        image: localhost/busybox:1.35\n"
                                 "        imagePullPolicy: Never\n"
                                 "        command: [sleep, '3600']\n"
                                 "        resources: {requests: {cpu: 100m, memory: 32Mi}}\n";

static char *create_token(void)
{
    cleanup_free char *knode = kt_beside_self("knode");
    int st = 0;
    char *out = ae_capture(&st, "ip netns exec %s %s token create --data-dir %s",
                           AE.tb.nodes[0].netns, knode, AE.data);
    KT_ASSERT_MSG(st == 0, "knode token create: %s", out);
    out[strcspn(out, "\n")] = '\0';
    KT_ASSERT_MSG(strlen(out) == 23 && out[6] == '.', "not a token: \"%s\"", out);
    return out;
}

/* Lines "nodeName phase podIP hostIP" of the Deployment's pods. */
static char *pod_lines(void)
{
    return ae_kubectl(NULL, "get pods -l app=spread -o jsonpath='{range .items[*]}"
                            "{.spec.nodeName} {.status.phase} {.status.podIP} {.status.hostIP} "
                            "{.metadata.deletionTimestamp}{\"\\n\"}{end}'");
}

/* "nodeX Running 10.244.<i>." prefix of a correctly running pod on node i. */
static char *running_prefix(int i)
{
    cleanup_free char *net = xstrdup(AE.tb.nodes[i].pod_cidr);
    *strrchr(net, '.') = '\0';
    return xasprintf("%s Running %s.", ae_node_name(i), net);
}

/* Waits until all replicas run, each on its node's network, on both nodes. */
static void check_share(void)
{
    cleanup_free char *on_a = running_prefix(0);
    cleanup_free char *on_b = running_prefix(1);
    time_t end = time(NULL) + AE_WAIT_S;
    for (;;) {
        cleanup_free char *out = pod_lines();
        int a = ae_count_lines(out, on_a), b = ae_count_lines(out, on_b);
        /* exactly the replicas: none terminating besides them */
        if (a + b == REPLICAS && ae_count_lines(out, " ") == REPLICAS) {
            KT_ASSERT_MSG(a > 0 && b > 0, "one node got every replica: %s", out);
            for (int i = 0; i < 2; i++) /* hostIP: the node's own address */
                KT_ASSERT_EQ(ae_count_lines(out, AE.tb.nodes[i].node_ip), i == 0 ? a : b);
            return;
        }
        KT_ASSERT_MSG(time(NULL) < end, "replicas not running on both nodes: %s", out);
        sleep(1);
    }
}

static void scale(int n)
{
    cleanup_free char *args = xasprintf("scale deployment spread --replicas=%d", n);
    ae_kubectl_ok(args);
}

/* Waits until no pod of the Deployment is left. */
static void wait_no_pods(void)
{
    time_t end = time(NULL) + AE_WAIT_S;
    for (;;) {
        cleanup_free char *out = ae_kubectl(NULL, "get pods -l app=spread -o name");
        if (!strstr(out, "pod/"))
            return;
        KT_ASSERT_MSG(time(NULL) < end, "pods left after scaling to 0: %s", out);
        sleep(1);
    }
}

KT_TEST_TIMEOUT(agent, second_node_joins_and_runs_its_share, 900)
{
    ae_setup(2, true);
    char *on_a[] = {"--kubeconfig", AE.kubeconfig, NULL};
    ae_start_agent(0, "kubelet", on_a);
    ae_node_ready(0);

    /* join with a bootstrap token and the CA pin */
    cleanup_free char *token = create_token();
    char pin[80];
    cleanup_free char *ca = xasprintf("%s/ca.crt", AE.data);
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_pki_ca_hash(ca, pin, sizeof(pin), &err), err);
    char url[64];
    snprintf(url, sizeof(url), "https://%s:%d", AE.server_ip, AE.port);
    char *join[] = {"--server", url, "--token", token, "--ca-cert-hash", pin, NULL};
    ae_start_agent(1, "agent", join);
    ae_node_ready(1);
    ae_wait_output("get csr -o jsonpath='{.items[*].spec.username}'",
                   "system:bootstrap:", "the agent's client certificate came from a CSR");
    ae_apply("spread", DEPLOYMENT);
    check_share();

    /* again with a kubeconfig, as a fresh node */
    scale(0);
    wait_no_pods();
    ae_stop_agent(1, false);
    ae_kubectl_ok("delete node nodeb");
    char *with_kubeconfig[] = {"--kubeconfig", AE.kubeconfig, NULL};
    ae_start_agent(1, "agent", with_kubeconfig);
    ae_node_ready(1);
    scale(REPLICAS);
    check_share();
}
