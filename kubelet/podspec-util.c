/* podspec-util.c - decoder primitives, upstream name validators, QoS, image
 * references and timestamps for podspec.c. */
#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kubelet/podspec-internal.h"
#include "lib/xalloc.h"

/* ---- decoder primitives ------------------------------------------------------------------ */

bool kl_dec_fail(kl_dec *d, const char *key, const char *fmt, ...)
{
    if (d->failed)
        return false;
    d->failed = true;
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    const char *sep = d->path.len && key ? "." : "";
    kn_error_set(d->err, KN_EINVAL, "%s%s%s: %s", d->path.data, sep, key ? key : "", msg);
    free(msg);
    return false;
}

bool kl_dec_invalid(kl_dec *d, const char *key, const char *value, const char *why)
{
    return kl_dec_fail(d, key, "Invalid value: \"%s\": %s", value, why);
}

size_t kl_dec_push(kl_dec *d, const char *key)
{
    size_t mark = d->path.len;
    if (d->path.len)
        kn_buf_append_char(&d->path, '.');
    kn_buf_append_str(&d->path, key);
    return mark;
}

size_t kl_dec_push_idx(kl_dec *d, size_t i)
{
    size_t mark = d->path.len;
    kn_buf_appendf(&d->path, "[%zu]", i);
    return mark;
}

void kl_dec_pop(kl_dec *d, size_t mark)
{
    kn_buf_truncate(&d->path, mark);
}

const cJSON *kl_member(const cJSON *obj, const char *key)
{
    if (!obj || !cJSON_IsObject(obj))
        return NULL;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, key);
    return m && !cJSON_IsNull(m) ? m : NULL;
}

static const char *type_name(const cJSON *v)
{
    if (cJSON_IsBool(v))
        return "bool";
    if (cJSON_IsNumber(v))
        return "number";
    if (cJSON_IsString(v))
        return "string";
    if (cJSON_IsArray(v))
        return "array";
    if (cJSON_IsObject(v))
        return "object";
    return "null";
}

static bool wrong_type(kl_dec *d, const char *key, const char *want, const cJSON *v)
{
    return kl_dec_fail(d, key, "expected %s, got %s", want, type_name(v));
}

bool kl_dec_str(kl_dec *d, const cJSON *obj, const char *key, char **out)
{
    const cJSON *m = kl_member(obj, key);
    if (d->failed || !m)
        return !d->failed;
    if (!cJSON_IsString(m))
        return wrong_type(d, key, "string", m);
    free(*out);
    *out = xstrdup(m->valuestring);
    return true;
}

bool kl_dec_bool(kl_dec *d, const cJSON *obj, const char *key, bool *out)
{
    kl_opt_bool b = {0};
    if (!kl_dec_opt_bool(d, obj, key, &b))
        return false;
    if (b.set)
        *out = b.v;
    return true;
}

bool kl_dec_opt_bool(kl_dec *d, const cJSON *obj, const char *key, kl_opt_bool *out)
{
    const cJSON *m = kl_member(obj, key);
    if (d->failed || !m)
        return !d->failed;
    if (!cJSON_IsBool(m))
        return wrong_type(d, key, "bool", m);
    out->set = true;
    out->v = cJSON_IsTrue(m);
    return true;
}

bool kl_dec_opt_i64(kl_dec *d, const cJSON *obj, const char *key, kl_opt_i64 *out)
{
    const cJSON *m = kl_member(obj, key);
    if (d->failed || !m)
        return !d->failed;
    if (!cJSON_IsNumber(m))
        return wrong_type(d, key, "integer", m);
    double v = m->valuedouble;
    if (!isfinite(v) || v != floor(v))
        return kl_dec_fail(d, key, "expected integer, got %g", v);
    if (fabs(v) > 9007199254740991.0)
        return kl_dec_fail(d, key, "integer %g is out of range", v);
    out->set = true;
    out->v = (int64_t)v;
    return true;
}

bool kl_dec_opt_id(kl_dec *d, const cJSON *obj, const char *key, kl_opt_i64 *out)
{
    if (!kl_dec_opt_i64(d, obj, key, out))
        return false;
    if (out->set && (out->v < 0 || out->v > 2147483647))
        return kl_dec_fail(d, key,
                           "Invalid value: %lld: must be between 0 and 2147483647, "
                           "inclusive",
                           (long long)out->v);
    return true;
}

