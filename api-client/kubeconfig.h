/* kubeconfig.h - how to reach the API server, read as kubectl reads it.
 *
 * Sources, in client-go's order of precedence (kc_config_load):
 *   1. an explicit kubeconfig file (--kubeconfig), which must exist;
 *   2. $KUBECONFIG, a ':'-separated list of files merged by kubectl's rules
 *      (missing files are skipped; for clusters, users and contexts the first
 *      file to define a name wins, whole entry; current-context comes from
 *      the first file that sets it);
 *   3. $HOME/.kube/config;
 *   4. in-cluster: $KUBERNETES_SERVICE_HOST/PORT and the service account's
 *      token, ca.crt and namespace files.
 *
 * Relative file paths inside a kubeconfig are resolved against the directory
 * of the file that defined them. Certificate and key files are read at load
 * time; a token file is re-read whenever it changes (kc_config_bearer_token).
 * Every error names the file and the field path, e.g.
 *   "/etc/kubeconfig: users[0].user.client-key-data: illegal base64 data at input byte 4".
 * proxy-url, exec and auth-provider plugins are refused (KN_ENOTSUP). */
#ifndef KNODE_API_CLIENT_KUBECONFIG_H
#define KNODE_API_CLIENT_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"

/* Bytes read from a file or decoded from a -data field (PEM), NUL-terminated. */
typedef struct kc_blob {
    char *data; /* owned, NULL when unset */
    size_t len;
} kc_blob;

struct kc_token_cache;

typedef struct kc_config {
    char *server;          /* normalized base URL, no trailing '/': "https://h:6443/prefix" */
    char *server_host;     /* host part without brackets: "10.0.0.1", "::1", "api.example" */
    int server_port;       /* explicit or scheme default (443/80) */
    char *server_path;     /* path prefix without trailing '/', "" when none */
    bool server_tls;       /* https */
    char *tls_server_name; /* SNI and verification name override, or NULL */
    bool insecure_skip_tls_verify;

    kc_blob ca;          /* CA bundle (PEM) to pin, or empty for the system roots */
    kc_blob client_cert; /* client certificate (PEM), or empty */
    kc_blob client_key;  /* client key (PEM), or empty */
    char *ca_file;       /* absolute paths the above came from, or NULL */
    char *client_cert_file;
    char *client_key_file;

    char *token;      /* static bearer token, or NULL */
    char *token_file; /* absolute path of a token file re-read on change, or NULL */
    char *username;   /* basic auth, or NULL */
    char *password;

    char *impersonate_user;    /* "as", or NULL */
    char *impersonate_uid;     /* "as-uid", or NULL */
    char **impersonate_groups; /* "as-groups", NULL-terminated, or NULL */

    char *namespace; /* the context's namespace, "default" when unset */
    char *context;   /* context name used, or NULL (in-cluster) */
    char *cluster;   /* cluster name used, or NULL */
    char *user;      /* user name used, or NULL */
    char *origin;    /* where it came from: a file name or "in-cluster" */

    struct kc_token_cache *token_cache; /* private */
} kc_config;

/* Loads by client-go's precedence (see above). explicit_path: --kubeconfig
 * or NULL. context: --context override or NULL for current-context.
 * Returns 0 and a new *out (free with kc_config_free), or negative with err. */
int kc_config_load(const char *explicit_path, const char *context, kc_config **out, kn_error **err);

/* Loads and merges the given files in order (as $KUBECONFIG does). With
 * must_exist, a missing file is an error; otherwise missing files are skipped
 * (but at least one must exist). */
int kc_config_load_files(const char *const *paths, size_t npaths, bool must_exist,
                         const char *context, kc_config **out, kn_error **err);

/* Loads one kubeconfig document from memory; name is used in messages and
 * its directory for relative paths. */
int kc_config_load_data(const char *data, size_t len, const char *name, const char *context,
                        kc_config **out, kn_error **err);

/* In-cluster configuration. root prefixes the service account directory
 * (NULL or "/" for the real one; tests pass a temporary directory). Needs
 * KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT. The token file is
 * required; a missing ca.crt leaves the system roots; namespace defaults to
 * "default". */
int kc_config_in_cluster(const char *root, kc_config **out, kn_error **err);

/* The bearer token to send now, re-reading token_file when its identity,
 * size or mtime changed (a failed re-read keeps the last good token).
 * *out is a new string (caller frees) or NULL when the config has no token.
 * Thread-safe. */
int kc_config_bearer_token(kc_config *cfg, char **out, kn_error **err);

/* A deep copy (the token cache starts empty). */
kc_config *kc_config_dup(const kc_config *cfg);

void kc_config_free(kc_config *cfg);

#define cleanup_kc_config __attribute__((cleanup(kc_config_freep)))
static inline void kc_config_freep(kc_config **p)
{
    kc_config_free(*p);
}

/* Decodes standard base64 with padding, ignoring '\r' and '\n' (Go's
 * encoding/json []byte rules). *out is NUL-terminated, caller frees.
 * On error returns -1 and the offset of the bad input byte in *bad_at. */
int kc_base64_decode(const char *in, size_t len, char **out, size_t *outlen, size_t *bad_at);

#endif
