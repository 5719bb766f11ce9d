/* kubeconfig.c - kubeconfig files, $KUBECONFIG merging and in-cluster config.
 *
 * Loading runs in three steps: every file is parsed and its shape checked
 * (a wrong type anywhere is an error, as client-go's decoder makes it); the
 * named entries are merged, first definition winning; then only the chosen
 * context, its cluster and its user are validated and turned into a
 * kc_config, as client-go's ClientConfig() does. */
#include "api-client/kubeconfig.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "api-client/kc-internal.h"
#include "lib/file.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "lib/yaml.h"

#define KC_MAX_KUBECONFIG (4 << 20)
#define KC_MAX_PEM (1 << 20)
#define KC_MAX_TOKEN (64 << 10)
#define KC_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct kc_token_cache {
    pthread_mutex_t lock;
    char *token;
    bool have;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

/* ---- shape checks ---------------------------------------------------------- */

typedef enum ftype { T_STR, T_BOOL, T_OBJ, T_LIST, T_STRLIST } ftype;

typedef struct field {
    const char *key;
    ftype type;
} field;

static const field top_fields[] = {
    {"apiVersion", T_STR},      {"kind", T_STR},        {"preferences", T_OBJ},
    {"clusters", T_LIST},       {"users", T_LIST},      {"contexts", T_LIST},
    {"current-context", T_STR}, {"extensions", T_LIST}, {NULL, T_STR},
};

static const field cluster_fields[] = {
    {"server", T_STR},
    {"tls-server-name", T_STR},
    {"insecure-skip-tls-verify", T_BOOL},
    {"certificate-authority", T_STR},
    {"certificate-authority-data", T_STR},
    {"proxy-url", T_STR},
    {"disable-compression", T_BOOL},
    {"extensions", T_LIST},
    {NULL, T_STR},
};

static const field user_fields[] = {
    {"client-certificate", T_STR},
    {"client-certificate-data", T_STR},
    {"client-key", T_STR},
    {"client-key-data", T_STR},
    {"token", T_STR},
    {"tokenFile", T_STR},
    {"as", T_STR},
    {"as-uid", T_STR},
    {"as-groups", T_STRLIST},
    {"as-user-extra", T_OBJ},
    {"username", T_STR},
    {"password", T_STR},
    {"auth-provider", T_OBJ},
    {"exec", T_OBJ},
    {"extensions", T_LIST},
    {NULL, T_STR},
};

static const field context_fields[] = {
    {"cluster", T_STR},     {"user", T_STR}, {"namespace", T_STR},
    {"extensions", T_LIST}, {NULL, T_STR},
};

static const char *type_name(ftype t)
{
    switch (t) {
    case T_STR:
        return "a string";
    case T_BOOL:
        return "a boolean";
    case T_OBJ:
        return "a mapping";
    case T_LIST:
        return "a list";
    case T_STRLIST:
        return "a list of strings";
    }
    return "?";
}

static bool type_ok(const cJSON *v, ftype t)
{
    if (cJSON_IsNull(v))
        return true;
    switch (t) {
    case T_STR:
        return cJSON_IsString(v);
    case T_BOOL:
        return cJSON_IsBool(v);
    case T_OBJ:
        return cJSON_IsObject(v);
    case T_LIST:
        return cJSON_IsArray(v);
    case T_STRLIST:
        if (!cJSON_IsArray(v))
            return false;
        const cJSON *it;
        cJSON_ArrayForEach(it, v)
        {
            if (!cJSON_IsString(it))
                return false;
        }
        return true;
    }
    return false;
}

/* Checks the known keys of obj against fields; unknown keys are ignored as
 * client-go's decoder ignores them. */
static int check_fields(const cJSON *obj, const field *fields, const char *file, const char *path,
                        kn_error **err)
{
    for (const field *f = fields; f->key; f++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, f->key);
        if (v && !type_ok(v, f->type))
            return kn_error_set(err, KN_EINVAL, "%s: %s%s%s: expected %s", file, path,
                                *path ? "." : "", f->key, type_name(f->type));
    }
    return 0;
}

/* Returns the string value of key, or NULL when absent, null or empty
 * (client-go treats an empty string as unset). Types are checked already. */
static const char *str_field(const cJSON *obj, const char *key)
{
    const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return NULL;
    return v->valuestring;
}

static bool bool_field(const cJSON *obj, const char *key)
{
    const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    return cJSON_IsTrue(v);
}

