/* components.c - the component sub-commands. Each parses its full flag set
 * (so scripts written for upstream flags are checked today) and then runs
 * the component; what is not built yet says so and exits 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/knode.h"
#include "cmd/options.h"
#include "controlplane/server.h"
#include "lib/version.h"

int options_not_built(const char *command, const char *what)
{
    fprintf(stderr,
            "%s: %s is not built yet in knode %s.\n"
            "See ARCHITECTURE.md (\"What is built\") for the state of each component.\n",
            command, what, kn_version());
    return 1;
}

int options_run_unbuilt(const char *command, const char *usage, kn_flag *flags, size_t n, int argc,
                        char **argv, const char *what)
{
    kn_flagset fs = {.command = command, .usage = usage, .flags = flags, .nflags = n};
    int r = options_parse(&fs, argc, argv);
    free(flags);
    if (r >= 0)
        return r;
    return options_not_built(command, what);
}

int cmd_server(int argc, char **argv)
{
    size_t n;
    kn_flag *f = options_merge(&n, server_flags, server_nflags, standalone_extra_flags,
                               standalone_extra_nflags, NULL);
    kn_flagset fs = {.command = "knode server",
                     .usage = "Run the control plane only: API server, store, scheduler, "
                              "controllers.\nkubectl uses <data-dir>/admin.kubeconfig.",
                     .flags = f,
                     .nflags = n};
    int r = options_parse(&fs, argc, argv);
    free(f);
    if (r >= 0)
        return r;
    kn_server_opts o = {.data_dir = opt_server.data_dir,
                        .bind_address = opt_server.bind_address,
                        .port = (int)opt_server.secure_port,
                        .service_cidr = opt_server.service_cluster_ip_range,
                        .store_url = opt_server.store,
                        .cluster_domain = "cluster.local",
                        .compact_interval_s = (int)(opt_server.compaction_interval / 1000000000LL),
                        .node_monitor_grace_ns = opt_server.node_monitor_grace_period,
                        .allocate_node_cidrs = opt_server.allocate_node_cidrs,
                        .cluster_cidr = opt_join.cluster_cidr};
    kn_error *err = NULL;
    if (kn_server_run(&o, &err) < 0) {
        fprintf(stderr, "knode server: %s\n", kn_error_msg(err));
        kn_error_free(&err);
        return 1;
    }
    return 0;
}
