/* fuzz-netproxy-model.c - the proxy model builder, endpoint selection, diff
 * and the nftables ruleset built and rendered from it, on arbitrary JSON.
 *
 * Input: a JSON array (or {"items": [...]}) of Service and EndpointSlice
 * objects as the API server sends them; an object is a slice when its "kind"
 * is "EndpointSlice" or it has an "addressType". Two models are built (the
 * first half of the items, and all of them) and diffed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/json.h"
#include "netproxy/model.h"
#include "netproxy/ruleset.h"
#include "test/fuzz/json-items.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_slice(const cJSON *o)
{
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "kind");
    if (cJSON_IsString(kind))
        return strcmp(kind->valuestring, "EndpointSlice") == 0;
    return cJSON_GetObjectItemCaseSensitive(o, "addressType") != NULL;
}

static np_model *build(const cJSON *items, int limit)
{
    np_builder *b = np_builder_new(NULL, NULL);
    int i = 0;
    for (const cJSON *it = items->child; it && i < limit; it = it->next, i++) {
        kn_error *err = NULL;
        if (is_slice(it))
            np_builder_add_slice(b, it, &err);
        else
            np_builder_add_service(b, it, &err);
        kn_error_free(&err);
    }
    return np_builder_finish(b);
}

static void select_all(const np_model *m)
{
    for (size_t i = 0; i < m->nservices; i++) {
        const np_service *s = &m->services[i];
        for (size_t p = 0; p < s->nports; p++) {
            np_selection sel;
            np_select_endpoints(s, &s->ports[p], AF_INET, "node-a", &sel);
            np_selection_free(&sel);
            np_select_endpoints(s, &s->ports[p], AF_INET6, NULL, &sel);
            np_selection_free(&sel);
        }
    }
}

static void render_all(const np_model *old, const np_model *m)
{
    np_config cfg;
    np_config_init(&cfg);
    cfg.node_name = "node-a";
    np_addr_parse("10.250.0.1", &cfg.node_ips[cfg.nnode_ips++]);
    np_addr_parse("fd00:250::1", &cfg.node_ips[cfg.nnode_ips++]);
    np_cidr_parse("10.244.0.0/16", false, &cfg.cluster_cidrs[cfg.ncluster_cidrs++]);
    np_cidr_parse("fd00:244::/56", false, &cfg.cluster_cidrs[cfg.ncluster_cidrs++]);
    cfg.masquerade_all = old == NULL;
    int families[2] = {AF_INET, AF_INET6};
    for (int f = 0; f < 2; f++) {
        np_ruleset *a = np_ruleset_build(old, &cfg, families[f]);
        np_ruleset *b = np_ruleset_build(m, &cfg, families[f]);
        char *text = np_ruleset_render(b);
        free(text);
        np_ruleset_free(a);
        np_ruleset_free(b);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *doc = NULL;
    const cJSON *items = fuzz_json_items(data, size, &doc);
    if (items) {
        int n = cJSON_GetArraySize(items);
        np_model *half = build(items, n / 2);
        np_model *all = build(items, n);
        select_all(all);
        np_diff d;
        np_model_diff(half, all, &d);
        np_diff_free(&d);
        render_all(half, all);
        render_all(NULL, all);
        np_model_free(half);
        np_model_free(all);
    }
    cJSON_Delete(doc);
    return 0;
}