static bool present(const cJSON *obj, const char *key)
{
    const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    return v && !cJSON_IsNull(v);
}

/* ---- merged view of one or more files -------------------------------------- */

typedef struct entry {
    const char *name;
    const cJSON *body; /* the "cluster"/"user"/"context" mapping, may be NULL */
    const char *file;
    int index;
} entry;

typedef struct entry_list {
    entry *v;
    size_t n;
    const char *list;  /* "clusters", "users", "contexts" */
    const char *inner; /* "cluster", "user", "context" */
} entry_list;

typedef struct merged {
    cJSON **docs;
    char **files;
    size_t ndocs;
    entry_list clusters, users, contexts;
    const char *current_context;
    const char *cc_file;
} merged;

static void merged_init(merged *m)
{
    memset(m, 0, sizeof(*m));
    m->clusters = (entry_list){NULL, 0, "clusters", "cluster"};
    m->users = (entry_list){NULL, 0, "users", "user"};
    m->contexts = (entry_list){NULL, 0, "contexts", "context"};
}

static void merged_free(merged *m)
{
    for (size_t i = 0; i < m->ndocs; i++) {
        cJSON_Delete(m->docs[i]);
        free(m->files[i]);
    }
    free(m->docs);
    free(m->files);
    free(m->clusters.v);
    free(m->users.v);
    free(m->contexts.v);
}

static const entry *find_entry(const entry_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0)
            return &l->v[i];
    return NULL;
}

static int check_named_list(const cJSON *list, entry_list *into, const field *fields,
                            const char *file, kn_error **err)
{
    size_t first_of_file = into->n;
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, list)
    {
        char path[64];
        snprintf(path, sizeof(path), "%s[%d]", into->list, i);
        if (!cJSON_IsObject(it))
            return kn_error_set(err, KN_EINVAL, "%s: %s: expected a mapping", file, path);
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
        if (!cJSON_IsString(name) || !name->valuestring[0])
            return kn_error_set(err, KN_EINVAL, "%s: %s.name: missing or not a string", file, path);
        const cJSON *body = cJSON_GetObjectItemCaseSensitive(it, into->inner);
        if (body && !type_ok(body, T_OBJ))
            return kn_error_set(err, KN_EINVAL, "%s: %s.%s: expected a mapping", file, path,
                                into->inner);
        char inner_path[96];
        snprintf(inner_path, sizeof(inner_path), "%s.%s", path, into->inner);
        if (cJSON_IsObject(body) && check_fields(body, fields, file, inner_path, err) < 0)
            return -KN_EINVAL;
        for (size_t j = first_of_file; j < into->n; j++)
            if (strcmp(into->v[j].name, name->valuestring) == 0)
                return kn_error_set(err, KN_EINVAL, "%s: %s.name: duplicate name \"%s\"", file,
                                    path, name->valuestring);
        /* across files the first definition wins, whole entry */
        if (!find_entry(into, name->valuestring)) {
            into->v = xreallocarray(into->v, into->n + 1, sizeof(*into->v));
            into->v[into->n++] =
                (entry){name->valuestring, cJSON_IsObject(body) ? body : NULL, file, i};
        }
        i++;
    }
    return 0;
}

static int check_user_extra(const cJSON *users, const char *file, kn_error **err)
{
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, users)
    {
        const cJSON *extra = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(it, "user"), "as-user-extra");
        const cJSON *kv, *map = cJSON_IsObject(extra) ? extra : NULL;
        cJSON_ArrayForEach(kv, map)
        {
            if (!type_ok(kv, T_STRLIST))
                return kn_error_set(err, KN_EINVAL,
                                    "%s: users[%d].user.as-user-extra.%s: expected a list of "
                                    "strings",
                                    file, i, kv->string);
        }
        i++;
    }
    return 0;
}

/* Adds one parsed document (owned by m from now on) to the merged view. */
static int merge_document(merged *m, cJSON *doc, const char *file, kn_error **err)
{
    m->docs = xreallocarray(m->docs, m->ndocs + 1, sizeof(*m->docs));
    m->files = xreallocarray(m->files, m->ndocs + 1, sizeof(*m->files));
    m->docs[m->ndocs] = doc;
    m->files[m->ndocs] = xstrdup(file);
    file = m->files[m->ndocs++];
    if (check_fields(doc, top_fields, file, "", err) < 0)
        return -KN_EINVAL;
    const cJSON *users = cJSON_GetObjectItemCaseSensitive(doc, "users");
    if (check_named_list(cJSON_GetObjectItemCaseSensitive(doc, "clusters"), &m->clusters,
                         cluster_fields, file, err) < 0 ||
        check_named_list(users, &m->users, user_fields, file, err) < 0 ||
        check_named_list(cJSON_GetObjectItemCaseSensitive(doc, "contexts"), &m->contexts,
                         context_fields, file, err) < 0 ||
        check_user_extra(users, file, err) < 0)
        return -KN_EINVAL;
    const char *cc = str_field(doc, "current-context");
    if (cc && !m->current_context) {
        m->current_context = cc;
        m->cc_file = file;
    }
    return 0;
}

