#include "controlplane/smpatch.h"

#include <stdbool.h>
#include <string.h>

/* A list field merged element by element: patch strategy "merge" with a
 * merge key. */
static const char *merge_key_of(const kn_schema_field *f)
{
    if (!f || !(f->flags & KN_SF_REPEATED) || !f->patch_strategy ||
        !strstr(f->patch_strategy, "merge"))
        return NULL;
    return f->merge_key;
}

/* A primitive list with patch strategy "merge" (finalizers): a union. */
static bool is_set_list(const kn_schema_field *f)
{
    return f && (f->flags & KN_SF_REPEATED) && f->kind != KN_SK_MESSAGE && f->patch_strategy &&
           strstr(f->patch_strategy, "merge") && !f->merge_key;
}

/* The type of a message field's values (NULL: unknown or not a message). */
static const kn_schema_type *type_of(const kn_schema_field *f)
{
    return f && f->kind == KN_SK_MESSAGE ? f->type : NULL;
}

static int merge_object(cJSON *dst, const cJSON *patch, const kn_schema_type *t, kn_error **err);

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

static int merge_keyed_list(cJSON *dst, const cJSON *patch, const kn_schema_field *f,
                            kn_error **err)
{
    const char *key = f->merge_key;
    const cJSON *pe;
    cJSON_ArrayForEach(pe, patch)
    {
        const char *dir = patch_directive(pe);
        if (dir && strcmp(dir, "replace") == 0)
            continue; /* handled by the caller */
        if (cJSON_IsObject(pe) && !cJSON_GetObjectItemCaseSensitive(pe, key))
            return kn_error_set(err, KN_EINVAL,
                                "%s: an element does not contain declared merge key: %s", f->json,
                                key);
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
            if (merge_object(match, pe, f->type, err) < 0)
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

static int merge_field(cJSON *dst, const char *field, const cJSON *pv, const kn_schema_type *t,
                       kn_error **err)
{
    const kn_schema_field *f = t ? kn_schema_field_by_json(t, field) : NULL;
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
        return merge_object(dv, pv, type_of(f), err);
    }
    if (cJSON_IsArray(pv) && cJSON_IsArray(dv) && !list_has_replace(pv)) {
        if (merge_key_of(f))
            return merge_keyed_list(dv, pv, f, err);
        if (is_set_list(f)) {
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

static int merge_object(cJSON *dst, const cJSON *patch, const kn_schema_type *t, kn_error **err)
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
        if (merge_field(dst, f, pv, t, err) < 0)
            return -KN_EINVAL;
    }
    return 0;
}

int kn_strategic_merge_patch(const kn_schema_type *t, const cJSON *original, const cJSON *patch,
                             cJSON **out, kn_error **err)
{
    if (!cJSON_IsObject(patch))
        return kn_error_set(err, KN_EINVAL, "a strategic merge patch must be a JSON object");
    const char *dir = patch_directive(patch);
    if (dir && strcmp(dir, "replace") == 0) {
        *out = strip(patch);
        return 0;
    }
    cJSON *doc = cJSON_Duplicate(original, 1);
    if (merge_object(doc, patch, t, err) < 0) {
        cJSON_Delete(doc);
        return -KN_EINVAL;
    }
    *out = doc;
    return 0;
}
