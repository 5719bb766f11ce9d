/* ruleset-inc.c - the incremental ruleset: reference-counted elements and
 * chains, and the record of what changed since the last delta. */
#include "netproxy/ruleset-inc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"
#include "netproxy/hmap.h"

/* One element value of a key and how many Services contribute it. */
typedef struct variant {
    np_elem e;
    uint32_t refs;
} variant;

typedef struct set_ent {
    np_set def; /* without elements */
    uint32_t id;
    uint32_t refs; /* Services whose part defines the set */
    bool fixed;    /* in the base: always exists */
    bool touched, existed_before;
    np_set before_def;
    long from_idx, to_idx; /* scratch while a delta or ruleset is built */
} set_ent;

typedef struct elem_ent {
    set_ent *set;
    uint32_t nvar, capvar;
    variant *var;
    bool touched, had_before;
    np_elem before;
} elem_ent;

typedef struct chain_ent {
    np_chain c;
    uint32_t refs; /* Services whose part has the chain */
    bool base;
    bool touched, had_before;
    np_chain before;
} chain_ent;

/* A growing array of pointers. */
typedef struct ptrs {
    size_t n, cap;
    void **v;
} ptrs;

struct np_rsinc {
    np_config cfg;
    int family;
    np_hmap *sets, *elems, *chains;
    uint32_t next_id;
    ptrs tsets, telems, tchains;
    size_t nep, nsc; /* count maps in use when the base chains were built */
    bool *ep_used, *sc_used;
};

static void ptrs_push(ptrs *p, void *x)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->v = xreallocarray(p->v, p->cap, sizeof(*p->v));
    }
    p->v[p->n++] = x;
}

static bool set_exists(const set_ent *s)
{
    return s->fixed || s->refs > 0;
}

static void chain_copy(np_chain *dst, const np_chain *src)
{
    *dst = *src;
    dst->cap = src->nrules;
    dst->rules = xcalloc(src->nrules + 1, sizeof(*src->rules));
    memcpy(dst->rules, src->rules, src->nrules * sizeof(*src->rules));
}

static bool chain_same(const np_chain *a, const np_chain *b)
{
    if (a->hook != b->hook || a->nat != b->nat || a->priority != b->priority ||
        a->nrules != b->nrules)
        return false;
    for (size_t i = 0; i < a->nrules; i++) {
        if (strcmp(a->rules[i].comment, b->rules[i].comment) != 0)
            return false;
    }
    return true;
}

/* The element of a key that goes into the kernel: the smallest value. */
static const np_elem *effective(const elem_ent *e)
{
    const np_elem *best = NULL;
    for (uint32_t i = 0; i < e->nvar; i++) {
        if (!best || np_elem_data_cmp(&e->var[i].e, best) < 0)
            best = &e->var[i].e;
    }
    return best;
}

/* ---- touching: the state before the first change of this delta ---- */

static void touch_set(np_rsinc *r, set_ent *s)
{
    if (s->touched)
        return;
    s->touched = true;
    s->existed_before = set_exists(s);
    s->before_def = s->def;
    ptrs_push(&r->tsets, s);
}

static void touch_elem(np_rsinc *r, elem_ent *e)
{
    if (e->touched)
        return;
    e->touched = true;
    const np_elem *cur = effective(e);
    e->had_before = cur != NULL;
    if (cur) {
        e->before = *cur;
        e->before.chain = cur->chain ? xstrdup(cur->chain) : NULL;
    }
    ptrs_push(&r->telems, e);
    touch_set(r, e->set);
}

/* An element's value without data: keeps only the key (after a delta). */
static void keep_key_only(np_elem *e)
{
    free(e->chain);
    e->chain = NULL;
    memset(e->data, 0, sizeof(e->data));
}

static void touch_chain(np_rsinc *r, chain_ent *c)
{
    if (c->touched)
        return;
    c->touched = true;
    c->had_before = c->refs > 0 || c->base;
    if (c->had_before)
        chain_copy(&c->before, &c->c);
    ptrs_push(&r->tchains, c);
}

/* ---- applying a Service's part ---- */

static set_ent *get_set(np_rsinc *r, const np_set *def)
{
    set_ent *s = np_hmap_sget(r->sets, def->name);
    if (!s) {
        s = xcalloc(1, sizeof(*s));
        s->def = *def;
        s->def.nelems = s->def.cap = 0;
        s->def.elems = NULL;
        s->id = r->next_id++;
        np_hmap_sput(r->sets, def->name, s);
    }
    return s;
}

