/* lease.c - get-or-create and renew Leases with optimistic concurrency. */
#include "api-client/lease.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api-client/kc-internal.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/duration.h"
#include "lib/json.h"
#include "lib/xalloc.h"

#define KC_LEASE_ATTEMPTS 4

void kc_micro_time_format(int64_t wall_ns, char out[KC_MICRO_TIME_LEN])
{
    time_t secs = (time_t)(wall_ns / KN_NSEC_PER_SEC);
    long us = (long)(wall_ns % KN_NSEC_PER_SEC / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[24];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, KC_MICRO_TIME_LEN, "%s.%06ldZ", base, us);
}

/* Parses "[.fraction](Z|+hh:mm|-hh:mm)" after the seconds. */
static int parse_tail(const char *p, int64_t *frac_ns, int64_t *offset_s)
{
    *frac_ns = 0;
    if (*p == '.') {
        int64_t scale = KN_NSEC_PER_SEC / 10;
        if (!isdigit((unsigned char)*++p))
            return -1;
        for (; isdigit((unsigned char)*p); p++, scale /= 10)
            *frac_ns += (*p - '0') * scale;
    }
    if (*p == 'Z' && !p[1]) {
        *offset_s = 0;
        return 0;
    }
    int hh, mm;
    char sign = *p;
    if ((sign != '+' && sign != '-') || sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2 || strlen(p) != 6)
        return -1;
    *offset_s = (sign == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
    return 0;
}

int kc_micro_time_parse(const char *s, int64_t *wall_ns)
{
    struct tm tm = {0};
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    int64_t frac = 0, off = 0;
    if (!p || parse_tail(p, &frac, &off) < 0)
        return -1;
    *wall_ns = ((int64_t)timegm(&tm) - off) * KN_NSEC_PER_SEC + frac;
    return 0;
}

static cJSON *new_lease(const kc_lease_options *o, const char *now)
{
    cJSON *l = cJSON_CreateObject();
    cJSON_AddStringToObject(l, "apiVersion", "coordination.k8s.io/v1");
    cJSON_AddStringToObject(l, "kind", "Lease");
    cJSON *md = cJSON_AddObjectToObject(l, "metadata");
    cJSON_AddStringToObject(md, "name", o->name);
    cJSON_AddStringToObject(md, "namespace", o->ns);
    if (o->owner)
        cJSON_AddItemToArray(cJSON_AddArrayToObject(md, "ownerReferences"),
                             cJSON_Duplicate(o->owner, true));
    cJSON *spec = cJSON_AddObjectToObject(l, "spec");
    cJSON_AddStringToObject(spec, "holderIdentity", o->holder);
    cJSON_AddNumberToObject(spec, "leaseDurationSeconds", o->duration_s);
    cJSON_AddStringToObject(spec, "acquireTime", now);
    cJSON_AddStringToObject(spec, "renewTime", now);
    cJSON_AddNumberToObject(spec, "leaseTransitions", 0);
    return l;
}

static void set_string(cJSON *obj, const char *key, const char *v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
    cJSON_AddStringToObject(obj, key, v);
}

static void set_number(cJSON *obj, const char *key, double v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
    cJSON_AddNumberToObject(obj, key, v);
}

/* True while the lease is held by someone else and not expired at now. */
static bool held_by_other(const cJSON *spec, const kc_lease_options *o, int64_t now)
{
    const char *holder = NULL, *renew = NULL;
    int64_t dur = 0, renewed = 0;
    kn_json_get_string_opt(spec, "holderIdentity", NULL, &holder, NULL);
    kn_json_get_string_opt(spec, "renewTime", NULL, &renew, NULL);
    kn_json_get_int64_opt(spec, "leaseDurationSeconds", 0, &dur, NULL);
    if (!holder || !*holder || strcmp(holder, o->holder) == 0)
        return false;
    if (!renew || kc_micro_time_parse(renew, &renewed) < 0)
        return false;
    return now < renewed + dur * KN_NSEC_PER_SEC;
}

/* Writes us as the holder into lease (in place). */
static void take_over(cJSON *lease, const kc_lease_options *o, const char *now)
{
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(lease, "spec");
    if (!cJSON_IsObject(spec)) {
        cJSON_DeleteItemFromObjectCaseSensitive(lease, "spec");
        spec = cJSON_AddObjectToObject(lease, "spec");
    }
    const char *holder = NULL;
    int64_t transitions = 0;
    kn_json_get_string_opt(spec, "holderIdentity", NULL, &holder, NULL);
    kn_json_get_int64_opt(spec, "leaseTransitions", 0, &transitions, NULL);
    if (!holder || strcmp(holder, o->holder) != 0) {
        if (holder && *holder)
            set_number(spec, "leaseTransitions", (double)(transitions + 1));
        set_string(spec, "acquireTime", now);
    }
    set_string(spec, "holderIdentity", o->holder);
    set_number(spec, "leaseDurationSeconds", o->duration_s);
    set_string(spec, "renewTime", now);
}

/* One read-modify-write; KN_ECONFLICT / KN_EEXIST mean "try again". */
static int attempt(kc_client *c, const kc_lease_options *o, int64_t now, bool *held, cJSON **out,
                   kn_error **err)
{
    char stamp[KC_MICRO_TIME_LEN];
    kc_micro_time_format(now, stamp);
    cleanup_cjson cJSON *cur = NULL;
    cleanup_error kn_error *e = NULL;
    if (kc_get(c, &kc_res_leases, o->ns, o->name, &cur, &e) < 0) {
        if (kn_error_code(e) != KN_ENOTFOUND)
            return kc_error_move(err, &e);
        cleanup_cjson cJSON *l = new_lease(o, stamp);
        *held = true;
        return kc_create(c, &kc_res_leases, o->ns, l, out, err);
    }
    if (!o->force && held_by_other(cJSON_GetObjectItemCaseSensitive(cur, "spec"), o, now)) {
        *held = false;
        if (out)
            *out = kn_steal_ptr(cur);
        return 0;
    }
    take_over(cur, o, stamp);
    *held = true;
    return kc_update(c, &kc_res_leases, o->ns, NULL, cur, out, err);
}

int kc_lease_acquire(kc_client *c, const kc_lease_options *o, bool *held, cJSON **out,
                     kn_error **err)
{
    int r = 0;
    for (int i = 0; i < KC_LEASE_ATTEMPTS; i++) {
        int64_t now = o->now_ns ? o->now_ns : kn_time_wall_ns();
        cleanup_error kn_error *e = NULL;
        *held = false;
        r = attempt(c, o, now, held, out, &e);
        if (r == 0)
            return 0;
        *held = false;
        kn_errcode code = kn_error_code(e);
        if ((code != KN_ECONFLICT && code != KN_EEXIST) || i == KC_LEASE_ATTEMPTS - 1) {
            kn_error_set(err, code, "lease %s/%s: %s", o->ns, o->name, kn_error_msg(e));
            return r;
        }
    }
    return r;
}
