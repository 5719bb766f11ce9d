/* fuzz-netproxy-inc.c - the incremental model builder of partial syncs
 * (netproxy/incsync.h: np_build_service per Service from its JSON and its
 * EndpointSlices, the tracker, the kept rulesets) against a full rebuild.
 *
 * Input: a JSON array (or {"items": [...]}) of changes. An object is a
 * Service or an EndpointSlice (a slice when its "kind" is "EndpointSlice"
 * or it has an "addressType") that replaces the object of that kind with
 * the same namespace/name; a string "S:ns/name" or "E:ns/name" deletes a
 * Service or a slice. The first half of the changes make the initial state
 * (one full build); each later change is one partial update of the Services
 * it touches (a slice: the Services its old and new service-name labels
 * name), with a full rebuild when the update involves a conflict, as the
 * proxier does. At the end the kept model must equal a full build of the
 * same objects, and rulesets kept from the updates' changes must equal
 * np_ruleset_build of it; a difference aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/json.h"
#include "lib/xalloc.h"
#include "netproxy/incsync.h"
#include "netproxy/ruleset-inc.h"
#include "test/fuzz/json-items.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_OBJS 64
#define LABEL "kubernetes.io/service-name"

typedef struct obj {
    bool slice;
    char *ns, *name;
    cJSON *json; /* owned */
} obj;

typedef struct world {
    obj v[MAX_OBJS];
    size_t n;
    np_config cfg;
    np_incsync *inc;
    np_rsinc *r[2]; /* fed the changes each update reports */
} world;

static const int FAMILIES[2] = {AF_INET, AF_INET6};

/* ---- the objects, as the informers hold them ---- */

static bool is_slice(const cJSON *o)
{
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "kind");
    if (cJSON_IsString(kind))
        return strcmp(kind->valuestring, "EndpointSlice") == 0;
    return cJSON_GetObjectItemCaseSensitive(o, "addressType") != NULL;
}

static const char *meta(const cJSON *o, const char *field)
{
    const cJSON *v =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "metadata"), field);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The Service a slice belongs to (its label), or NULL. */
static const char *slice_service(const cJSON *o)
{
    const cJSON *labels =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "metadata"), "labels");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(labels, LABEL);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static obj *find(world *w, bool slice, const char *ns, const char *name)
{
    for (size_t i = 0; i < w->n; i++) {
        obj *o = &w->v[i];
        if (o->slice == slice && strcmp(o->ns, ns) == 0 && strcmp(o->name, name) == 0)
            return o;
    }
    return NULL;
}

static void remove_obj(world *w, obj *o)
{
    free(o->ns);
    free(o->name);
    cJSON_Delete(o->json);
    /* keep the order: a Service's slices are seen in the same order later */
    size_t i = (size_t)(o - w->v);
    memmove(o, o + 1, (w->n - i - 1) * sizeof(*o));
    w->n--;
}

/* A namespace or name the API server would accept as a key. */
static bool valid_part(const char *s, size_t max)
{
    return s && *s && strlen(s) < max && !strchr(s, '/');
}

/* Adds "ns/name" to keys[*n] unless there (at most 2 keys per change). */
static void touch(char keys[2][300], size_t *n, const char *ns, const char *name)
{
    if (!name)
        return;
    char key[300];
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    if (*n == 1 && strcmp(keys[0], key) == 0)
        return;
    snprintf(keys[(*n)++], sizeof(keys[0]), "%s", key);
}

/* Applies one change; fills keys with the Services it touches. */
static void change(world *w, const cJSON *it, char keys[2][300], size_t *nkeys)
{
    *nkeys = 0;
    bool slice, del = cJSON_IsString(it);
    char ns[128] = "", name[128] = "";
    if (del) {
        const char *s = it->valuestring;
        if ((s[0] != 'S' && s[0] != 'E') || s[1] != ':' ||
            sscanf(s + 2, "%127[^/]/%127s", ns, name) != 2)
            return;
        slice = s[0] == 'E';
    } else {
        if (!cJSON_IsObject(it))
            return;
        const char *n = meta(it, "name"), *s = meta(it, "namespace");
        if (!valid_part(n, sizeof(name)) || (s && !valid_part(s, sizeof(ns))))
            return;
        snprintf(ns, sizeof(ns), "%s", s ? s : "default");
        snprintf(name, sizeof(name), "%s", n);
        slice = is_slice(it);
    }
    obj *o = find(w, slice, ns, name);
    if (o) {
        touch(keys, nkeys, ns, slice ? slice_service(o->json) : name);
        remove_obj(w, o);
    }
    if (!del && w->n < MAX_OBJS) {
        w->v[w->n++] = (obj){slice, xstrdup(ns), xstrdup(name), cJSON_Duplicate(it, true)};
        touch(keys, nkeys, ns, slice ? slice_service(it) : name);
    }
}

/* ---- np_source over the world ---- */

static void src_release(void *ud, np_objects *objs)
{
    (void)ud;
    free(objs->v);
    memset(objs, 0, sizeof(*objs));
}

static void collect(world *w, bool slice, const char *key, np_objects *out)
{
    out->v = xcalloc(w->n + 1, sizeof(*out->v));
    out->n = 0;
    size_t nslen = strcspn(key, "/");
    const char *name = key[nslen] ? key + nslen + 1 : "";
    for (size_t i = 0; i < w->n; i++) {
        const obj *o = &w->v[i];
        const char *n = slice ? slice_service(o->json) : o->name;
        if (o->slice == slice && n && strlen(o->ns) == nslen && strncmp(o->ns, key, nslen) == 0 &&
            strcmp(n, name) == 0)
            out->v[out->n++] = o->json;
    }
}

