#include "controlplane/smpatch.h"

#include <stdbool.h>
#include <string.h>

#include "lib/strbuf.h"

typedef struct merge_key {
    const char *field;
    const char *key;
} merge_key;

/* x-kubernetes-patch-merge-key of the built-in types, by field name. "ports"
 * is decided by its elements: container ports by containerPort, Service
 * ports by port. */
static const merge_key merge_keys[] = {
    {"containers", "name"},
    {"initContainers", "name"},
    {"ephemeralContainers", "name"},
    {"env", "name"},
    {"volumes", "name"},
    {"volumeMounts", "mountPath"},
    {"volumeDevices", "devicePath"},
    {"imagePullSecrets", "name"},
    {"hostAliases", "ip"},
    {"conditions", "type"},
    {"ownerReferences", "uid"},
    {"topologySpreadConstraints", "topologyKey"},
    {"resourceClaims", "name"},
    {"addresses", "type"},
    {"schedulingGates", "name"},
};

/* primitive lists with patchStrategy "merge" */
static const char *const set_lists[] = {"finalizers", NULL};

static const char *key_for(const char *field, const cJSON *orig, const cJSON *patch)
{
    if (strcmp(field, "ports") == 0) {
        const cJSON *probe = cJSON_GetArrayItem(patch, 0);
        if (!probe)
            probe = cJSON_GetArrayItem(orig, 0);
        return cJSON_GetObjectItemCaseSensitive(probe, "containerPort") ? "containerPort" : "port";
    }
    for (size_t i = 0; i < sizeof(merge_keys) / sizeof(merge_keys[0]); i++) {
        if (strcmp(merge_keys[i].field, field) == 0)
            return merge_keys[i].key;
    }
    return NULL;
}

static bool is_set_list(const char *field)
{
    for (size_t i = 0; set_lists[i]; i++) {
        if (strcmp(set_lists[i], field) == 0)
            return true;
    }
    return false;
}

static int merge_object(cJSON *dst, const cJSON *patch, kn_error **err);

static bool same_key(const cJSON *a, const cJSON *b, const char *key)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(a, key);
    const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, key);
    return x && y && cJSON_Compare(x, y, 1);
}

static const char *patch_directive(const cJSON *elem)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(elem, "$patch");
    return cJSON_IsString(d) ? d->valuestring : NULL;
}

/* A copy of a patch value with every $-directive removed. */
static cJSON *strip(const cJSON *v)
{
    cJSON *c = cJSON_Duplicate(v, 1);
    if (!cJSON_IsObject(c))
        return c;
    cJSON *it = c->child;
    while (it) {
        cJSON *next = it->next;
        if (it->string && it->string[0] == '$')
            cJSON_Delete(cJSON_DetachItemViaPointer(c, it));
        else if (cJSON_IsObject(it))
            cJSON_ReplaceItemViaPointer(c, it, strip(it));
        it = next;
    }
    return c;
}

static int merge_keyed_list(cJSON *dst, const cJSON *patch, const char *key, kn_error **err)
{
    const cJSON *pe;
    cJSON_ArrayForEach(pe, patch)
    {
        const char *dir = patch_directive(pe);
        if (dir && strcmp(dir, "replace") == 0)
            continue; /* handled by the caller */
        cJSON *match = NULL, *de;
        cJSON_ArrayForEach(de, dst)
        {
            if (same_key(de, pe, key)) {
                match = de;
                break;
            }
        }
        if (dir && strcmp(dir, "delete") == 0) {
            if (match)
                cJSON_Delete(cJSON_DetachItemViaPointer(dst, match));
            continue;
        }
        if (dir && strcmp(dir, "merge") != 0)
            return kn_error_set(err, KN_EINVAL, "unknown patch type: %s in list element", dir);
        if (match && cJSON_IsObject(match) && cJSON_IsObject(pe)) {
            if (merge_object(match, pe, err) < 0)
                return -KN_EINVAL;
        } else {
            cJSON_AddItemToArray(dst, strip(pe));
        }
    }
    return 0;
}

static void union_list(cJSON *dst, const cJSON *patch)
{
    const cJSON *pe;
    cJSON_ArrayForEach(pe, patch)
    {
        bool found = false;
        const cJSON *de;
        cJSON_ArrayForEach(de, dst)
        {
            found = found || cJSON_Compare(de, pe, 1);
        }
        if (!found)
            cJSON_AddItemToArray(dst, cJSON_Duplicate(pe, 1));
    }
}

static bool list_has_replace(const cJSON *patch)
{
    const cJSON *pe;
    cJSON_ArrayForEach(pe, patch)
    {
        const char *dir = patch_directive(pe);
        if (dir && strcmp(dir, "replace") == 0)
            return true;
    }
    return false;
}

