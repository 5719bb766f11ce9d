/* preflight.h - `knode check`: can this host run a knode node?
 *
 * Each check prints one line, "OK" or "FAIL" (or "WARN" for what upstream
 * only warns about) with what was seen and, on failure, the fix. Checks that
 * need to create kernel objects (nftables tables, bridges, veth pairs) do it
 * in a private network namespace of a forked child, so the host's network is
 * never touched. */
#ifndef KNODE_KUBELET_PREFLIGHT_H
#define KNODE_KUBELET_PREFLIGHT_H

#include <stdio.h>

typedef enum kn_check_status { KN_CHECK_OK, KN_CHECK_WARN, KN_CHECK_FAIL } kn_check_status;

typedef struct kn_check_result {
    kn_check_status status;
    char detail[256]; /* what was seen */
    char fix[256];    /* what to do, for WARN/FAIL */
} kn_check_result;

typedef struct kn_preflight_opts {
    const char *runtime_endpoint; /* CRI endpoint, "unix:///run/containerd/containerd.sock" */
    const char *cni_bin_dirs;     /* colon-separated, default "/usr/lib/cni:/opt/cni/bin" */
    const char *ports;            /* comma-separated TCP ports that must be free */
    /* Optional: checks the runtime answers CRI v1 (provided by the CRI client
     * so this module does not depend on it). NULL skips the check. */
    void (*check_runtime)(const char *endpoint, kn_check_result *res);
} kn_preflight_opts;

/* Runs every check, printing one line each to out. Returns the number of
 * failed checks (warnings do not count). */
int kn_preflight_run(const kn_preflight_opts *opts, FILE *out);

/* Fills res (helper for checks written elsewhere, e.g. the CRI check). */
void kn_check_set(kn_check_result *res, kn_check_status st, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
