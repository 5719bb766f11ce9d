#include "controlplane/objmeta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "lib/xalloc.h"

static void random_bytes(unsigned char *buf, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t r = getrandom(buf + off, n - off, 0);
        if (r > 0)
            off += (size_t)r;
    }
}

void kn_uuid(char *buf)
{
    unsigned char b[16];
    random_bytes(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

void kn_rfc3339(int64_t wall_ns, char *buf, size_t size)
{
    time_t t;
    if (wall_ns == 0)
        t = time(NULL);
    else
        t = (time_t)(wall_ns / 1000000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t kn_rfc3339_parse(const char *s)
{
    struct tm tm = {0};
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end)
        return -1;
    if (*end == '.')
        while (*++end >= '0' && *end <= '9')
            ;
    if (*end != 'Z' || end[1] != '\0')
        return -1;
    return (int64_t)timegm(&tm) * 1000000000;
}

static bool alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

const char *kn_dns1123_label_error(const char *name)
{
    size_t n = strlen(name);
    if (n == 0)
        return "a lowercase RFC 1123 label must not be empty";
    if (n > 63)
        return "must be no more than 63 characters";
    for (size_t i = 0; i < n; i++) {
        if (!alnum(name[i]) && name[i] != '-')
            return "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                   "characters or '-', and must start and end with an alphanumeric character "
                   "(e.g. 'my-name',  or '123-abc', regex used for validation is "
                   "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    }
    if (!alnum(name[0]) || !alnum(name[n - 1]))
        return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
               "or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  "
               "or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    return NULL;
}

const char *kn_dns1123_subdomain_error(const char *name)
{
    static const char msg[] =
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
        "'-' or '.', and must start and end with an alphanumeric character (e.g. "
        "'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    size_t n = strlen(name);
    if (n == 0)
        return msg;
    if (n > 253)
        return "must be no more than 253 characters";
    for (size_t i = 0; i < n; i++) {
        bool edge = i == 0 || i == n - 1 || name[i - 1] == '.' || name[i + 1] == '.';
        if (name[i] == '.' ? edge : !(alnum(name[i]) || (name[i] == '-' && !edge)))
            return msg;
    }
    return NULL;
}

char *kn_generate_name(const char *prefix)
{
    /* upstream's alphabet: no vowels (no words), no confusable 0/1/3 */
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    unsigned char r[5];
    random_bytes(r, sizeof(r));
    char suffix[6];
    for (int i = 0; i < 5; i++)
        suffix[i] = alphabet[r[i] % (sizeof(alphabet) - 1)];
    suffix[5] = '\0';
    size_t max = 63 - 5;
    return xasprintf("%.*s%s", (int)(strlen(prefix) > max ? max : strlen(prefix)), prefix, suffix);
}

cJSON *kn_meta(cJSON *obj)
{
    cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    if (!cJSON_IsObject(m)) {
        cJSON_DeleteItemFromObjectCaseSensitive(obj, "metadata");
        m = cJSON_AddObjectToObject(obj, "metadata");
    }
    return m;
}

const char *kn_meta_str(const cJSON *obj, const char *field)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, field);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

void kn_meta_set_str(cJSON *obj, const char *field, const char *value)
{
    cJSON *m = kn_meta(obj);
    cJSON_DeleteItemFromObjectCaseSensitive(m, field);
    cJSON_AddStringToObject(m, field, value);
}
