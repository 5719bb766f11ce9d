/* incsync.c - partial syncs: Services rebuilt one by one, rulesets patched. */
#include "netproxy/incsync.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/xalloc.h"
#include "netproxy/ruleset-inc.h"

struct np_incsync {
    np_tracker *t;
    np_config cfg;
    np_rsinc *r[2];
};

static const int FAMILIES[2] = {AF_INET, AF_INET6};

np_incsync *np_incsync_new(np_model *m, size_t nconflicts, const np_config *cfg, bool v4, bool v6)
{
    np_incsync *s = xcalloc(1, sizeof(*s));
    s->cfg = *cfg;
    bool on[2] = {v4, v6};
    for (int f = 0; f < 2; f++) {
        if (!on[f])
            continue;
        s->r[f] = np_rsinc_new(&s->cfg, FAMILIES[f]);
        for (size_t i = 0; i < m->nservices; i++)
            np_rsinc_update(s->r[f], NULL, &m->services[i]);
        np_ruleset *from = NULL, *to = NULL;
        np_rsinc_take_delta(s->r[f], &from, &to); /* already in the kernel */
        np_ruleset_free(from);
        np_ruleset_free(to);
    }
    s->t = np_tracker_new(m, nconflicts);
    return s;
}

void np_incsync_free(np_incsync *s)
{
    if (!s)
        return;
    np_tracker_free(s->t);
    np_rsinc_free(s->r[0]);
    np_rsinc_free(s->r[1]);
    free(s);
}

const np_model *np_incsync_model(const np_incsync *s)
{
    return np_tracker_model(s->t);
}

const np_config *np_incsync_config(const np_incsync *s)
{
    return &s->cfg;
}

/* Service key's new state from the source (NULL: gone or invalid). */
static np_service *rebuild(const np_source *src, const char *key, np_skip_fn on_skip, void *ud)
{
    np_objects svc = {0}, slices = {0};
    src->get_service(src->ud, key, &svc);
    src->slices_of(src->ud, key, &slices);
    np_service *s = np_build_service(svc.n ? svc.v[0] : NULL, slices.v, slices.n, on_skip, ud);
    src->release(src->ud, &slices);
    src->release(src->ud, &svc);
    return s;
}

static void free_updates(np_svc_update *u, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(u[i].ns);
        if (u[i].svc)
            np_service_free(u[i].svc);
        free(u[i].svc);
    }
    free(u);
}

bool np_incsync_update(np_incsync *s, const np_source *src, char *const *keys, size_t n,
                       np_skip_fn on_skip, void *ud, np_inc_result *out)
{
    memset(out, 0, sizeof(*out));
    np_svc_update *u = xcalloc(n + 1, sizeof(*u));
    for (size_t i = 0; i < n; i++) {
        u[i].ns = xstrdup(keys[i]);
        char *slash = strchr(u[i].ns, '/');
        u[i].name = slash ? slash + 1 : u[i].ns + strlen(u[i].ns);
        if (slash)
            *slash = '\0';
        u[i].svc = rebuild(src, keys[i], on_skip, ud);
    }
    np_svc_change *ch = xcalloc(n + 1, sizeof(*ch));
    if (!np_tracker_apply(s->t, u, n, ch)) {
        free(ch);
        free_updates(u, n);
        return false;
    }
    for (int f = 0; f < 2; f++) {
        if (!s->r[f])
            continue;
        for (size_t i = 0; i < n; i++)
            np_rsinc_update(s->r[f], ch[i].old.ns ? &ch[i].old : NULL, ch[i].new);
        np_rsinc_take_delta(s->r[f], &out->from[f], &out->to[f]);
        out->elements += np_rsinc_elements(s->r[f]);
    }
    free_updates(u, n);
    out->nchanges = n;
    out->changes = ch;
    return true;
}

void np_inc_result_free(np_inc_result *r)
{
    for (int f = 0; f < 2; f++) {
        np_ruleset_free(r->from[f]);
        np_ruleset_free(r->to[f]);
    }
    np_svc_changes_free(r->changes, r->nchanges);
    free(r->changes);
    memset(r, 0, sizeof(*r));
}
