/* status.c - decoding meta/v1 Status and mapping it to error kinds. */
#include "api-client/status.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "api-client/kc-internal.h"
#include "lib/cleanup.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

static int opt_string(const cJSON *obj, const char *key, const char *path, char **out,
                      kn_error **err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return kn_error_set(err, KN_EINVAL, "Status: %s%s: expected a string", path, key);
    *out = xstrdup(v->valuestring);
    return 0;
}

static int opt_int(const cJSON *obj, const char *key, const char *path, int *out, kn_error **err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= INT_MIN && v->valuedouble <= INT_MAX) ||
        v->valuedouble != (double)(int)v->valuedouble)
        return kn_error_set(err, KN_EINVAL, "Status: %s%s: expected a 32-bit integer", path, key);
    *out = (int)v->valuedouble;
    return 0;
}

static int decode_causes(const cJSON *list, kc_status *s, kn_error **err)
{
    if (!list || cJSON_IsNull(list))
        return 0;
    if (!cJSON_IsArray(list))
        return kn_error_set(err, KN_EINVAL, "Status: details.causes: expected a list");
    s->causes = xcalloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(*s->causes));
    const cJSON *it;
    cJSON_ArrayForEach(it, list)
    {
        char path[48];
        snprintf(path, sizeof(path), "details.causes[%zu].", s->ncauses);
        if (!cJSON_IsObject(it))
            return kn_error_set(err, KN_EINVAL, "Status: %.*s: expected a mapping",
                                (int)strlen(path) - 1, path);
        kc_status_cause *c = &s->causes[s->ncauses++];
        if (opt_string(it, "reason", path, &c->reason, err) < 0 ||
            opt_string(it, "message", path, &c->message, err) < 0 ||
            opt_string(it, "field", path, &c->field, err) < 0)
            return -KN_EINVAL;
    }
    return 0;
}

static int decode_details(const cJSON *d, kc_status *s, kn_error **err)
{
    if (!d || cJSON_IsNull(d))
        return 0;
    if (!cJSON_IsObject(d))
        return kn_error_set(err, KN_EINVAL, "Status: details: expected a mapping");
    if (opt_string(d, "name", "details.", &s->name, err) < 0 ||
        opt_string(d, "group", "details.", &s->group, err) < 0 ||
        opt_string(d, "kind", "details.", &s->kind, err) < 0 ||
        opt_string(d, "uid", "details.", &s->uid, err) < 0 ||
        opt_int(d, "retryAfterSeconds", "details.", &s->retry_after_seconds, err) < 0)
        return -KN_EINVAL;
    return decode_causes(cJSON_GetObjectItemCaseSensitive(d, "causes"), s, err);
}

static int decode_fields(const cJSON *obj, kc_status *s, kn_error **err)
{
    if (!cJSON_IsObject(obj))
        return kn_error_set(err, KN_EINVAL, "Status: expected a JSON object");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
    if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "Status") != 0)
        return kn_error_set(err, KN_EINVAL, "Status: kind: expected \"Status\"");
    if (opt_int(obj, "code", "", &s->code, err) < 0 ||
        opt_string(obj, "status", "", &s->status, err) < 0 ||
        opt_string(obj, "reason", "", &s->reason, err) < 0 ||
        opt_string(obj, "message", "", &s->message, err) < 0)
        return -KN_EINVAL;
    return decode_details(cJSON_GetObjectItemCaseSensitive(obj, "details"), s, err);
}

int kc_status_from_json(const cJSON *obj, kc_status *out, kn_error **err)
{
    memset(out, 0, sizeof(*out));
    if (decode_fields(obj, out, err) < 0) {
        kc_status_clear(out);
        return kc_fail(err);
    }
    return 0;
}

int kc_status_decode(const char *body, size_t len, kc_status *out, kn_error **err)
{
    memset(out, 0, sizeof(*out));
    cJSON *doc = NULL;
    if (kc_json_parse(body, len, KC_STATUS_MAX_BODY, &doc, err) < 0)
        return kn_error_wrap(err, "Status");
    int r = kc_status_from_json(doc, out, err);
    cJSON_Delete(doc);
    return r;
}

void kc_status_clear(kc_status *s)
{
    free(s->status);
    free(s->reason);
    free(s->message);
    free(s->name);
    free(s->group);
    free(s->kind);
    free(s->uid);
    for (size_t i = 0; i < s->ncauses; i++) {
        free(s->causes[i].reason);
        free(s->causes[i].message);
        free(s->causes[i].field);
    }
    free(s->causes);
    memset(s, 0, sizeof(*s));
}