/* Hash key of an element: set id, key, and key end for ranges. */
static size_t elem_key(const np_rsinc *r, const set_ent *s, const np_elem *e,
                       uint8_t buf[4 + 2 * NP_KEY_MAX])
{
    size_t klen = np_key_len(s->def.key, r->family);
    memcpy(buf, &s->id, 4);
    memcpy(buf + 4, e->key, klen);
    if (!(s->def.flags & NP_SET_INTERVAL))
        return 4 + klen;
    memcpy(buf + 4 + klen, e->key_end, klen);
    return 4 + 2 * klen;
}

static void var_add(elem_ent *x, const np_elem *e)
{
    for (uint32_t i = 0; i < x->nvar; i++) {
        if (np_elem_data_cmp(&x->var[i].e, e) == 0) {
            x->var[i].refs++;
            return;
        }
    }
    if (x->nvar == x->capvar) {
        x->capvar = x->capvar ? x->capvar * 2 : 1;
        x->var = xreallocarray(x->var, x->capvar, sizeof(*x->var));
    }
    x->var[x->nvar].e = *e;
    x->var[x->nvar].e.chain = e->chain ? xstrdup(e->chain) : NULL;
    x->var[x->nvar++].refs = 1;
}

static void var_del(elem_ent *x, const np_elem *e)
{
    for (uint32_t i = 0; i < x->nvar; i++) {
        if (np_elem_data_cmp(&x->var[i].e, e) != 0)
            continue;
        if (--x->var[i].refs == 0) {
            free(x->var[i].e.chain);
            x->var[i] = x->var[--x->nvar];
        }
        return;
    }
}

static void apply_elem(np_rsinc *r, set_ent *s, const np_elem *e, int sign)
{
    uint8_t key[4 + 2 * NP_KEY_MAX];
    size_t klen = elem_key(r, s, e, key);
    elem_ent *x = np_hmap_get(r->elems, key, klen);
    if (!x) {
        if (sign < 0)
            return;
        x = xcalloc(1, sizeof(*x));
        x->set = s;
        /* the key stays in `before` for reset_touched */
        memcpy(x->before.key, e->key, sizeof(e->key));
        memcpy(x->before.key_end, e->key_end, sizeof(e->key_end));
        np_hmap_put(r->elems, key, klen, x);
    }
    touch_elem(r, x);
    if (sign > 0)
        var_add(x, e);
    else
        var_del(x, e);
}

static void apply_set(np_rsinc *r, const np_set *def, int sign)
{
    set_ent *s = get_set(r, def);
    if (!s->fixed) {
        if (sign > 0 && (s->refs == 0 || !np_set_same_def(&s->def, def))) {
            touch_set(r, s);
            s->def = *def;
            s->def.nelems = s->def.cap = 0;
            s->def.elems = NULL;
        }
        if (sign < 0 && s->refs == 1)
            touch_set(r, s);
        s->refs += (uint32_t)sign;
    }
    for (size_t i = 0; i < def->nelems; i++)
        apply_elem(r, s, &def->elems[i], sign);
}

static void apply_chain(np_rsinc *r, const np_chain *c, int sign, bool base)
{
    chain_ent *x = np_hmap_sget(r->chains, c->name);
    if (!x) {
        x = xcalloc(1, sizeof(*x));
        np_hmap_sput(r->chains, c->name, x);
    }
    touch_chain(r, x);
    x->base = base;
    if (sign > 0) {
        free(x->c.rules);
        chain_copy(&x->c, c);
    }
    if (!base)
        x->refs += (uint32_t)sign;
}

static void apply(np_rsinc *r, const np_ruleset *part, int sign)
{
    for (size_t i = 0; i < part->nsets; i++)
        apply_set(r, &part->sets[i], sign);
    for (size_t i = 0; i < part->nchains; i++)
        apply_chain(r, &part->chains[i], sign, false);
}

void np_rsinc_update(np_rsinc *r, const np_service *old, const np_service *new)
{
    if (old) {
        np_ruleset *p = np_ruleset_build_service(old, &r->cfg, r->family);
        apply(r, p, -1);
        np_ruleset_free(p);
    }
    if (new) {
        np_ruleset *p = np_ruleset_build_service(new, &r->cfg, r->family);
        apply(r, p, 1);
        np_ruleset_free(p);
    }
}

/* ---- the base ---- */

