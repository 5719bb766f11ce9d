/* test-agent-env.h - shared set-up of the tests and benchmarks that run the
 * knode binary as a node agent: testbed nodes (own netns and containerd),
 * `knode server` inside the first node, and `knode kubelet` / `knode agent`
 * processes forked into the nodes' network namespaces (root mount namespace,
 * so /sys/fs/cgroup is the host's, as the testbed's containerd sees it),
 * driven by kubectl run in the first node's netns.
 *
 * Everything started is stopped by PID and the testbed torn down by a kt
 * cleanup, also on failure (the node agents' and server's logs are shown
 * then). KT_VERBOSE=1 shows every command. */
#ifndef KNODE_TEST_INTEGRATION_AGENT_ENV_H
#define KNODE_TEST_INTEGRATION_AGENT_ENV_H

#include <stdbool.h>
#include <sys/types.h>

#include "test/harness/testbed.h"

#define AE_WAIT_S 180

typedef struct ae_env {
    tb_cluster tb;
    char dir[300];        /* the test's temporary directory */
    char data[340];       /* the server's --data-dir */
    char kubeconfig[380]; /* its admin kubeconfig */
    char server_ip[32];   /* where the server listens: 127.0.0.1 or node A's IP */
    int port;
    pid_t server;
    pid_t agent[TB_MAX_NODES]; /* the node agent of each testbed node */
    pid_t containerd2;         /* a containerd the test restarted (not our child) */
} ae_env;

extern ae_env AE;

/* Skips unless root with a testbed, kubectl and curl; brings up nnodes
 * testbed nodes and `knode server` in node A, listening on node A's IP when
 * on_lan (reachable from the other nodes), else on its 127.0.0.1. */
void ae_setup(int nnodes, bool on_lan);

/* Node i's name as the agents register it: "nodea", "nodeb", ... */
const char *ae_node_name(int i);

/* Starts `knode <command>` (kubelet or agent) in node i's netns with the
 * node's flags (runtime endpoint, --hostname-override, --node-ip, root,
 * log and cgroup dirs, a node label, 2s status frequency) followed by extra
 * (NULL-terminated, may be NULL). Its output goes to <dir>/<command>-<node>.log. */
void ae_start_agent(int i, const char *command, char *const extra[]);

/* Stops node i's agent: SIGTERM (waiting for its exit, SIGKILL after 5 s)
 * or SIGKILL right away. */
void ae_stop_agent(int i, bool kill_now);

/* Starts argv (argv[0] looked up in PATH) in the network namespace netns:
 * stdout and stderr appended to the file log, or, when log is NULL, stdout
 * into a pipe whose read end is stored in *out_fd (stderr to /dev/null).
 * Returns the PID (a child of the caller). */
pid_t ae_spawn(const char *netns, const char *log, char *const argv[], int *out_fd);

/* Stops a child: SIGTERM (or SIGKILL when kill_now), SIGKILL after 5 s;
 * reaps it and zeroes *pid. */
void ae_stop_pid(pid_t *pid, bool kill_now);

/* Runs a shell command line; returns its stdout+stderr (caller frees) and
 * the exit status in *status (may be NULL). */
char *ae_capture(int *status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* kubectl with the admin kubeconfig, in node A's netns. */
char *ae_kubectl(int *status, const char *args);
void ae_kubectl_ok(const char *args);

/* Where the versioned kubectl binaries are (kubectl.1.27, kubectl.1.33). */
#define AE_KUBECTL_DIR "/usr/lib/google-cloud-sdk/bin"

/* kubectl.<version> from AE_KUBECTL_DIR, as ae_kubectl. */
char *ae_kubectl_v(const char *version, int *status, const char *args);

/* Polls `kubectl args` until its output contains want (AE_WAIT_S at most). */
void ae_wait_output(const char *args, const char *want, const char *what);

/* Writes yaml to <dir>/<name>.yaml and applies it. */
void ae_apply(const char *name, const char *yaml);

/* Number of lines of out containing needle. */
int ae_count_lines(const char *out, const char *needle);

/* Waits until node i is registered, patches its podCIDR (the testbed's) and
 * waits until it is Ready. */
void ae_node_ready(int i);

/* Resident set size of a process in KiB (VmRSS), or -1. */
long ae_rss_kb(pid_t pid);

/* utime+stime of a process in clock ticks, or -1. */
long long ae_cpu_ticks(pid_t pid);

#endif
