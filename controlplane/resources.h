/* resources.h - the API resources the bundled API server serves, as
 * upstream defines them: group, version, plural, kind, scope, short names,
 * subresources. Discovery documents and routing both come from this table. */
#ifndef KNODE_CONTROLPLANE_RESOURCES_H
#define KNODE_CONTROLPLANE_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>

typedef struct kn_resource {
    const char *group;   /* "" for the core group */
    const char *version; /* "v1" */
    const char *name;    /* plural: "pods" */
    const char *singular;
    const char *kind;
    bool namespaced;
    bool has_spec;               /* metadata.generation tracks spec changes */
    const char *short_names[3];  /* NULL-terminated */
    const char *subresources[8]; /* "status", "scale", ... NULL-terminated */
    bool in_category_all;
} kn_resource;

/* Finds a resource by group, version and plural. */
const kn_resource *kn_resource_find(const char *group, const char *version, const char *name);
/* Finds by group and kind (for ownerReferences, bindings). */
const kn_resource *kn_resource_by_kind(const char *group, const char *kind);

/* Iteration over the table. */
size_t kn_resource_count(void);
const kn_resource *kn_resource_at(size_t i);

/* "apps/v1" or "v1" for the core group; buf must hold 64 bytes. */
const char *kn_resource_api_version(const kn_resource *r, char *buf, size_t size);

/* true if r has the named subresource */
bool kn_resource_has_sub(const kn_resource *r, const char *sub);

#endif
