/* test-svc-alloc.c - the ClusterIP/NodePort allocation cache follows the
 * store: creates, updates, deletes through the event history, and a full
 * relist once that history is compacted away. */
#include <stdio.h>
#include <string.h>

#include "controlplane/store.h"
#include "controlplane/svc-alloc.h"
#include "test/runner/kt.h"

#define KEY "/registry/core/services/default/"

static char *svc(const char *ip, int nodeport)
{
    static char buf[256];
    snprintf(
        buf, sizeof(buf),
        "{\"metadata\":{\"name\":\"x\"},\"spec\":{\"clusterIP\":\"%s\",\"ports\":[{\"port\":80,"
        "\"nodePort\":%d}]}}",
        ip, nodeport);
    return buf;
}

static int64_t create(kn_store *st, const char *name, const char *value)
{
    char key[128];
    snprintf(key, sizeof(key), KEY "%s", name);
    int64_t rev = 0;
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_store_create(st, key, value, strlen(value), &rev, &err), err);
    return rev;
}

static void sync_ok(kn_svc_alloc *a, kn_store *st)
{
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_svc_alloc_sync(a, st, &err), err);
}

static bool has_ip(kn_svc_alloc *a, uint32_t ip)
{
    size_t n = 0;
    const uint32_t *v = kn_svc_alloc_ips(a, &n);
    for (size_t i = 0; i < n; i++)
        if (v[i] == ip)
            return true;
    return false;
}

#define IP(d) (0x0a600000u | (d)) /* 10.96.0.d */

KT_TEST(svc_alloc, follows_creates_updates_deletes_and_compaction)
{
    char url[512];
    snprintf(url, sizeof(url), "sqlite://%s/alloc.db", kt_tmpdir());
    kn_store *st = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_store_open(url, &st, &err), err);
    create(st, "a", svc("10.96.0.20", 30080));
    kn_svc_alloc *a = kn_svc_alloc_new();
    sync_ok(a, st); /* first: a full list */
    KT_ASSERT(has_ip(a, IP(20)));
    KT_ASSERT(kn_svc_alloc_port_used(a, 30080));
    create(st, "b", svc("10.96.0.21", 30081));
    create(st, "c", svc("None", 0));
    sync_ok(a, st); /* from the event history */
    size_t n = 0;
    const uint32_t *ips = kn_svc_alloc_ips(a, &n);
    KT_ASSERT_EQ(n, 2);
    KT_ASSERT(ips[0] == IP(20) && ips[1] == IP(21)); /* sorted */
    KT_ASSERT(kn_svc_alloc_port_used(a, 30081));
    const char *upd = svc("10.96.0.21", 30090); /* b's NodePort changed */
    int64_t rev = 0;
    KT_ASSERT_OK(kn_store_update(st, KEY "b", upd, strlen(upd), 0, &rev, &err), err);
    KT_ASSERT_OK(kn_store_delete(st, KEY "a", 0, NULL, &rev, &err), err);
    sync_ok(a, st);
    KT_ASSERT(!has_ip(a, IP(20)));
    KT_ASSERT(!kn_svc_alloc_port_used(a, 30080) && !kn_svc_alloc_port_used(a, 30081));
    KT_ASSERT(kn_svc_alloc_port_used(a, 30090));
    /* history compacted past what the cache has seen: it lists again */
    create(st, "d", svc("10.96.0.22", 30091));
    KT_ASSERT_OK(kn_store_compact(st, kn_store_current_rev(st), &err), err);
    sync_ok(a, st);
    KT_ASSERT(has_ip(a, IP(22)) && has_ip(a, IP(21)) && !has_ip(a, IP(20)));
    KT_ASSERT(kn_svc_alloc_port_used(a, 30091));
    KT_ASSERT(!kn_svc_alloc_port_used(a, 29999) && !kn_svc_alloc_port_used(a, 40000));
    kn_svc_alloc_free(a);
    kn_store_close(st);
}