/* Whether map "<prefix>-N" exists, for N < 256 (larger counts are read
 * from the touched sets as well). */
static void count_usage(np_rsinc *r, const char *prefix, bool **used, size_t *n, bool *changed)
{
    size_t plen = strlen(prefix);
    for (size_t i = 0; i < r->tsets.n; i++) {
        set_ent *s = r->tsets.v[i];
        char *end = NULL;
        if (strncmp(s->def.name, prefix, plen) != 0 || s->def.name[plen] != '-')
            continue;
        unsigned long k = strtoul(s->def.name + plen + 1, &end, 10);
        if (*end || k == 0)
            continue;
        if (k >= *n) {
            *used = xreallocarray(*used, k + 16, sizeof(bool));
            memset(*used + *n, 0, (k + 16 - *n) * sizeof(bool));
            *n = k + 16;
        }
        bool now = set_exists(s);
        *changed |= (*used)[k] != now;
        (*used)[k] = now;
    }
}

/* Rebuilds the base chains when the count maps in use changed. */
static void refresh_base(np_rsinc *r, bool force)
{
    bool changed = force;
    count_usage(r, "ep", &r->ep_used, &r->nep, &changed);
    count_usage(r, "sc", &r->sc_used, &r->nsc, &changed);
    if (!changed)
        return;
    np_ruleset *base =
        np_ruleset_build_base(&r->cfg, r->family, r->ep_used, r->nep, r->sc_used, r->nsc);
    for (size_t i = 0; i < base->nchains; i++) {
        chain_ent *x = np_hmap_sget(r->chains, base->chains[i].name);
        if (!x || !chain_same(&x->c, &base->chains[i]))
            apply_chain(r, &base->chains[i], 1, true);
    }
    if (force) {
        for (size_t i = 0; i < base->nsets; i++) {
            set_ent *s = get_set(r, &base->sets[i]);
            touch_set(r, s);
            s->fixed = true;
            for (size_t j = 0; j < base->sets[i].nelems; j++)
                apply_elem(r, s, &base->sets[i].elems[j], 1);
        }
    }
    np_ruleset_free(base);
}

np_rsinc *np_rsinc_new(const np_config *cfg, int family)
{
    np_rsinc *r = xcalloc(1, sizeof(*r));
    r->cfg = *cfg;
    r->family = family;
    r->sets = np_hmap_new();
    r->elems = np_hmap_new();
    r->chains = np_hmap_new();
    refresh_base(r, true);
    return r;
}

/* ---- the delta ---- */

static void add_sets(np_rsinc *r, np_ruleset *from, np_ruleset *to)
{
    for (size_t i = 0; i < r->tsets.n; i++) {
        set_ent *s = r->tsets.v[i];
        s->from_idx = s->to_idx = -1;
        if (s->existed_before) {
            s->from_idx = (long)from->nsets;
            np_ruleset_add_set(from, &s->before_def);
        }
        if (set_exists(s)) {
            s->to_idx = (long)to->nsets;
            np_ruleset_add_set(to, &s->def);
        }
    }
}

static void add_elems(np_rsinc *r, np_ruleset *from, np_ruleset *to)
{
    for (size_t i = 0; i < r->telems.n; i++) {
        elem_ent *x = r->telems.v[i];
        const np_elem *now = effective(x);
        set_ent *s = x->set;
        bool same = now && x->had_before && np_elem_data_cmp(now, &x->before) == 0 &&
                    np_set_same_def(&s->def, &s->before_def) && s->existed_before;
        if (same)
            continue;
        if (x->had_before && s->from_idx >= 0)
            np_set_add(&from->sets[s->from_idx], &x->before);
        if (now && s->to_idx >= 0)
            np_set_add(&to->sets[s->to_idx], now);
    }
}

static void add_chains(np_rsinc *r, np_ruleset *from, np_ruleset *to)
{
    for (size_t i = 0; i < r->tchains.n; i++) {
        chain_ent *c = r->tchains.v[i];
        bool now = c->refs > 0 || c->base;
        if (now && c->had_before && chain_same(&c->c, &c->before))
            continue;
        if (c->had_before)
            np_ruleset_add_chain(from, &c->before);
        if (now)
            np_ruleset_add_chain(to, &c->c);
    }
}

static void elem_ent_free(elem_ent *x)
{
    for (uint32_t i = 0; i < x->nvar; i++)
        free(x->var[i].e.chain);
    free(x->var);
    free(x);
}