bool kl_dec_strv(kl_dec *d, const cJSON *obj, const char *key, kl_strv *out)
{
    const cJSON *arr = kl_dec_arr(d, obj, key);
    if (!arr)
        return !d->failed;
    size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
    out->v = xcalloc(n + 1, sizeof(char *));
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        if (!cJSON_IsString(e)) {
            size_t mark = kl_dec_push(d, key);
            kl_dec_push_idx(d, i);
            wrong_type(d, NULL, "string", e);
            kl_dec_pop(d, mark);
            return false;
        }
        out->v[out->n++] = xstrdup(e->valuestring);
        i++;
    }
    return true;
}

bool kl_dec_map(kl_dec *d, const cJSON *obj, const char *key, kl_map *out)
{
    const cJSON *m = kl_dec_obj(d, obj, key);
    if (!m)
        return !d->failed;
    size_t n = (size_t)cJSON_GetArraySize(m);
    out->items = xcalloc(n ? n : 1, sizeof(kl_kv));
    const cJSON *e;
    cJSON_ArrayForEach(e, m)
    {
        if (!cJSON_IsString(e)) {
            size_t mark = kl_dec_push(d, key);
            kn_buf_appendf(&d->path, "[%s]", e->string);
            wrong_type(d, NULL, "string", e);
            kl_dec_pop(d, mark);
            return false;
        }
        out->items[out->n].key = xstrdup(e->string);
        out->items[out->n++].value = xstrdup(e->valuestring);
    }
    return true;
}

const cJSON *kl_dec_obj(kl_dec *d, const cJSON *obj, const char *key)
{
    const cJSON *m = kl_member(obj, key);
    if (d->failed || !m)
        return NULL;
    if (!cJSON_IsObject(m)) {
        wrong_type(d, key, "object", m);
        return NULL;
    }
    return m;
}

const cJSON *kl_dec_arr(kl_dec *d, const cJSON *obj, const char *key)
{
    const cJSON *m = kl_member(obj, key);
    if (d->failed || !m)
        return NULL;
    if (!cJSON_IsArray(m)) {
        wrong_type(d, key, "array", m);
        return NULL;
    }
    return m;
}

void kl_strv_clear(kl_strv *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->v[i]);
    free(v->v);
    v->v = NULL;
    v->n = 0;
}

void kl_map_clear(kl_map *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->items[i].key);
        free(m->items[i].value);
    }
    free(m->items);
    m->items = NULL;
    m->n = 0;
}

const char *kl_map_get(const kl_map *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->items[i].key, key) == 0)
            return m->items[i].value;
    return NULL;
}

const kn_quantity *kl_resource_get(const kl_resource_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i].name, name) == 0)
            return &l->items[i].q;
    return NULL;
}

/* ---- validators (upstream messages) --------------------------------------------------------- */

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
    return isalnum((unsigned char)c) != 0;
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? on s[0..n) */
static bool dns_label_ok(const char *s, size_t n)
{
    if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_lower_alnum(s[i]) && s[i] != '-')
            return false;
    return true;
}

const char *kl_check_dns1123_label(const char *s)
{
    if (strlen(s) > 63)
        return "must be no more than 63 characters";
    if (!dns_label_ok(s, strlen(s)))
        return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
               "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
               "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    return NULL;
}

const char *kl_check_dns1123_subdomain(const char *s)
{
    static const char msg[] =
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
        "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
        "used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    size_t len = strlen(s);
    if (len > 253)
        return "must be no more than 253 characters";
    if (len == 0)
        return msg;
    for (const char *p = s;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (!dns_label_ok(p, n))
            return msg;
        if (!dot)
            return NULL;
        p = dot + 1;
    }
}

const char *kl_check_env_var_name(const char *s)
{
    static const char msg[] =
        "a valid environment variable name must consist of alphabetic characters, digits, '_', "
        "'-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or "
        "'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')";
    if (!s[0] || isdigit((unsigned char)s[0]))
        return msg;
    for (const char *p = s; *p; p++)
        if (!is_alnum(*p) && *p != '-' && *p != '.' && *p != '_')
            return msg;
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || strncmp(s, "..", 2) == 0)
        return "must not be '.' or '..' and must not start with '..'";
    return NULL;
}

/* IANA_SVC_NAME: at most 15 lowercase alphanumerics or '-', at least one
 * letter, no "--", no leading or trailing '-'. */