/* ---- files and documents ----------------------------------------------------- */

static bool all_space(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)s[i]))
            return false;
    return true;
}

/* Parses one kubeconfig document into a mapping. An empty file is an empty
 * config, as kubectl takes it. */
static int parse_document(const char *data, size_t len, const char *name, cJSON **out,
                          kn_error **err)
{
    if (all_space(data, len)) {
        *out = cJSON_CreateObject();
        return 0;
    }
    cJSON *doc = NULL;
    if (kc_parse_yaml_or_json(data, len, &doc, err) < 0)
        return kn_error_wrap(err, "%s", name);
    if (cJSON_IsNull(doc)) {
        cJSON_Delete(doc);
        doc = cJSON_CreateObject();
    }
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        return kn_error_set(err, KN_EINVAL, "%s: expected a mapping at the top level", name);
    }
    *out = doc;
    return 0;
}

static char *dir_of(const char *file)
{
    const char *slash = strrchr(file, '/');
    if (!slash)
        return xstrdup(".");
    if (slash == file)
        return xstrdup("/");
    return xstrndup(file, (size_t)(slash - file));
}

static char *resolve_path(const char *file, const char *p)
{
    if (p[0] == '/')
        return xstrdup(p);
    cleanup_free char *dir = dir_of(file);
    return xasprintf("%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", p);
}

/* ---- base64 ------------------------------------------------------------------- */

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int kc_base64_decode(const char *in, size_t len, char **out, size_t *outlen, size_t *bad_at)
{
    char *buf = xmalloc(len / 4 * 3 + 4);
    size_t n = 0, q = 0, pad = 0, last = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '\r' || c == '\n')
            continue;
        int v = b64_value(c);
        if ((c == '=' && q >= 2) || (pad && c == '=')) {
            pad++;
            v = 0;
        } else if (v < 0 || pad) {
            *bad_at = i;
            free(buf);
            return -1;
        }
        last = i;
        acc = acc << 6 | (uint32_t)v;
        if (++q == 4) {
            buf[n++] = (char)(acc >> 16);
            if (pad < 2)
                buf[n++] = (char)(acc >> 8 & 0xff);
            if (pad < 1)
                buf[n++] = (char)(acc & 0xff);
            if (pad)
                break;
            q = 0;
            acc = 0;
        }
    }
    if (q != 0 && q != 4) {
        *bad_at = q ? last + 1 : len;
        free(buf);
        return -1;
    }
    for (size_t i = last + 1; i < len; i++) {
        if (in[i] != '\r' && in[i] != '\n') {
            *bad_at = i;
            free(buf);
            return -1;
        }
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return 0;
}

/* ---- building the config ------------------------------------------------------ */

typedef struct where {
    const char *file;
    const char *list; /* "clusters" */
    int index;
    const char *inner; /* "cluster" */
} where;

static where where_of(const entry *e, const entry_list *l)
{
    return (where){e->file, l->list, e->index, l->inner};
}

__attribute__((format(printf, 5, 6))) static int
field_error(kn_error **err, kn_errcode code, const where *w, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cleanup_free char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    return kn_error_set(err, code, "%s: %s[%d].%s.%s: %s", w->file, w->list, w->index, w->inner,
                        key, msg);
}

/* Reads "<key>" (a file) or "<key>-data" (base64) into *blob and *file. */
static int load_blob(const cJSON *body, const where *w, const char *key, const char *data_key,
                     kc_blob *blob, char **file_out, kn_error **err)
{
    const char *file = str_field(body, key), *data = str_field(body, data_key);
    if (file && data)
        return field_error(err, KN_EINVAL, w, data_key, "both %s and %s are set", key, data_key);
    if (data) {
        size_t bad;
        if (kc_base64_decode(data, strlen(data), &blob->data, &blob->len, &bad) < 0)
            return field_error(err, KN_EINVAL, w, data_key, "illegal base64 data at input byte %zu",
                               bad);
        return 0;
    }
    if (!file)
        return 0;
    *file_out = resolve_path(w->file, file);
    cleanup_error kn_error *e = NULL;
    if (kn_read_file(*file_out, KC_MAX_PEM, &blob->data, &blob->len, &e) < 0)
        return field_error(err, kn_error_code(e), w, key, "%s", kn_error_msg(e));
    return 0;
}

