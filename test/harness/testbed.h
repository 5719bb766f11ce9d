/* testbed.h - simulated Kubernetes nodes for integration tests.
 *
 * A testbed node is its own network namespace with its own containerd
 * (private root/state/socket, sandbox image = knode's pause image, cgroupfs,
 * runc default + crun handler), a CNI bridge (cni0) with host-local IPAM for
 * its pod CIDR, and the test images imported. Nodes are wired through a
 * "lan" namespace (bridge br0, 10.250.<lan>.0/24) with host-gw routes between
 * pod CIDRs. Nothing is added to the root network namespace.
 *
 * Names are made unique per test run (prefix "kt<pid>-"), so parallel runs
 * and leftovers of a crashed run never collide. Teardown stops only the
 * processes this harness started, by PID, and removes its netns, mounts,
 * cgroups and shim sockets. See ../shared/TESTBED.md for the traps handled. */
#ifndef KNODE_TEST_TESTBED_H
#define KNODE_TEST_TESTBED_H

#include <stdbool.h>
#include <sys/types.h>

#include "lib/error.h"

#define TB_MAX_NODES 4

typedef struct tb_node {
    int index;            /* 1..TB_MAX_NODES: node IP 10.250.0.<index>, pods 10.244.<index>.0/24 */
    char name[32];        /* "nodeA" ... */
    char netns[64];       /* network namespace name, unique per run */
    char dir[256];        /* state directory of this node */
    char socket[300];     /* containerd CRI socket path */
    char endpoint[310];   /* "unix://" + socket */
    char node_ip[32];     /* "10.250.0.<index>" */
    char pod_cidr[32];    /* "10.244.<index>.0/24" */
    char pod_gateway[32]; /* "10.244.<index>.1" */
    char cgroup_parent[96]; /* kubelet-style parent for pods: "/<netns>/kubepods" */
    pid_t containerd_pid;
    bool up;
} tb_node;

typedef struct tb_cluster {
    char prefix[32]; /* unique per run, e.g. "kt1234-" */
    char lan_netns[64];
    char root[200]; /* base directory of every node's state */
    int nnodes;
    tb_node nodes[TB_MAX_NODES];
} tb_cluster;

/* Image tarballs built by `make images` (packaging/images/build.sh); the
 * directory is $KNODE_IMAGES, else images/ beside the running test binary
 * (i.e. $(BUILD)/images) when it holds both tarballs, else build/images. */
const char *tb_images_dir(void);

/* Creates the lan and n nodes (nodeA, nodeB, ...), each with a running
 * containerd that answers and has the pause and busybox images imported, and
 * host-gw routes between all pod CIDRs. Registers a kt cleanup that tears
 * everything down if the test fails or times out. On error, whatever was
 * created is torn down again. */
int tb_cluster_up(tb_cluster *c, int n, kn_error **err);

/* Tears everything down (idempotent). Returns 0 if nothing is left behind,
 * negative with *err listing what could not be removed. */
int tb_cluster_down(tb_cluster *c, kn_error **err);

/* Runs argv inside the netns (a node's or the lan's; NULL: the caller's
 * namespaces), in a private mount namespace where /sys belongs to that netns
 * and the cgroup hierarchies are visible. argv[0] is looked up in the usual
 * bin and sbin directories. Captures stdout+stderr into *out (owned by the
 * caller; out may be NULL) and returns the exit status (128+N when killed by
 * signal N), or negative on failure to start or after timeout_s (the
 * command's process group is then killed by PID). */
int tb_exec(const char *netns, char *const argv[], int timeout_s, char **out, kn_error **err);

/* Convenience: runs "/bin/sh -c cmd" inside netns. */
int tb_sh(const char *netns, const char *cmd, int timeout_s, char **out, kn_error **err);

/* True when the machine can host a testbed (root, ip, containerd, runc, CNI
 * plugins, images built); otherwise fills why. */
bool tb_available(char *why, size_t whylen);

#endif