/* Forgets the touched marks; drops what no longer exists. */
static void reset_touched(np_rsinc *r)
{
    for (size_t i = 0; i < r->telems.n; i++) {
        elem_ent *x = r->telems.v[i];
        x->touched = false;
        keep_key_only(&x->before);
        if (x->nvar == 0) {
            uint8_t key[4 + 2 * NP_KEY_MAX];
            np_hmap_del(r->elems, key, elem_key(r, x->set, &x->before, key));
            elem_ent_free(x);
        }
    }
    for (size_t i = 0; i < r->tchains.n; i++) {
        chain_ent *c = r->tchains.v[i];
        c->touched = false;
        free(c->before.rules);
        c->before.rules = NULL;
        if (c->refs == 0 && !c->base) {
            np_hmap_sdel(r->chains, c->c.name);
            free(c->c.rules);
            free(c);
        }
    }
    for (size_t i = 0; i < r->tsets.n; i++) {
        set_ent *s = r->tsets.v[i];
        s->touched = false;
        if (!set_exists(s))
            free(np_hmap_sdel(r->sets, s->def.name));
    }
    r->telems.n = r->tchains.n = r->tsets.n = 0;
}

void np_rsinc_take_delta(np_rsinc *r, np_ruleset **from, np_ruleset **to)
{
    refresh_base(r, false);
    np_ruleset *f = xcalloc(1, sizeof(*f)), *t = xcalloc(1, sizeof(*t));
    f->family = t->family = r->family;
    add_sets(r, f, t);
    add_elems(r, f, t);
    add_chains(r, f, t);
    reset_touched(r);
    np_ruleset_sort(f);
    np_ruleset_sort(t);
    *from = f;
    *to = t;
}

/* ---- the whole ---- */

typedef struct whole {
    np_ruleset *rs;
} whole;

static void whole_set(const void *k, size_t kl, void *v, void *ud)
{
    (void)k, (void)kl;
    set_ent *s = v;
    np_ruleset *rs = ((whole *)ud)->rs;
    s->to_idx = -1;
    if (set_exists(s)) {
        s->to_idx = (long)rs->nsets;
        np_ruleset_add_set(rs, &s->def);
    }
}

static void whole_elem(const void *k, size_t kl, void *v, void *ud)
{
    (void)k, (void)kl;
    elem_ent *x = v;
    const np_elem *e = effective(x);
    if (e && x->set->to_idx >= 0)
        np_set_add(&((whole *)ud)->rs->sets[x->set->to_idx], e);
}

static void whole_chain(const void *k, size_t kl, void *v, void *ud)
{
    (void)k, (void)kl;
    chain_ent *c = v;
    if (c->refs > 0 || c->base)
        np_ruleset_add_chain(((whole *)ud)->rs, &c->c);
}

np_ruleset *np_rsinc_ruleset(const np_rsinc *r)
{
    whole w = {xcalloc(1, sizeof(np_ruleset))};
    w.rs->family = r->family;
    np_hmap_each(r->sets, whole_set, &w);
    np_hmap_each(r->elems, whole_elem, &w);
    np_hmap_each(r->chains, whole_chain, &w);
    np_ruleset_sort(w.rs);
    return w.rs;
}

size_t np_rsinc_elements(const np_rsinc *r)
{
    return np_hmap_len(r->elems);
}

/* ---- freeing ---- */

static void free_elem_cb(const void *k, size_t kl, void *v, void *ud)
{
    (void)k, (void)kl, (void)ud;
    elem_ent_free(v);
}

static void free_chain_cb(const void *k, size_t kl, void *v, void *ud)
{
    (void)k, (void)kl, (void)ud;
    chain_ent *c = v;
    free(c->c.rules);
    free(c->before.rules);
    free(c);
}

static void free_set_cb(const void *k, size_t kl, void *v, void *ud)
{
    (void)k, (void)kl, (void)ud;
    free(v);
}

void np_rsinc_free(np_rsinc *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->telems.n; i++)
        free(((elem_ent *)r->telems.v[i])->before.chain);
    np_hmap_each(r->elems, free_elem_cb, NULL);
    np_hmap_each(r->chains, free_chain_cb, NULL);
    np_hmap_each(r->sets, free_set_cb, NULL);
    np_hmap_free(r->elems);
    np_hmap_free(r->chains);
    np_hmap_free(r->sets);
    free(r->tsets.v);
    free(r->telems.v);
    free(r->tchains.v);
    free(r->ep_used);
    free(r->sc_used);
    free(r);
}