static int parse_port(const char *s, size_t len, int *port)
{
    if (len == 0 || len > 5)
        return -1;
    int v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > 65535)
        return -1;
    *port = v;
    return 0;
}

/* Splits the authority "host", "host:port", "[v6]" or "[v6]:port". */
static int parse_authority(kc_config *c, const char *a, size_t len, const char **why)
{
    const char *host = a, *port = NULL;
    size_t hostlen = len;
    if (len && a[0] == '[') {
        const char *close = memchr(a, ']', len);
        if (!close) {
            *why = "unterminated '[' in host";
            return -1;
        }
        host = a + 1;
        hostlen = (size_t)(close - host);
        if (close + 1 < a + len) {
            if (close[1] != ':') {
                *why = "junk after ']'";
                return -1;
            }
            port = close + 2;
        }
    } else {
        const char *colon = memchr(a, ':', len);
        if (colon) {
            hostlen = (size_t)(colon - a);
            port = colon + 1;
        }
    }
    if (hostlen == 0) {
        *why = "no host";
        return -1;
    }
    if (port && parse_port(port, (size_t)(a + len - port), &c->server_port) < 0) {
        *why = "bad port";
        return -1;
    }
    c->server_host = xstrndup(host, hostlen);
    return 0;
}

int kc_parse_server(kc_config *c, const char *url, const char **why)
{
    const char *rest = url;
    const char *sep = strstr(url, "://");
    c->server_tls = true;
    if (sep) {
        size_t sl = (size_t)(sep - url);
        if (sl == 5 && strncasecmp(url, "https", 5) == 0)
            c->server_tls = true;
        else if (sl == 4 && strncasecmp(url, "http", 4) == 0)
            c->server_tls = false;
        else {
            *why = "scheme must be https or http";
            return -1;
        }
        rest = sep + 3;
    }
    size_t alen = strcspn(rest, "/?#");
    if (memchr(rest, '@', alen)) {
        *why = "user info is not allowed in the server URL";
        return -1;
    }
    c->server_port = c->server_tls ? 443 : 80;
    if (parse_authority(c, rest, alen, why) < 0)
        return -1;
    const char *path = rest + alen;
    if (strpbrk(path, "?#")) {
        *why = "a query or fragment is not allowed in the server URL";
        return -1;
    }
    size_t plen = strlen(path);
    while (plen && path[plen - 1] == '/')
        plen--;
    c->server_path = xstrndup(path, plen);
    bool v6 = strchr(c->server_host, ':') != NULL;
    c->server = xasprintf("%s://%s%s%s:%d%s", c->server_tls ? "https" : "http", v6 ? "[" : "",
                          c->server_host, v6 ? "]" : "", c->server_port, c->server_path);
    return 0;
}

static int build_cluster(kc_config *c, const entry *e, const entry_list *l, kn_error **err)
{
    where w = where_of(e, l);
    const cJSON *b = e->body;
    if (present(b, "proxy-url"))
        return field_error(err, KN_ENOTSUP, &w, "proxy-url", "proxies are not supported");
    const char *server = str_field(b, "server");
    if (!server)
        return field_error(err, KN_EINVAL, &w, "server", "missing (cluster \"%s\")", e->name);
    const char *why = NULL;
    if (kc_parse_server(c, server, &why) < 0)
        return field_error(err, KN_EINVAL, &w, "server", "invalid URL \"%s\": %s", server, why);
    const char *sni = str_field(b, "tls-server-name");
    c->tls_server_name = sni ? xstrdup(sni) : NULL;
    c->insecure_skip_tls_verify = bool_field(b, "insecure-skip-tls-verify");
    if (load_blob(b, &w, "certificate-authority", "certificate-authority-data", &c->ca, &c->ca_file,
                  err) < 0)
        return -1;
    if (c->insecure_skip_tls_verify && c->ca.data)
        return field_error(err, KN_EINVAL, &w, "insecure-skip-tls-verify",
                           "cannot be used together with a certificate-authority");
    return 0;
}