const char *kl_check_port_name(const char *s)
{
    size_t n = strlen(s);
    if (n > 15)
        return "must be no more than 15 characters";
    bool letter = false;
    for (size_t i = 0; i < n; i++) {
        if (!is_lower_alnum(s[i]) && s[i] != '-')
            return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)";
        letter |= s[i] >= 'a' && s[i] <= 'z';
    }
    if (strstr(s, "--"))
        return "must not contain consecutive hyphens";
    if (n && (s[0] == '-' || s[n - 1] == '-'))
        return "must not begin or end with a hyphen";
    if (!letter)
        return "must contain at least one letter (a-z)";
    return NULL;
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] on s[0..n) */
static bool name_part_ok(const char *s, size_t n)
{
    if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    return true;
}

const char *kl_check_qualified_name(const char *s)
{
    const char *slash = strchr(s, '/');
    const char *name = slash ? slash + 1 : s;
    if (slash) {
        char *prefix = xstrndup(s, (size_t)(slash - s));
        const char *bad =
            prefix[0] ? kl_check_dns1123_subdomain(prefix) : "prefix part must be non-empty";
        free(prefix);
        if (bad)
            return "prefix part a lowercase RFC 1123 subdomain must consist of lower case "
                   "alphanumeric characters, '-' or '.', and must start and end with an "
                   "alphanumeric character";
        if (strchr(name, '/'))
            return "a qualified name must consist of alphanumeric characters, '-', '_' or '.', "
                   "and must start and end with an alphanumeric character";
    }
    if (strlen(name) > 63)
        return "name part must be no more than 63 characters";
    if (!name_part_ok(name, strlen(name)))
        return "name part must consist of alphanumeric characters, '-', '_' or '.', and must "
               "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
               "'123-abc', regex used for validation is "
               "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    return NULL;
}

const char *kl_check_label_value(const char *s)
{
    size_t n = strlen(s);
    if (n > 63)
        return "must be no more than 63 characters";
    if (n && !name_part_ok(s, n))
        return "a valid label must be an empty string or consist of alphanumeric characters, '-', "
               "'_' or '.', and must start and end with an alphanumeric character (e.g. "
               "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
               "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
    return NULL;
}

