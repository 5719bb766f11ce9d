/* proxy.c - `knode proxy`: the Service proxy alone. */
#include <stdio.h>
#include <stdlib.h>

#include "cmd/knode.h"
#include "cmd/options.h"

int cmd_proxy(int argc, char **argv)
{
    static const char *kubeconfig;
    static const kn_flag extra[] = {
        {"kubeconfig", 0, KN_FLAG_STRING, &kubeconfig, "", "kubeconfig file of the API server"},
    };
    size_t n;
    kn_flag *f = options_merge(&n, extra, 1, proxy_flags, proxy_nflags, NULL);
    return options_run_unbuilt("knode proxy", "Run the Service proxy alone.", f, n, argc, argv,
                               "the Service proxy");
}
