/* test-agent-exec.c - kubectl exec, attach and port-forward (1.27 and
 * 1.33) through `knode server` and `knode kubelet` to the testbed node's
 * containerd streaming server (set-up: test-agent-env.c). kubectl 1.27
 * speaks SPDY; 1.33 tries WebSocket first, which containerd 1.6 refuses,
 * and falls back to SPDY: both must end in the same output and exit code.
 * The API server's and the kubelet's refusals are checked with curl. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "test/integration/test-agent-env.h"
#include "test/runner/kt.h"

static const char PODS[] =
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n"
    "  terminationGracePeriodSeconds: 1\n  containers:\n"
    "  - name: httpd\n    image: localhost/busybox:1.35\n    imagePullPolicy: Never\n"
    "    command: [httpd, -f, -p, \"8080\", -h, /www]\n"
    "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: ticker\nspec:\n"
    "  terminationGracePeriodSeconds: 1\n  containers:\n"
    "  - name: c\n    image: localhost/busybox:1.35\n    imagePullPolicy: Never\n"
    "    command: [sh, -c, 'i=0; while true; do i=$((i+1)); echo tick-$i; sleep 1; done']\n"
    "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: done\nspec:\n"
    "  restartPolicy: Never\n  containers:\n"
    "  - name: c\n    image: localhost/busybox:1.35\n    imagePullPolicy: Never\n"
    "    command: [\"true\"]\n";

static void setup(void)
{
    ae_setup(1, false);
    for (size_t i = 0; i < 2; i++) {
        cleanup_free char *p = xasprintf(AE_KUBECTL_DIR "/kubectl.%s", i ? "1.33" : "1.27");
        if (access(p, X_OK) != 0)
            KT_SKIP("no %s", p);
    }
    char *extra[] = {"--kubeconfig", AE.kubeconfig, NULL};
    ae_start_agent(0, "kubelet", extra);
    ae_node_ready(0);
    ae_apply("pods", PODS);
    ae_wait_output("get pods -o jsonpath='{range .items[*]}{.metadata.name}={.status.phase} {end}'",
                   "done=Succeeded ticker=Running web=Running", "pods running");
}

static void check_exec(const char *v)
{
    int st = -1;
    cleanup_free char *host = ae_kubectl_v(v, &st, "exec web -- cat /etc/hostname");
    KT_ASSERT_MSG(st == 0 && strcmp(host, "web\n") == 0, "kubectl %s exec: %d \"%s\"", v, st, host);
    cleanup_free char *echo = ae_capture(&st,
                                         "printf 'hi\\nthere\\n' | ip netns exec %s " AE_KUBECTL_DIR
                                         "/kubectl.%s --kubeconfig %s exec -i web -- cat",
                                         AE.tb.nodes[0].netns, v, AE.kubeconfig);
    KT_ASSERT_MSG(st == 0 && strcmp(echo, "hi\nthere\n") == 0, "kubectl %s exec -i: %d \"%s\"", v,
                  st, echo);
    cleanup_free char *code = ae_kubectl_v(v, &st, "exec web -- sh -c 'echo out; exit 3'");
    KT_ASSERT_MSG(st == 3 && strstr(code, "out\n"), "kubectl %s exit code: %d \"%s\"", v, st, code);
    cleanup_free char *err = ae_kubectl_v(v, &st, "exec web -- sh -c 'echo oops >&2'");
    KT_ASSERT_MSG(st == 0 && strcmp(err, "oops\n") == 0, "kubectl %s stderr: %d \"%s\"", v, st,
                  err);
    cleanup_free char *missing = ae_kubectl_v(v, &st, "exec web -- /no/such/binary");
    KT_ASSERT_MSG(st != 0 && strstr(missing, "no such file"),
                  "kubectl %s missing binary: %d \"%s\"", v, st, missing);
}

/* Reads from fd until want shows (the text so far, owned). */
static char *read_until(int fd, const char *want, const char *what)
{
    kn_buf b = KN_BUF_INIT;
    char chunk[512];
    while (!strstr(b.data, want)) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        KT_ASSERT_MSG(n > 0, "%s ended: \"%s\"", what, b.data);
        kn_buf_append(&b, chunk, (size_t)n);
    }
    return kn_buf_steal(&b);
}