static int load_token_file(kc_config *c, const where *w, const char *file, kn_error **err)
{
    c->token_file = resolve_path(w->file, file);
    cleanup_free char *tok = NULL;
    cleanup_error kn_error *e = NULL;
    if (kc_config_bearer_token(c, &tok, &e) < 0)
        return field_error(err, kn_error_code(e), w, "tokenFile", "%s", kn_error_msg(e));
    return 0;
}

static char **dup_strlist(const cJSON *list)
{
    if (!cJSON_IsArray(list))
        return NULL;
    int n = cJSON_GetArraySize(list);
    char **v = xcalloc((size_t)n + 1, sizeof(*v));
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, list) v[i++] = xstrdup(it->valuestring);
    return v;
}

static int build_auth_methods(kc_config *c, const entry *e, const where *w, kn_error **err)
{
    const cJSON *b = e->body;
    if (present(b, "exec"))
        return field_error(err, KN_ENOTSUP, w, "exec", "exec credential plugins are not supported");
    if (present(b, "auth-provider"))
        return field_error(err, KN_ENOTSUP, w, "auth-provider",
                           "auth-provider plugins are not supported");
    if (present(b, "as-user-extra"))
        return field_error(err, KN_ENOTSUP, w, "as-user-extra",
                           "impersonation of user extras is not supported");
    const char *token = str_field(b, "token"), *token_file = str_field(b, "tokenFile");
    const char *user = str_field(b, "username"), *pass = str_field(b, "password");
    if ((token || token_file) && (user || pass))
        return field_error(err, KN_EINVAL, w, token ? "token" : "tokenFile",
                           "more than one authentication method found for user \"%s\"; found "
                           "token and basic auth, only one is allowed",
                           e->name);
    c->token = token ? xstrdup(token) : NULL;
    c->username = user ? xstrdup(user) : NULL;
    c->password = pass ? xstrdup(pass) : NULL;
    if (token_file && load_token_file(c, w, token_file, err) < 0)
        return -1;
    return 0;
}

static int build_user(kc_config *c, const entry *e, const entry_list *l, kn_error **err)
{
    where w = where_of(e, l);
    const cJSON *b = e->body;
    if (build_auth_methods(c, e, &w, err) < 0)
        return -1;
    if (load_blob(b, &w, "client-certificate", "client-certificate-data", &c->client_cert,
                  &c->client_cert_file, err) < 0 ||
        load_blob(b, &w, "client-key", "client-key-data", &c->client_key, &c->client_key_file,
                  err) < 0)
        return -1;
    if (c->client_cert.data && !c->client_key.data)
        return field_error(err, KN_EINVAL, &w, "client-key",
                           "client-key-data or client-key must be specified for user \"%s\" to "
                           "use the client certificate",
                           e->name);
    if (c->client_key.data && !c->client_cert.data)
        return field_error(err, KN_EINVAL, &w, "client-certificate",
                           "client-certificate-data or client-certificate must be specified for "
                           "user \"%s\" to use the client key",
                           e->name);
    const char *as = str_field(b, "as"), *as_uid = str_field(b, "as-uid");
    c->impersonate_user = as ? xstrdup(as) : NULL;
    c->impersonate_uid = as_uid ? xstrdup(as_uid) : NULL;
    c->impersonate_groups = dup_strlist(cJSON_GetObjectItemCaseSensitive(b, "as-groups"));
    if ((c->impersonate_uid || c->impersonate_groups) && !c->impersonate_user)
        return field_error(err, KN_EINVAL, &w, c->impersonate_uid ? "as-uid" : "as-groups",
                           "requires \"as\" (the user to impersonate)");
    return 0;
}

static const char *files_of(const merged *m, char *buf, size_t size)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < m->ndocs && off < size; i++)
        off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? ":" : "", m->files[i]);
    return buf;
}