kn_errcode kc_status_errcode(int code, const char *reason)
{
    if (reason) {
        static const struct {
            const char *reason;
            kn_errcode code;
        } by_reason[] = {
            {"AlreadyExists", KN_EEXIST},
            {"Conflict", KN_ECONFLICT},
            {"Expired", KN_EGONE},
            {"Gone", KN_EGONE},
            {"NotFound", KN_ENOTFOUND},
            {"Unauthorized", KN_EUNAUTHORIZED},
            {"Forbidden", KN_EFORBIDDEN},
            {"Invalid", KN_EINVAL},
            {"BadRequest", KN_EINVAL},
            {"TooManyRequests", KN_ETOOMANY},
            {"Timeout", KN_ETIMEDOUT},
            {"ServerTimeout", KN_ETIMEDOUT},
            {"RequestEntityTooLarge", KN_ETOOLARGE},
            {"MethodNotAllowed", KN_ENOTSUP},
            {"NotAcceptable", KN_ENOTSUP},
            {"UnsupportedMediaType", KN_ENOTSUP},
            {"ServiceUnavailable", KN_EUNAVAILABLE},
        };
        for (size_t i = 0; i < KN_ARRAY_SIZE(by_reason); i++)
            if (strcmp(reason, by_reason[i].reason) == 0)
                return by_reason[i].code;
    }
    switch (code) {
    case 400:
    case 422:
        return KN_EINVAL;
    case 401:
        return KN_EUNAUTHORIZED;
    case 403:
        return KN_EFORBIDDEN;
    case 404:
        return KN_ENOTFOUND;
    case 405:
    case 406:
    case 415:
        return KN_ENOTSUP;
    case 409:
        return KN_ECONFLICT;
    case 410:
        return KN_EGONE;
    case 413:
        return KN_ETOOLARGE;
    case 429:
        return KN_ETOOMANY;
    case 504:
        return KN_ETIMEDOUT;
    default:
        return code >= 500 ? KN_EUNAVAILABLE : KN_EINTERNAL;
    }
}

static const char *http_phrase(int code)
{
    switch (code) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 413:
        return "Request Entity Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "";
    }
}

int kc_status_error_from(const kc_status *s, int http_code, const char *what, kn_error **err)
{
    int code = s->code ? s->code : http_code;
    cleanup_buf kn_buf b = KN_BUF_INIT;
    if (what)
        kn_buf_appendf(&b, "%s: ", what);
    kn_buf_appendf(&b, "%d %s", code, s->reason ? s->reason : http_phrase(code));
    if (s->message)
        kn_buf_appendf(&b, ": %s", s->message);
    for (size_t i = 0; i < s->ncauses; i++) {
        const kc_status_cause *c = &s->causes[i];
        kn_buf_appendf(&b, "; %s%s%s", c->field ? c->field : "", c->field ? ": " : "",
                       c->message ? c->message : (c->reason ? c->reason : ""));
    }
    return kn_error_set(err, kc_status_errcode(code, s->reason), "%s", b.data);
}

/* The first bytes of a non-Status body, printable characters only. */
static void append_excerpt(kn_buf *b, const char *body, size_t len)
{
    size_t n = len < 120 ? len : 120;
    kn_buf_append_str(b, " (body: \"");
    for (size_t i = 0; i < n; i++)
        kn_buf_append_char(b, isprint((unsigned char)body[i]) ? body[i] : '.');
    kn_buf_append_str(b, len > n ? "\"...)" : "\")");
}

int kc_status_error(int http_code, const char *body, size_t len, const char *what, kn_error **err)
{
    kc_status s;
    cleanup_error kn_error *e = NULL;
    if (body && len && kc_status_decode(body, len, &s, &e) == 0) {
        int r = kc_status_error_from(&s, http_code, what, err);
        kc_status_clear(&s);
        return r;
    }
    cleanup_buf kn_buf b = KN_BUF_INIT;
    if (what)
        kn_buf_appendf(&b, "%s: ", what);
    kn_buf_appendf(&b, "%d %s", http_code, http_phrase(http_code));
    if (body && len)
        append_excerpt(&b, body, len);
    return kn_error_set(err, kc_status_errcode(http_code, NULL), "%s", b.data);
}
