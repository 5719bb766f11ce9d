/* check.c - `knode check`: preflight of this host, one line per check. */
#include <stdio.h>

#include "cmd/knode.h"
#include "cmd/options.h"
#include "cri/msg.h"
#include "cri/runtime.h"
#include "kubelet/preflight.h"

/* The runtime answers CRI v1 (Version, then Status: RuntimeReady). */
static void check_runtime(const char *endpoint, kn_check_result *res)
{
    kn_error *err = NULL;
    cri_conn *c = NULL;
    Runtime__V1__VersionResponse *v = NULL;
    if (cri_conn_new(endpoint, 5000, &c, &err) < 0 || cri_runtime_version(c, &v, &err) < 0) {
        kn_check_set(res, KN_CHECK_FAIL, "start containerd (or pass --container-runtime-endpoint)",
                     "%s: %s", endpoint, kn_error_msg(err));
    } else {
        kn_check_set(res, KN_CHECK_OK, NULL, "%s %s answers CRI %s at %s", v->runtime_name,
                     v->runtime_version, v->runtime_api_version, endpoint);
    }
    cri_msg_free(v);
    cri_conn_free(c);
    kn_error_free(&err);
}

int cmd_check(int argc, char **argv)
{
    static const char *endpoint, *cni_dirs, *ports;
    static const kn_flag flags[] = {
        {"container-runtime-endpoint", 0, KN_FLAG_STRING, &endpoint,
         "unix:///run/containerd/containerd.sock", "CRI endpoint to check"},
        {"cni-bin-dir", 0, KN_FLAG_STRING, &cni_dirs, "/usr/lib/cni:/opt/cni/bin",
         "colon-separated directories searched for CNI plugins"},
        {"ports", 0, KN_FLAG_STRING, &ports, "6443,10250,10256", "TCP ports that must be free"},
    };
    kn_flagset fs = {.command = "knode check",
                     .usage = "Check that this host can run knode: kernel features, runtime, "
                              "CNI plugins, cgroups, ports.",
                     .flags = flags,
                     .nflags = sizeof(flags) / sizeof(flags[0])};
    int r = options_parse(&fs, argc, argv);
    if (r >= 0)
        return r;
    kn_preflight_opts o = {.runtime_endpoint = endpoint,
                           .cni_bin_dirs = cni_dirs,
                           .ports = ports,
                           .check_runtime = check_runtime};
    int failed = kn_preflight_run(&o, stdout);
    if (failed)
        printf("%d check%s failed\n", failed, failed == 1 ? "" : "s");
    return failed ? 1 : 0;
}