static int build_config(const merged *m, const char *override, kc_config *c, kn_error **err)
{
    char files[512];
    const char *name = override && *override ? override : m->current_context;
    if (!name)
        return kn_error_set(err, KN_EINVAL,
                            "%s: current-context: not set, and no context was chosen",
                            files_of(m, files, sizeof(files)));
    const entry *ctx = find_entry(&m->contexts, name);
    if (!ctx) {
        if (override && *override)
            return kn_error_set(err, KN_EINVAL, "%s: context \"%s\" not found",
                                files_of(m, files, sizeof(files)), name);
        return kn_error_set(err, KN_EINVAL, "%s: current-context: context \"%s\" not found",
                            m->cc_file, name);
    }
    where w = where_of(ctx, &m->contexts);
    const char *cluster = str_field(ctx->body, "cluster"), *user = str_field(ctx->body, "user");
    if (!cluster)
        return field_error(err, KN_EINVAL, &w, "cluster", "missing (context \"%s\")", name);
    const entry *ce = find_entry(&m->clusters, cluster);
    if (!ce)
        return field_error(err, KN_EINVAL, &w, "cluster", "cluster \"%s\" not found", cluster);
    const entry *ue = user ? find_entry(&m->users, user) : NULL;
    if (user && !ue)
        return field_error(err, KN_EINVAL, &w, "user", "user \"%s\" not found", user);
    c->context = xstrdup(name);
    c->cluster = xstrdup(cluster);
    c->user = user ? xstrdup(user) : NULL;
    const char *ns = str_field(ctx->body, "namespace");
    c->namespace = xstrdup(ns ? ns : "default");
    c->origin = xstrdup(ctx->file);
    if (build_cluster(c, ce, &m->clusters, err) < 0)
        return -1;
    if (ue && build_user(c, ue, &m->users, err) < 0)
        return -1;
    return 0;
}

static kc_config *config_new(void)
{
    kc_config *c = xcalloc(1, sizeof(*c));
    c->token_cache = xcalloc(1, sizeof(*c->token_cache));
    pthread_mutex_init(&c->token_cache->lock, NULL);
    return c;
}

static int finish(merged *m, const char *context, kc_config **out, kn_error **err)
{
    kc_config *c = config_new();
    int r = build_config(m, context, c, err);
    merged_free(m);
    if (r < 0) {
        kc_config_free(c);
        return kc_fail(err);
    }
    *out = c;
    return 0;
}

int kc_config_load_data(const char *data, size_t len, const char *name, const char *context,
                        kc_config **out, kn_error **err)
{
    merged m;
    merged_init(&m);
    cJSON *doc = NULL;
    if (parse_document(data, len, name, &doc, err) < 0 || merge_document(&m, doc, name, err) < 0) {
        merged_free(&m);
        return kc_fail(err);
    }
    return finish(&m, context, out, err);
}

int kc_config_load_files(const char *const *paths, size_t npaths, bool must_exist,
                         const char *context, kc_config **out, kn_error **err)
{
    merged m;
    merged_init(&m);
    for (size_t i = 0; i < npaths; i++) {
        cleanup_free char *data = NULL;
        size_t len = 0;
        cleanup_error kn_error *e = NULL;
        if (kn_read_file(paths[i], KC_MAX_KUBECONFIG, &data, &len, &e) < 0) {
            if (!must_exist && e->sys_errno == ENOENT)
                continue;
            kn_error_set(err, kn_error_code(e), "load kubeconfig: %s", kn_error_msg(e));
            merged_free(&m);
            return kc_fail(err);
        }
        cJSON *doc = NULL;
        if (parse_document(data, len, paths[i], &doc, err) < 0 ||
            merge_document(&m, doc, paths[i], err) < 0) {
            merged_free(&m);
            return kc_fail(err);
        }
    }
    if (m.ndocs == 0) {
        merged_free(&m);
        return kn_error_set(err, KN_ENOTFOUND, "load kubeconfig: none of the %zu files exists",
                            npaths);
    }
    return finish(&m, context, out, err);
}

/* ---- in-cluster ---------------------------------------------------------------- */

static char *trimmed(char *s)
{
    char *p = s;
    while (isspace((unsigned char)*p))
        p++;
    size_t n = strlen(p);
    while (n && isspace((unsigned char)p[n - 1]))
        n--;
    memmove(s, p, n);
    s[n] = '\0';
    return s;
}

static int in_cluster_server(kc_config *c, kn_error **err)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host || !port || !*port)
        return kn_error_set(err, KN_ENOTFOUND,
                            "in-cluster config: KUBERNETES_SERVICE_HOST and "
                            "KUBERNETES_SERVICE_PORT must be set");
    bool v6 = strchr(host, ':') != NULL;
    cleanup_free char *url =
        xasprintf("https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port);
    const char *why = NULL;
    if (kc_parse_server(c, url, &why) < 0)
        return kn_error_set(err, KN_EINVAL,
                            "in-cluster config: KUBERNETES_SERVICE_HOST/PORT: invalid server "
                            "\"%s\": %s",
                            url, why);
    return 0;
}

