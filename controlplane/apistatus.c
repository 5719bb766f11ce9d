#include "controlplane/apistatus.h"

#include <stdarg.h>
#include <stdlib.h>

#include "lib/xalloc.h"

void kn_causes_add(kn_causes *c, const char *type, const char *field, const char *fmt, ...)
{
    if (c->len == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 4;
        c->items = xreallocarray(c->items, c->cap, sizeof(*c->items));
    }
    va_list ap;
    va_start(ap, fmt);
    c->items[c->len].type = type;
    c->items[c->len].field = xstrdup(field);
    c->items[c->len].message = xvasprintf(fmt, ap);
    va_end(ap);
    c->len++;
}

void kn_causes_free(kn_causes *c)
{
    for (size_t i = 0; i < c->len; i++) {
        free(c->items[i].field);
        free(c->items[i].message);
    }
    free(c->items);
    c->items = NULL;
    c->len = c->cap = 0;
}

static cJSON *details(const char *group, const char *kind, const char *name,
                      const kn_causes *causes)
{
    cJSON *d = cJSON_CreateObject();
    if (name)
        cJSON_AddStringToObject(d, "name", name);
    if (group)
        cJSON_AddStringToObject(d, "group", group);
    if (kind)
        cJSON_AddStringToObject(d, "kind", kind);
    if (causes && causes->len) {
        cJSON *arr = cJSON_AddArrayToObject(d, "causes");
        for (size_t i = 0; i < causes->len; i++) {
            cJSON *c = cJSON_CreateObject();
            cJSON_AddStringToObject(c, "reason", causes->items[i].type);
            cJSON_AddStringToObject(c, "message", causes->items[i].message);
            cJSON_AddStringToObject(c, "field", causes->items[i].field);
            cJSON_AddItemToArray(arr, c);
        }
    }
    return d;
}

char *kn_status_json(int code, const char *reason, const char *message, const char *group,
                     const char *kind, const char *name, const kn_causes *causes)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "kind", "Status");
    cJSON_AddStringToObject(s, "apiVersion", "v1");
    cJSON_AddItemToObject(s, "metadata", cJSON_CreateObject());
    cJSON_AddStringToObject(s, "status", code < 400 ? "Success" : "Failure");
    cJSON_AddStringToObject(s, "message", message ? message : "");
    if (reason && *reason)
        cJSON_AddStringToObject(s, "reason", reason);
    if (name || kind || (causes && causes->len))
        cJSON_AddItemToObject(s, "details", details(group, kind, name, causes));
    cJSON_AddNumberToObject(s, "code", code);
    char *out = cJSON_PrintUnformatted(s);
    cJSON_Delete(s);
    if (!out)
        kn_oom();
    char *copy = xstrdup(out);
    cJSON_free(out);
    return copy;
}

int kn_status_from_error(kn_errcode code, const char **reason)
{
    static const struct {
        kn_errcode code;
        int http;
        const char *reason;
    } map[] = {
        {KN_EINVAL, 400, "BadRequest"},
        {KN_ENOTFOUND, 404, "NotFound"},
        {KN_EEXIST, 409, "AlreadyExists"},
        {KN_ECONFLICT, 409, "Conflict"},
        {KN_EGONE, 410, "Expired"},
        {KN_EUNAUTHORIZED, 401, "Unauthorized"},
        {KN_EFORBIDDEN, 403, "Forbidden"},
        {KN_ETOOLARGE, 413, "RequestEntityTooLarge"},
        {KN_ETIMEDOUT, 504, "Timeout"},
        {KN_EUNAVAILABLE, 503, "ServiceUnavailable"},
        {KN_ETOOMANY, 429, "TooManyRequests"},
        {KN_EMEDIATYPE, 415, "UnsupportedMediaType"},
        {KN_ENOTSUP, 405, "MethodNotAllowed"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (map[i].code == code) {
            *reason = map[i].reason;
            return map[i].http;
        }
    }
    *reason = "InternalError";
    return 500;
}