bool kl_is_ip(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* ---- names of enums ----------------------------------------------------------------------- */

const char *kl_qos_name(kl_qos_class q)
{
    switch (q) {
    case KL_QOS_GUARANTEED:
        return "Guaranteed";
    case KL_QOS_BURSTABLE:
        return "Burstable";
    case KL_QOS_BEST_EFFORT:
        break;
    }
    return "BestEffort";
}

const char *kl_restart_policy_name(kl_restart_policy p)
{
    switch (p) {
    case KL_RESTART_ALWAYS:
        return "Always";
    case KL_RESTART_ON_FAILURE:
        return "OnFailure";
    case KL_RESTART_NEVER:
        break;
    }
    return "Never";
}

const char *kl_protocol_name(kl_protocol p)
{
    switch (p) {
    case KL_PROTO_TCP:
        return "TCP";
    case KL_PROTO_UDP:
        return "UDP";
    case KL_PROTO_SCTP:
        break;
    }
    return "SCTP";
}

/* ---- QoS (upstream GetPodQOS) ----------------------------------------------------------- */

typedef struct qos_sum {
    kn_quantity q[2]; /* cpu, memory */
    bool set[2];
} qos_sum;

static const char *const qos_resources[2] = {"cpu", "memory"};

/* Adds the positive cpu/memory quantities of l to s; returns a bit set of
 * the resources found (1 cpu, 2 memory). */
static unsigned qos_add(qos_sum *s, const kl_resource_list *l)
{
    unsigned found = 0;
    for (int r = 0; r < 2; r++) {
        const kn_quantity *q = kl_resource_get(l, qos_resources[r]);
        if (!q || kn_quantity_sign(q) <= 0)
            continue;
        found |= 1u << r;
        if (!s->set[r]) {
            s->q[r] = *q;
            s->set[r] = true;
        } else if (kn_quantity_add(&s->q[r], q, NULL) < 0) {
            /* beyond the quantity bound: saturate, the comparison below
             * still sees "very large" */
            s->q[r] = kn_quantity_from_int(INT64_MAX, KN_QUANTITY_DECIMAL_SI);
        }
    }
    return found;
}

static void qos_walk(const kl_container *cs, size_t n, qos_sum *req, qos_sum *lim, bool *guaranteed)
{
    for (size_t i = 0; i < n; i++) {
        qos_add(req, &cs[i].resources.requests);
        if (qos_add(lim, &cs[i].resources.limits) != 3)
            *guaranteed = false;
    }
}

kl_qos_class kl_pod_compute_qos(const kl_pod *pod)
{
    qos_sum req = {0}, lim = {0};
    bool guaranteed = true;
    qos_walk(pod->containers, pod->n_containers, &req, &lim, &guaranteed);
    qos_walk(pod->init_containers, pod->n_init_containers, &req, &lim, &guaranteed);
    if (!req.set[0] && !req.set[1] && !lim.set[0] && !lim.set[1])
        return KL_QOS_BEST_EFFORT;
    if (guaranteed) {
        for (int r = 0; r < 2; r++)
            if (req.set[r] && (!lim.set[r] || kn_quantity_cmp(&lim.q[r], &req.q[r]) != 0))
                guaranteed = false;
    }
    int nreq = req.set[0] + req.set[1], nlim = lim.set[0] + lim.set[1];
    return guaranteed && nreq == nlim ? KL_QOS_GUARANTEED : KL_QOS_BURSTABLE;
}

/* ---- pod predicates ------------------------------------------------------------------------ */

bool kl_pod_is_static(const kl_pod *pod)
{
    const char *src = kl_map_get(&pod->annotations, KL_ANN_CONFIG_SOURCE);
    return src && strcmp(src, "api") != 0;
}

bool kl_pod_is_critical(const kl_pod *pod)
{
    if (kl_pod_is_static(pod) || kl_map_get(&pod->annotations, KL_ANN_CONFIG_MIRROR))
        return true;
    return pod->priority.set && pod->priority.v >= 2000000000;
}

int64_t kl_pod_grace_period(const kl_pod *pod)
{
    int64_t g = pod->deletion_grace_s.set ? pod->deletion_grace_s.v : pod->termination_grace_s;
    return g < 0 ? 1 : g;
}

const kl_container *kl_pod_container(const kl_pod *pod, const char *name, bool *is_init)
{
    for (size_t i = 0; i < pod->n_init_containers; i++)
        if (strcmp(pod->init_containers[i].name, name) == 0) {
            if (is_init)
                *is_init = true;
            return &pod->init_containers[i];
        }
    for (size_t i = 0; i < pod->n_containers; i++)
        if (strcmp(pod->containers[i].name, name) == 0) {
            if (is_init)
                *is_init = false;
            return &pod->containers[i];
        }
    return NULL;
}

/* ---- image references --------------------------------------------------------------------- */

static bool path_component_ok(const char *s, size_t n)
{
    /* [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
    size_t i = 0;
    for (;;) {
        size_t start = i;
        while (i < n && is_lower_alnum(s[i]))
            i++;
        if (i == start)
            return false;
        if (i == n)
            return true;
        if (s[i] == '.')
            i++;
        else if (s[i] == '_')
            i += i + 1 < n && s[i + 1] == '_' ? 2 : 1;
        else if (s[i] == '-')
            while (i < n && s[i] == '-')
                i++;
        else
            return false;
    }
}

static bool domain_ok(const char *s, size_t n)
{
    /* host[:port]; host labels of alphanumerics and '-', or [ipv6] */
    if (n == 0)
        return false;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', n);
        return close != NULL;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ':') {
            if (i + 1 >= n)
                return false;
            for (size_t k = i + 1; k < n; k++)
                if (!isdigit((unsigned char)s[k]))
                    return false;
            return i > 0;
        }
        if (!is_alnum(c) && c != '-' && c != '.')
            return false;
    }
    return true;
}

static bool digest_ok(const char *s)
{
    /* algorithm:hex (at least 32 hex digits) */
    const char *colon = strchr(s, ':');
    if (!colon || colon == s)
        return false;
    for (const char *p = s; p < colon; p++)
        if (!is_lower_alnum(*p) && *p != '+' && *p != '.' && *p != '_' && *p != '-')
            return false;
    size_t hex = strlen(colon + 1);
    if (hex < 32)
        return false;
    for (const char *p = colon + 1; *p; p++)
        if (!isxdigit((unsigned char)*p))
            return false;
    return true;
}