static int in_cluster_fill(kc_config *c, const char *root, kn_error **err)
{
    if (in_cluster_server(c, err) < 0)
        return -1;
    const char *r = root && strcmp(root, "/") != 0 ? root : "";
    cleanup_free char *dir = xasprintf("%s" KC_SA_DIR, r);
    c->token_file = xasprintf("%s/token", dir);
    cleanup_free char *tok = NULL;
    if (kc_config_bearer_token(c, &tok, err) < 0)
        return kn_error_wrap(err, "in-cluster config");
    c->ca_file = xasprintf("%s/ca.crt", dir);
    cleanup_error kn_error *e = NULL;
    if (kn_read_file(c->ca_file, KC_MAX_PEM, &c->ca.data, &c->ca.len, &e) < 0) {
        KN_WARN("api-client", "in-cluster config: %s; using the system roots", kn_error_msg(e));
        free(c->ca_file);
        c->ca_file = NULL;
    }
    cleanup_free char *nspath = xasprintf("%s/namespace", dir);
    cleanup_free char *ns = NULL;
    kn_error_free(&e);
    if (kn_read_file(nspath, 4096, &ns, NULL, &e) == 0 && *trimmed(ns))
        c->namespace = kn_steal_ptr(ns);
    else
        c->namespace = xstrdup("default");
    return 0;
}

int kc_config_in_cluster(const char *root, kc_config **out, kn_error **err)
{
    kc_config *c = config_new();
    c->origin = xstrdup("in-cluster");
    if (in_cluster_fill(c, root, err) < 0) {
        kc_config_free(c);
        return kc_fail(err);
    }
    *out = c;
    return 0;
}

/* ---- precedence ------------------------------------------------------------------ */

static int load_env_list(const char *env, const char *context, kc_config **out, kn_error **err)
{
    cleanup_free char *copy = xstrdup(env);
    cleanup_free const char **paths = xcalloc(strlen(env) / 2 + 2, sizeof(*paths));
    size_t n = 0;
    for (char *save = NULL, *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save))
        paths[n++] = p;
    return kc_config_load_files(paths, n, false, context, out, err);
}

int kc_config_load(const char *explicit_path, const char *context, kc_config **out, kn_error **err)
{
    if (explicit_path && *explicit_path)
        return kc_config_load_files(&explicit_path, 1, true, context, out, err);
    const char *env = getenv("KUBECONFIG");
    cleanup_error kn_error *e = NULL;
    if (env && *env) {
        if (load_env_list(env, context, out, &e) == 0)
            return 0;
        if (kn_error_code(e) != KN_ENOTFOUND || !getenv("KUBERNETES_SERVICE_HOST")) {
            kc_error_move(err, &e);
            return kn_error_wrap(err, "KUBECONFIG");
        }
    } else if (getenv("HOME")) {
        cleanup_free char *home = xasprintf("%s/.kube/config", getenv("HOME"));
        if (access(home, F_OK) == 0) {
            const char *p = home;
            return kc_config_load_files(&p, 1, true, context, out, err);
        }
    }
    if (!getenv("KUBERNETES_SERVICE_HOST"))
        return kn_error_set(err, KN_ENOTFOUND,
                            "no client configuration: pass --kubeconfig, set KUBECONFIG, create "
                            "~/.kube/config or run in a cluster");
    return kc_config_in_cluster(NULL, out, err);
}

/* ---- bearer tokens ------------------------------------------------------------------ */

