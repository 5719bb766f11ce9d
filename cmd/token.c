/* token.c - `knode token create`: bootstrap tokens for joining nodes,
 * created through the API server with the admin kubeconfig of the data dir. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-client/bootstrap.h"
#include "api-client/kubeconfig.h"
#include "api-client/rest.h"
#include "cmd/knode.h"
#include "cmd/options.h"
#include "controlplane/bootstrap-token.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/xalloc.h"

/* Creates the Secret of a new token through c; prints ID.SECRET. */
static int create_token(kc_client *c, int64_t ttl, const char *groups, const char *description,
                        kn_error **err)
{
    int64_t expires = ttl > 0 ? kn_time_wall_ns() + ttl : 0;
    for (int attempt = 0;; attempt++) {
        char id[KC_TOKEN_ID_LEN + 1], secret[KC_TOKEN_SECRET_LEN + 1];
        kn_btoken_generate(id, secret);
        cleanup_cjson cJSON *s = kn_btoken_secret(id, secret, expires, groups, description);
        cleanup_error kn_error *e = NULL;
        if (kc_create(c, &kc_res_secrets, "kube-system", s, NULL, &e) == 0) {
            printf("%s.%s\n", id, secret);
            return 0;
        }
        if (kn_error_code(e) != KN_EEXIST || attempt == 4) {
            kn_error_set(err, kn_error_code(e), "create bootstrap token: %s", kn_error_msg(e));
            return -1;
        }
    }
}

static int run_create(const char *data_dir, int64_t ttl, const char *groups,
                      const char *description)
{
    cleanup_free char *path = xasprintf("%s/admin.kubeconfig", data_dir);
    cleanup_kc_config kc_config *cfg = NULL;
    kc_client *c = NULL;
    kn_error *err = NULL;
    int r = kc_config_load(path, NULL, &cfg, &err);
    if (r == 0)
        r = kc_client_new(cfg, NULL, &c, &err);
    if (r == 0)
        r = create_token(c, ttl, groups, description, &err);
    kc_client_free(c);
    if (r < 0) {
        fprintf(stderr, "knode token create: %s\n", kn_error_msg(err));
        kn_error_free(&err);
        return 1;
    }
    return 0;
}

int cmd_token(int argc, char **argv)
{
    static const char *data_dir, *groups, *description;
    static int64_t ttl;
    static const kn_flag flags[] = {
        {"data-dir", 0, KN_FLAG_STRING, &data_dir, "/var/lib/knode",
         "data directory of the server (its admin.kubeconfig is used)"},
        {"ttl", 0, KN_FLAG_DURATION, &ttl, "24h",
         "lifetime of the token; 0 means it never expires"},
        {"groups", 0, KN_FLAG_STRING, &groups, KN_BTOKEN_DEFAULT_GROUP,
         "extra groups (comma-separated, each system:bootstrappers:...) the token authenticates "
         "as"},
        {"description", 0, KN_FLAG_STRING, &description, "",
         "a human-friendly description of the token"},
    };
    if (argc < 1 || strcmp(argv[0], "create") != 0) {
        fprintf(stderr, "Usage: knode token create [--data-dir DIR] [--ttl 24h]\n");
        return argc >= 1 && (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0) ? 0 : 2;
    }
    kn_flagset fs = {.command = "knode token create",
                     .usage = "Create a bootstrap token (a kube-system/bootstrap-token-ID Secret) "
                              "and print ID.SECRET.\nNodes join with knode agent --server URL "
                              "--token ID.SECRET --ca-cert-hash sha256:HEX.",
                     .flags = flags,
                     .nflags = sizeof(flags) / sizeof(flags[0])};
    int r = options_parse(&fs, argc - 1, argv + 1);
    if (r >= 0)
        return r;
    return run_create(data_dir, ttl, groups, description);
}
