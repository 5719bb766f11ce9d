/* token.c - `knode token create`: bootstrap tokens for joining nodes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/knode.h"
#include "cmd/options.h"

int cmd_token(int argc, char **argv)
{
    static const char *data_dir;
    static int64_t ttl;
    static const kn_flag flags[] = {
        {"data-dir", 0, KN_FLAG_STRING, &data_dir, "/var/lib/knode",
         "data directory of the server"},
        {"ttl", 0, KN_FLAG_DURATION, &ttl, "24h", "lifetime of the token"},
    };
    if (argc < 1 || strcmp(argv[0], "create") != 0) {
        fprintf(stderr, "Usage: knode token create [--data-dir DIR] [--ttl 24h]\n");
        return argc >= 1 && (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0) ? 0 : 2;
    }
    size_t n;
    kn_flag *f = options_merge(&n, flags, 2, NULL);
    return options_run_unbuilt("knode token create",
                               "Create a bootstrap token and print ID.SECRET.", f, n, argc - 1,
                               argv + 1, "bootstrap token creation");
}