static void check_port_forward(const char *v)
{
    cleanup_free char *kubectl = xasprintf(AE_KUBECTL_DIR "/kubectl.%s", v);
    char *argv[] = {kubectl,   "--kubeconfig", AE.kubeconfig, "port-forward",
                    "pod/web", "18080:8080",   NULL};
    int fd = -1;
    pid_t pid = ae_spawn(AE.tb.nodes[0].netns, NULL, argv, &fd);
    free(read_until(fd, "Forwarding from 127.0.0.1:18080", "kubectl port-forward"));
    for (int i = 0; i < 2; i++) { /* each connection is a new stream pair */
        cleanup_free char *page =
            ae_capture(NULL, "ip netns exec %s curl -s --max-time 20 http://127.0.0.1:18080/",
                       AE.tb.nodes[0].netns);
        KT_ASSERT_MSG(strstr(page, "hello-from-busybox"), "kubectl %s port-forward: \"%s\"", v,
                      page);
    }
    ae_stop_pid(&pid, false);
    close(fd);
}

static void check_attach(const char *v)
{
    cleanup_free char *kubectl = xasprintf(AE_KUBECTL_DIR "/kubectl.%s", v);
    char *argv[] = {kubectl, "--kubeconfig", AE.kubeconfig, "attach", "ticker", NULL};
    int fd = -1;
    pid_t pid = ae_spawn(AE.tb.nodes[0].netns, NULL, argv, &fd);
    /* output printed after the attach: two ticks in a row */
    cleanup_free char *out = read_until(fd, "\n", "kubectl attach");
    int first = atoi(strstr(out, "tick-") ? strstr(out, "tick-") + 5 : "0");
    cleanup_free char *want = xasprintf("tick-%d\n", first + 1);
    free(read_until(fd, want, "kubectl attach"));
    ae_stop_pid(&pid, false);
    close(fd);
    KT_ASSERT(first > 0);
}

/* The API server's own answers (admin certificate, curl). */
static char *api_call(const char *method, const char *path, bool upgrade)
{
    return ae_capture(NULL,
                      "ip netns exec %s curl -sk -X %s --cert %s/admin.crt --key %s/admin.key %s "
                      "-w ' %%{http_code}' 'https://%s:%d%s'",
                      AE.tb.nodes[0].netns, method, AE.data, AE.data,
                      upgrade ? "-H 'Connection: Upgrade' -H 'Upgrade: SPDY/3.1' "
                                "-H 'X-Stream-Protocol-Version: v4.channel.k8s.io'"
                              : "",
                      AE.server_ip, AE.port, path);
}

static void check_errors(void)
{
    static const struct {
        const char *path; /* under /api/v1/namespaces/default/pods/ */
        bool upgrade;
        const char *code, *text;
    } cases[] = {
        {"web/exec?command=true&stdout=true", false, " 400", "Upgrade request required"},
        {"web/exec?command=true&stdout=true&container=nope", true, " 400",
         "container nope is not valid for pod web"},
        {"gone/exec?command=true&stdout=true", true, " 404", "pods \\\"gone\\\" not found"},
        /* the kubelet's: no stream asked for, a container that is not running */
        {"web/exec?command=true", true, " 400",
         "you must specify at least 1 of stdin, stdout, stderr"},
        {"done/exec?command=true&stdout=true", true, " 500", "container not found (\"c\")"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cleanup_free char *path = xasprintf("/api/v1/namespaces/default/pods/%s", cases[i].path);
        cleanup_free char *out = api_call("POST", path, cases[i].upgrade);
        KT_ASSERT_MSG(strstr(out, cases[i].text) && strstr(out, cases[i].code),
                      "%s: want %s \"%s\": %s", cases[i].path, cases[i].code, cases[i].text, out);
    }
    /* and what kubectl makes of it */
    int st = 0;
    cleanup_free char *k = ae_kubectl_v("1.27", &st, "attach done");
    KT_ASSERT_MSG(st != 0 && strstr(k, "completed pod"), "attach to a completed pod: %s", k);
    cleanup_free char *disc = ae_kubectl_v("1.33", &st, "get --raw /api/v1");
    KT_ASSERT_CONTAINS(disc, "\"name\":\"pods/portforward\"");
}

KT_TEST_TIMEOUT(agent, kubectl_exec_attach_port_forward, 600)
{
    setup();
    check_exec("1.27");
    check_exec("1.33");
    check_port_forward("1.27");
    check_port_forward("1.33");
    check_attach("1.27");
    check_attach("1.33");
    check_errors();
}
