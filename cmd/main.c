/* main.c - knode: one binary, one sub-command per component.
 * Only flag parsing and wiring live in cmd/; the logic is in the components. */
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/knode.h"

/* GnuTLS comes into every knode process with libcurl (Debian's build
 * links it for RTMP and LDAP) but knode never uses it: its TLS is
 * OpenSSL. This keeps GnuTLS's library constructor from initialising it
 * anyway (about 0.9 MB of RSS in each process; ARCHITECTURE.md, "Linking");
 * a library that does use it calls gnutls_global_init itself. The Makefile
 * exports the symbol so that libgnutls sees it. */
GNUTLS_SKIP_GLOBAL_INIT

typedef struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} subcommand;

static const subcommand subcommands[] = {
    {"standalone", cmd_standalone, "control plane + node agent in one process (one-node cluster)"},
    {"server", cmd_server, "control plane only (API server, store, scheduler, controllers)"},
    {"agent", cmd_agent, "node agent joining an existing API server (kubelet + proxy + dns)"},
    {"kubelet", cmd_kubelet, "the kubelet alone"},
    {"proxy", cmd_proxy, "the Service proxy alone (nftables or IPVS)"},
    {"dns", cmd_dns, "the cluster DNS server alone"},
    {"token", cmd_token, "bootstrap tokens: token create"},
    {"check", cmd_check, "preflight checks of this host"},
    {"version", cmd_version, "print the version"},
};

/* glibc reads its malloc tunables from the environment at start only. The
 * node agent runs ~18 long-lived threads (gRPC's, the informers', the
 * status manager...) that mostly wait; each thread's malloc cache (tcache:
 * up to 7 freed chunks per size class, reusable only by that thread) kept
 * what a pod burst freed through it: 0.8 MB of the agent's 5.6 MB of
 * anonymous memory at 100 pods (ARCHITECTURE.md, node agent memory). So
 * `knode kubelet` and `knode agent` start themselves once more with the
 * cache off, unless the operator set GLIBC_TUNABLES (theirs wins), and
 * clear both variables again so that no child inherits them. */
#define RESTARTED_MARK "KNODE_MALLOC_TUNED"

static void exec_with_malloc_tunables(char **argv)
{
    if (getenv(RESTARTED_MARK)) {
        unsetenv(RESTARTED_MARK);
        unsetenv("GLIBC_TUNABLES");
        return;
    }
    if (getenv("GLIBC_TUNABLES"))
        return;
    setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0", 1);
    setenv(RESTARTED_MARK, "1", 1);
    execv("/proc/self/exe", argv);
    unsetenv(RESTARTED_MARK); /* no /proc: run as we are */
    unsetenv("GLIBC_TUNABLES");
}

static void usage(FILE *out)
{
    fprintf(out, "knode - a Kubernetes node agent: kubelet, Service proxy and cluster DNS in C,\n"
                 "with a bundled control plane for one-command clusters.\n\n"
                 "Usage: knode <command> [flags]\n\nCommands:\n");
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        fprintf(out, "  %-12s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(out, "\nRun 'knode <command> --help' for the flags of one command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0)
        return cmd_version(0, NULL);
    if (strcmp(name, "kubelet") == 0 || strcmp(name, "agent") == 0)
        exec_with_malloc_tunables(argv);
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
        if (strcmp(name, subcommands[i].name) == 0)
            return subcommands[i].run(argc - 2, argv + 2);
    }
    fprintf(stderr, "knode: unknown command \"%s\"\n\n", name);
    usage(stderr);
    return 2;
}