static bool tag_ok(const char *s, size_t n)
{
    /* [\w][\w.-]{0,127} */
    if (n == 0 || n > 128 || !(is_alnum(s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
            return false;
    return true;
}

/* Checks the name part (before tag/digest): [domain/]component(/component)*. */
static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 255)
        return false;
    const char *slash = memchr(s, '/', n);
    if (slash) {
        size_t dl = (size_t)(slash - s);
        /* the first component is a domain if it has '.' or ':' or is "localhost" */
        bool is_domain = memchr(s, '.', dl) || memchr(s, ':', dl) ||
                         (dl == 9 && strncmp(s, "localhost", 9) == 0) || memchr(s, '[', dl);
        if (is_domain) {
            if (!domain_ok(s, dl))
                return false;
            s = slash + 1;
            n -= dl + 1;
        }
    }
    while (n > 0) {
        const char *sl = memchr(s, '/', n);
        size_t cl = sl ? (size_t)(sl - s) : n;
        if (!path_component_ok(s, cl))
            return false;
        if (!sl)
            return true;
        s = sl + 1;
        n -= cl + 1;
        if (n == 0)
            return false;
    }
    return false;
}

bool kl_image_parse(const char *ref, char *tag, size_t tag_size, bool *has_digest)
{
    if (!ref || !*ref)
        return false;
    const char *at = strchr(ref, '@');
    size_t len = at ? (size_t)(at - ref) : strlen(ref);
    if (at && !digest_ok(at + 1))
        return false;
    /* a tag is after the last ':' that follows the last '/' */
    const char *last_slash = NULL;
    for (const char *p = ref; p < ref + len; p++)
        if (*p == '/')
            last_slash = p;
    const char *colon = NULL;
    for (const char *p = last_slash ? last_slash : ref; p < ref + len; p++)
        if (*p == ':')
            colon = p;
    size_t name_len = colon ? (size_t)(colon - ref) : len;
    if (!name_ok(ref, name_len))
        return false;
    if (colon && !tag_ok(colon + 1, len - name_len - 1))
        return false;
    if (has_digest)
        *has_digest = at != NULL;
    if (tag && tag_size) {
        if (colon)
            snprintf(tag, tag_size, "%.*s", (int)(len - name_len - 1), colon + 1);
        else
            snprintf(tag, tag_size, "%s", at ? "" : "latest");
    }
    return true;
}

char *kl_image_with_default_tag(const char *ref)
{
    char tag[130];
    bool digest = false;
    if (!kl_image_parse(ref, tag, sizeof(tag), &digest))
        return NULL;
    const char *at = strchr(ref, '@');
    const char *last_slash = strrchr(ref, '/');
    const char *colon = strchr(last_slash ? last_slash : ref, ':');
    bool has_tag = colon && (!at || colon < at);
    if (has_tag || digest)
        return xstrdup(ref);
    return xasprintf("%s:latest", ref);
}

/* ---- RFC 3339 ------------------------------------------------------------------------------ */

static bool read_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool expect(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

static bool parse_offset(const char **p, int64_t *off_s)
{
    if (**p == 'Z' || **p == 'z') {
        (*p)++;
        *off_s = 0;
        return true;
    }
    int sign = **p == '+' ? 1 : **p == '-' ? -1 : 0, hh, mm;
    if (!sign)
        return false;
    (*p)++;
    if (!read_digits(p, 2, &hh) || !expect(p, ':') || !read_digits(p, 2, &mm) || hh > 23 || mm > 59)
        return false;
    *off_s = sign * (hh * 3600 + mm * 60);
    return true;
}

bool kl_parse_rfc3339(const char *s, int64_t *ns)
{
    const char *p = s;
    struct tm tm = {0};
    int y, mo, d, h, mi, sec;
    if (!read_digits(&p, 4, &y) || !expect(&p, '-') || !read_digits(&p, 2, &mo) ||
        !expect(&p, '-') || !read_digits(&p, 2, &d) || (*p != 'T' && *p != 't'))
        return false;
    p++;
    if (!read_digits(&p, 2, &h) || !expect(&p, ':') || !read_digits(&p, 2, &mi) ||
        !expect(&p, ':') || !read_digits(&p, 2, &sec))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return false;
    int64_t frac = 0;
    if (*p == '.') {
        p++;
        int digits = 0;
        while (isdigit((unsigned char)*p)) {
            if (digits < 9) {
                frac = frac * 10 + (*p - '0');
                digits++;
            }
            p++;
        }
        if (!digits)
            return false;
        for (; digits < 9; digits++)
            frac *= 10;
    }
    int64_t off = 0;
    if (!parse_offset(&p, &off) || *p)
        return false;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    int64_t t = (int64_t)timegm(&tm) - off;
    if (t >= INT64_MAX / 1000000000 || t <= INT64_MIN / 1000000000)
        return false; /* beyond 2262: not representable in ns */
    *ns = t * 1000000000 + frac;
    return true;
}
