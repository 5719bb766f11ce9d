/* tracker.c - in-place model updates with a claim index for conflicts. */
#include "netproxy/tracker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"
#include "netproxy/hmap.h"

#define CLAIM_KEY_LEN 20

struct np_tracker {
    np_model *m;
    size_t nconflicts;
    np_hmap *claims; /* claim key -> "ns/name" of the owner */
};

static void claim_key(const np_claim *c, uint8_t key[CLAIM_KEY_LEN])
{
    memset(key, 0, CLAIM_KEY_LEN);
    key[0] = (uint8_t)c->addr.family;
    memcpy(key + 1, c->addr.bytes, 16);
    key[17] = c->proto;
    key[18] = (uint8_t)(c->port >> 8);
    key[19] = (uint8_t)c->port;
}

static char *svc_id(const char *ns, const char *name)
{
    return xasprintf("%s/%s", ns, name);
}

/* Adds (or with add false removes) s's claims to the index. */
static void index_claims(np_tracker *t, const np_service *s, bool add)
{
    np_claim *c = NULL;
    size_t n = np_service_claims(s, &c);
    for (size_t i = 0; i < n; i++) {
        uint8_t key[CLAIM_KEY_LEN];
        claim_key(&c[i], key);
        const char *owner = np_hmap_get(t->claims, key, sizeof(key));
        char *id = svc_id(s->ns, s->name);
        if (add && !owner)
            np_hmap_put(t->claims, key, sizeof(key), id);
        else if (!add && owner && strcmp(owner, id) == 0)
            free(np_hmap_del(t->claims, key, sizeof(key)));
        if (!add || owner)
            free(id);
    }
    free(c);
}

np_tracker *np_tracker_new(np_model *m, size_t nconflicts)
{
    np_tracker *t = xcalloc(1, sizeof(*t));
    t->m = m;
    t->nconflicts = nconflicts;
    t->claims = np_hmap_new();
    for (size_t i = 0; i < m->nservices; i++)
        index_claims(t, &m->services[i], true);
    return t;
}

static void free_owner(const void *k, size_t kl, void *v, void *ud)
{
    (void)k, (void)kl, (void)ud;
    free(v);
}

void np_tracker_free(np_tracker *t)
{
    if (!t)
        return;
    np_hmap_each(t->claims, free_owner, NULL);
    np_hmap_free(t->claims);
    np_model_free(t->m);
    free(t);
}

const np_model *np_tracker_model(const np_tracker *t)
{
    return t->m;
}

/* ---- checks ---- */

static int cmp_claim_q(const void *a, const void *b)
{
    return memcmp(a, b, CLAIM_KEY_LEN);
}

/* s's claim keys, sorted and unique; returns their number. */
static size_t claim_keys(const np_service *s, uint8_t (**out)[CLAIM_KEY_LEN])
{
    np_claim *c = NULL;
    size_t n = s ? np_service_claims(s, &c) : 0;
    uint8_t(*k)[CLAIM_KEY_LEN] = xcalloc(n + 1, CLAIM_KEY_LEN);
    for (size_t i = 0; i < n; i++)
        claim_key(&c[i], k[i]);
    free(c);
    if (n > 1)
        qsort(k, n, CLAIM_KEY_LEN, cmp_claim_q);
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        if (u == 0 || memcmp(k[u - 1], k[i], CLAIM_KEY_LEN) != 0)
            memmove(k[u++], k[i], CLAIM_KEY_LEN);
    }
    *out = k;
    return u;
}

/* True when update u can be applied without deciding a conflict; batch
 * maps the claim keys of the batch's earlier updates to their Service. */
static bool update_ok(np_tracker *t, const np_svc_update *u, np_hmap *batch)
{
    const np_service *old = np_model_find(t->m, u->ns, u->name);
    uint8_t(*ko)[CLAIM_KEY_LEN] = NULL, (*kn)[CLAIM_KEY_LEN] = NULL;
    size_t no = claim_keys(old, &ko), nn = claim_keys(u->svc, &kn);
    /* with conflicts about, anything that moves claims may decide one */
    bool ok = !t->nconflicts || (no == nn && memcmp(ko, kn, no * CLAIM_KEY_LEN) == 0);
    /* an unchanged Service may still be a conflict's loser */
    if (t->nconflicts && u->svc && !old)
        ok = false;
    char *id = svc_id(u->ns, u->name);
    for (size_t i = 0; ok && i < nn; i++) {
        const char *owner = np_hmap_get(t->claims, kn[i], CLAIM_KEY_LEN);
        const char *other = np_hmap_get(batch, kn[i], CLAIM_KEY_LEN);
        ok = (!owner || strcmp(owner, id) == 0) && !other;
        np_hmap_put(batch, kn[i], CLAIM_KEY_LEN, (void *)u);
    }
    free(id);
    free(ko);
    free(kn);
    return ok;
}

/* ---- applying ---- */

static int cmp_service_q(const void *a, const void *b)
{
    const np_service *x = a, *y = b;
    int r = strcmp(x->ns, y->ns);
    return r ? r : strcmp(x->name, y->name);
}

/* Drops the slots whose ns is NULL (removed Services). */
static void compact(np_model *m)
{
    size_t out = 0;
    for (size_t i = 0; i < m->nservices; i++) {
        if (m->services[i].ns)
            m->services[out++] = m->services[i];
    }
    m->nservices = out;
}

static void replace(np_tracker *t, np_service *old, np_svc_update *u, np_svc_change *out,
                    np_service **adds, size_t *nadd)
{
    memset(&out->old, 0, sizeof(out->old));
    if (old) {
        index_claims(t, old, false);
        out->old = *old;
        memset(old, 0, sizeof(*old)); /* a hole, filled or compacted */
    }
    if (!u->svc)
        return;
    index_claims(t, u->svc, true);
    if (old)
        *old = *u->svc;
    else
        (*adds)[(*nadd)++] = *u->svc;
    memset(u->svc, 0, sizeof(*u->svc));
}

bool np_tracker_apply(np_tracker *t, np_svc_update *u, size_t n, np_svc_change *out)
{
    np_hmap *batch = np_hmap_new();
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++)
        ok = update_ok(t, &u[i], batch);
    np_hmap_free(batch);
    if (!ok)
        return false;
    np_model *m = t->m;
    np_service **olds = xcalloc(n + 1, sizeof(*olds));
    for (size_t i = 0; i < n; i++)
        olds[i] = (np_service *)np_model_find(m, u[i].ns, u[i].name);
    np_service *adds = xcalloc(n + 1, sizeof(*adds));
    size_t nadd = 0;
    for (size_t i = 0; i < n; i++)
        replace(t, olds[i], &u[i], &out[i], &adds, &nadd);
    compact(m);
    if (nadd) {
        m->services = xreallocarray(m->services, m->nservices + nadd, sizeof(*m->services));
        memcpy(m->services + m->nservices, adds, nadd * sizeof(*adds));
        m->nservices += nadd;
        qsort(m->services, m->nservices, sizeof(*m->services), cmp_service_q);
    }
    free(adds);
    free(olds);
    for (size_t i = 0; i < n; i++)
        out[i].new = np_model_find(m, u[i].ns, u[i].name);
    return true;
}

void np_svc_changes_free(np_svc_change *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        np_service_free(&c[i].old);
}