static bool same_file(const struct kc_token_cache *tc, const struct stat *st)
{
    return tc->have && tc->dev == st->st_dev && tc->ino == st->st_ino && tc->size == st->st_size &&
           tc->mtime.tv_sec == st->st_mtim.tv_sec && tc->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static int reread_token(struct kc_token_cache *tc, const char *path, const struct stat *st,
                        kn_error **err)
{
    cleanup_free char *buf = NULL;
    if (kn_read_file(path, KC_MAX_TOKEN, &buf, NULL, err) < 0)
        return -1;
    if (!*trimmed(buf))
        return kn_error_set(err, KN_EINVAL, "read %s: the token file is empty", path);
    free(tc->token);
    tc->token = kn_steal_ptr(buf);
    tc->have = true;
    tc->dev = st->st_dev;
    tc->ino = st->st_ino;
    tc->size = st->st_size;
    tc->mtime = st->st_mtim;
    return 0;
}

static int file_token(kc_config *cfg, char **out, kn_error **err)
{
    struct kc_token_cache *tc = cfg->token_cache;
    struct stat st;
    cleanup_error kn_error *e = NULL;
    pthread_mutex_lock(&tc->lock);
    if (stat(cfg->token_file, &st) < 0)
        kn_error_errno(&e, errno, "read %s", cfg->token_file);
    else if (!same_file(tc, &st))
        reread_token(tc, cfg->token_file, &st, &e);
    if (e && tc->have)
        KN_WARN("api-client", "%s; keeping the last token read", kn_error_msg(e));
    int r = 0;
    if (tc->have)
        *out = xstrdup(tc->token);
    else if (e)
        r = kc_error_move(err, &e);
    pthread_mutex_unlock(&tc->lock);
    return r;
}

int kc_config_bearer_token(kc_config *cfg, char **out, kn_error **err)
{
    *out = NULL;
    if (cfg->token_file)
        return file_token(cfg, out, err);
    if (cfg->token)
        *out = xstrdup(cfg->token);
    return 0;
}

/* ---- copy and free --------------------------------------------------------------------- */

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static kc_blob dup_blob(kc_blob b)
{
    kc_blob r = {NULL, b.len};
    if (b.data) {
        r.data = xmalloc(b.len + 1);
        memcpy(r.data, b.data, b.len);
        r.data[b.len] = '\0';
    }
    return r;
}

kc_config *kc_config_dup(const kc_config *s)
{
    kc_config *c = config_new();
    c->server = dup_or_null(s->server);
    c->server_host = dup_or_null(s->server_host);
    c->server_port = s->server_port;
    c->server_path = dup_or_null(s->server_path);
    c->server_tls = s->server_tls;
    c->tls_server_name = dup_or_null(s->tls_server_name);
    c->insecure_skip_tls_verify = s->insecure_skip_tls_verify;
    c->ca = dup_blob(s->ca);
    c->client_cert = dup_blob(s->client_cert);
    c->client_key = dup_blob(s->client_key);
    c->ca_file = dup_or_null(s->ca_file);
    c->client_cert_file = dup_or_null(s->client_cert_file);
    c->client_key_file = dup_or_null(s->client_key_file);
    c->token = dup_or_null(s->token);
    c->token_file = dup_or_null(s->token_file);
    c->username = dup_or_null(s->username);
    c->password = dup_or_null(s->password);
    c->impersonate_user = dup_or_null(s->impersonate_user);
    c->impersonate_uid = dup_or_null(s->impersonate_uid);
    if (s->impersonate_groups) {
        size_t n = 0;
        while (s->impersonate_groups[n])
            n++;
        c->impersonate_groups = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
            c->impersonate_groups[i] = xstrdup(s->impersonate_groups[i]);
    }
    c->namespace = dup_or_null(s->namespace);
    c->context = dup_or_null(s->context);
    c->cluster = dup_or_null(s->cluster);
    c->user = dup_or_null(s->user);
    c->origin = dup_or_null(s->origin);
    return c;
}

static void free_secret(char *s, size_t len)
{
    if (s)
        explicit_bzero(s, len);
    free(s);
}

void kc_config_free(kc_config *c)
{
    if (!c)
        return;
    free(c->server);
    free(c->server_host);
    free(c->server_path);
    free(c->tls_server_name);
    free(c->ca.data);
    free(c->client_cert.data);
    free_secret(c->client_key.data, c->client_key.len);
    free(c->ca_file);
    free(c->client_cert_file);
    free(c->client_key_file);
    free_secret(c->token, c->token ? strlen(c->token) : 0);
    free(c->token_file);
    free(c->username);
    free_secret(c->password, c->password ? strlen(c->password) : 0);
    free(c->impersonate_user);
    free(c->impersonate_uid);
    for (char **g = c->impersonate_groups; g && *g; g++)
        free(*g);
    free(c->impersonate_groups);
    free(c->namespace);
    free(c->context);
    free(c->cluster);
    free(c->user);
    free(c->origin);
    if (c->token_cache) {
        pthread_mutex_destroy(&c->token_cache->lock);
        free_secret(c->token_cache->token,
                    c->token_cache->token ? strlen(c->token_cache->token) : 0);
        free(c->token_cache);
    }
    free(c);
}

/* ---- documents --------------------------------------------------------------------------- */

int kc_parse_yaml_or_json(const char *data, size_t len, cJSON **out, kn_error **err)
{
    /* client-go decodes kubeconfigs non-strictly: a repeated key keeps its last value */
    return kn_yaml_parse(data, len, 0, NULL, KN_YAML_ALLOW_DUPLICATES, out, err);
}