/* Drops from a list with a `$patch: replace` element every such marker. */
static cJSON *replacement_list(const cJSON *patch)
{
    cJSON *out = cJSON_CreateArray();
    const cJSON *pe;
    cJSON_ArrayForEach(pe, patch)
    {
        if (!patch_directive(pe))
            cJSON_AddItemToArray(out, strip(pe));
    }
    return out;
}

static int merge_field(cJSON *dst, const char *field, const cJSON *pv, kn_error **err)
{
    cJSON *dv = cJSON_GetObjectItemCaseSensitive(dst, field);
    if (cJSON_IsNull(pv)) {
        cJSON_DeleteItemFromObjectCaseSensitive(dst, field);
        return 0;
    }
    if (cJSON_IsObject(pv) && cJSON_IsObject(dv)) {
        const char *dir = patch_directive(pv);
        if (dir && strcmp(dir, "replace") == 0) {
            cJSON_ReplaceItemInObjectCaseSensitive(dst, field, strip(pv));
            return 0;
        }
        if (dir && strcmp(dir, "delete") == 0) {
            cJSON_DeleteItemFromObjectCaseSensitive(dst, field);
            return 0;
        }
        return merge_object(dv, pv, err);
    }
    if (cJSON_IsArray(pv) && cJSON_IsArray(dv) && !list_has_replace(pv)) {
        const char *key = key_for(field, dv, pv);
        if (key)
            return merge_keyed_list(dv, pv, key, err);
        if (is_set_list(field)) {
            union_list(dv, pv);
            return 0;
        }
    }
    cJSON *nv = cJSON_IsArray(pv) && list_has_replace(pv) ? replacement_list(pv) : strip(pv);
    if (dv)
        cJSON_ReplaceItemInObjectCaseSensitive(dst, field, nv);
    else
        cJSON_AddItemToObject(dst, field, nv);
    return 0;
}

static void delete_from_primitive_list(cJSON *dst, const char *field, const cJSON *values)
{
    cJSON *list = cJSON_GetObjectItemCaseSensitive(dst, field);
    const cJSON *v;
    cJSON_ArrayForEach(v, values)
    {
        cJSON *e = list ? list->child : NULL;
        while (e) {
            cJSON *next = e->next;
            if (cJSON_Compare(e, v, 1))
                cJSON_Delete(cJSON_DetachItemViaPointer(list, e));
            e = next;
        }
    }
}

/* $retainKeys: drop fields of dst not listed (before merging the rest). */
static void retain_keys(cJSON *dst, const cJSON *keys)
{
    cJSON *it = dst->child;
    while (it) {
        cJSON *next = it->next;
        bool keep = false;
        const cJSON *k;
        cJSON_ArrayForEach(k, keys)
        {
            keep = keep || (cJSON_IsString(k) && strcmp(k->valuestring, it->string) == 0);
        }
        if (!keep)
            cJSON_Delete(cJSON_DetachItemViaPointer(dst, it));
        it = next;
    }
}

static int merge_object(cJSON *dst, const cJSON *patch, kn_error **err)
{
    const char *dir = patch_directive(patch);
    if (dir && strcmp(dir, "merge") != 0 && strcmp(dir, "replace") != 0 &&
        strcmp(dir, "delete") != 0)
        return kn_error_set(err, KN_EINVAL, "unknown patch type: %s", dir);
    const cJSON *rk = cJSON_GetObjectItemCaseSensitive(patch, "$retainKeys");
    if (cJSON_IsArray(rk))
        retain_keys(dst, rk);
    const cJSON *pv;
    cJSON_ArrayForEach(pv, patch)
    {
        const char *f = pv->string;
        if (strncmp(f, "$deleteFromPrimitiveList/", 25) == 0) {
            delete_from_primitive_list(dst, f + 25, pv);
            continue;
        }
        if (f[0] == '$') /* $patch, $retainKeys, $setElementOrder/...: ordering only */
            continue;
        if (merge_field(dst, f, pv, err) < 0)
            return -KN_EINVAL;
    }
    return 0;
}

int kn_strategic_merge_patch(const cJSON *original, const cJSON *patch, cJSON **out, kn_error **err)
{
    if (!cJSON_IsObject(patch))
        return kn_error_set(err, KN_EINVAL, "a strategic merge patch must be a JSON object");
    const char *dir = patch_directive(patch);
    if (dir && strcmp(dir, "replace") == 0) {
        *out = strip(patch);
        return 0;
    }
    cJSON *doc = cJSON_Duplicate(original, 1);
    if (merge_object(doc, patch, err) < 0) {
        cJSON_Delete(doc);
        return -KN_EINVAL;
    }
    *out = doc;
    return 0;
}