static void src_get_service(void *ud, const char *key, np_objects *out)
{
    collect(ud, false, key, out);
}

static void src_slices_of(void *ud, const char *key, np_objects *out)
{
    collect(ud, true, key, out);
}

/* ---- full builds and the incremental state ---- */

static void count_conflicts(const kn_error *err, void *ud)
{
    *(size_t *)ud += err->code == KN_ECONFLICT;
}

static np_model *full_model(const world *w, size_t *nconflicts)
{
    *nconflicts = 0;
    np_builder *b = np_builder_new(count_conflicts, nconflicts);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < w->n; i++) {
            if (w->v[i].slice != (pass == 1))
                continue;
            if (pass)
                np_builder_add_slice(b, w->v[i].json, NULL);
            else
                np_builder_add_service(b, w->v[i].json, NULL);
        }
    }
    return np_builder_finish(b);
}

/* The kept ruleset settles (its base chains follow the maps in use) when
 * the difference is taken, as the proxier does after every update. */
static void settle(np_rsinc *r)
{
    np_ruleset *from = NULL, *to = NULL;
    np_rsinc_take_delta(r, &from, &to);
    np_ruleset_free(from);
    np_ruleset_free(to);
}

static void rebuild(world *w)
{
    size_t nconflicts = 0;
    np_model *m = full_model(w, &nconflicts);
    for (int f = 0; f < 2; f++) {
        np_rsinc_free(w->r[f]);
        w->r[f] = np_rsinc_new(&w->cfg, FAMILIES[f]);
        for (size_t i = 0; i < m->nservices; i++)
            np_rsinc_update(w->r[f], NULL, &m->services[i]);
        settle(w->r[f]);
    }
    np_incsync_free(w->inc);
    w->inc = np_incsync_new(m, nconflicts, &w->cfg, true, true);
}

static void render_free(np_ruleset *rs)
{
    free(np_ruleset_render(rs));
}

static void partial(world *w, char keys[2][300], size_t n)
{
    np_source src = {.list = NULL,
                     .release = src_release,
                     .ud = w,
                     .get_service = src_get_service,
                     .slices_of = src_slices_of};
    char *k[2] = {keys[0], keys[1]};
    np_inc_result res;
    if (!np_incsync_update(w->inc, &src, k, n, NULL, NULL, &res)) {
        rebuild(w);
        return;
    }
    for (int f = 0; f < 2; f++) {
        for (size_t i = 0; i < res.nchanges; i++)
            np_rsinc_update(w->r[f], res.changes[i].old.ns ? &res.changes[i].old : NULL,
                            res.changes[i].new);
        settle(w->r[f]);
        render_free(res.from[f]);
        render_free(res.to[f]);
    }
    np_inc_result_free(&res);
}

/* The kept state equals a full build of the same objects. */
static void check(world *w)
{
    size_t nconflicts = 0;
    np_model *m = full_model(w, &nconflicts);
    np_diff d;
    np_model_diff(m, np_incsync_model(w->inc), &d);
    if (d.nchanges) {
        fprintf(stderr, "kept model differs from a full build at %s/%s\n", d.changes[0].ns,
                d.changes[0].name);
        abort();
    }
    np_diff_free(&d);
    for (int f = 0; f < 2; f++) {
        np_ruleset *want = np_ruleset_build(m, &w->cfg, FAMILIES[f]);
        np_ruleset *have = np_rsinc_ruleset(w->r[f]);
        char *x = np_ruleset_render(want), *y = np_ruleset_render(have);
        if (strcmp(x, y) != 0) {
            fprintf(stderr, "kept ruleset differs from a full build:\n%s\n----\n%s\n", x, y);
            abort();
        }
        free(x);
        free(y);
        np_ruleset_free(want);
        np_ruleset_free(have);
    }
    np_model_free(m);
}

static void world_init(world *w)
{
    memset(w, 0, sizeof(*w));
    np_config_init(&w->cfg);
    w->cfg.node_name = "node-a";
    np_addr_parse("10.250.0.1", &w->cfg.node_ips[w->cfg.nnode_ips++]);
    np_addr_parse("fd00:250::1", &w->cfg.node_ips[w->cfg.nnode_ips++]);
    np_cidr_parse("10.244.0.0/16", false, &w->cfg.cluster_cidrs[w->cfg.ncluster_cidrs++]);
    np_cidr_parse("fd00:244::/56", false, &w->cfg.cluster_cidrs[w->cfg.ncluster_cidrs++]);
}

static void world_free(world *w)
{
    while (w->n)
        remove_obj(w, &w->v[0]);
    np_incsync_free(w->inc);
    np_rsinc_free(w->r[0]);
    np_rsinc_free(w->r[1]);
}

static void run(const cJSON *items)
{
    world w;
    world_init(&w);
    int n = cJSON_GetArraySize(items), i = 0;
    char keys[2][300];
    size_t nkeys;
    const cJSON *it = items->child;
    for (; it && i < n / 2; it = it->next, i++)
        change(&w, it, keys, &nkeys);
    rebuild(&w);
    for (; it; it = it->next) {
        change(&w, it, keys, &nkeys);
        if (nkeys)
            partial(&w, keys, nkeys);
    }
    check(&w);
    world_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *doc = NULL;
    const cJSON *items = fuzz_json_items(data, size, &doc);
    if (items)
        run(items);
    cJSON_Delete(doc);
    return 0;
}
