/* msg.h - building CRI request messages and reading their maps.
 *
 * Requests are plain protobuf-c structs (cri/api.pb-c.h). A request built
 * entirely on the heap with these helpers (cri_msg_new, cri_str_set,
 * cri_strv_add, cri_map_put, xstrdup'ed strings, xmalloc'ed arrays) is one
 * tree owned by its root and released with cri_msg_free(), exactly like a
 * reply unpacked by protobuf-c:
 *
 *   Runtime__V1__PodSandboxConfig *cfg = cri_msg_new(&runtime__v1__pod_sandbox_config__descriptor);
 *   cfg->metadata = cri_msg_new(&runtime__v1__pod_sandbox_metadata__descriptor);
 *   cri_str_set(&cfg->metadata->name, "web");
 *   cri_map_put(cfg, "labels", "app", "web");
 *   ...
 *   cri_msg_free(cfg);
 *
 * Stack-built requests (RUNTIME__V1__..._INIT with borrowed strings) work
 * too with every call in runtime.h/image.h; just do not cri_msg_free them. */
#ifndef KNODE_CRI_MSG_H
#define KNODE_CRI_MSG_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

/* A zeroed, initialized message of type desc (never NULL; aborts on OOM). */
void *cri_msg_new(const ProtobufCMessageDescriptor *desc);

/* Releases a heap message tree (built here or unpacked). NULL is fine. */
void cri_msg_free(void *msg);

/* Sets a string field to a copy of s (NULL means ""), freeing the old value. */
void cri_str_set(char **field, const char *s);

/* Appends a copy of s to a repeated string field (*v with count *n). */
void cri_strv_add(char ***v, size_t *n, const char *s);

/* Sets key to value in msg's map<string, string> field named field (the
 * .proto name, e.g. "labels"), replacing an existing key. Aborts if msg has
 * no such map field: that is a programming error. */
void cri_map_put(void *msg, const char *field, const char *key, const char *value);

/* The value of key in msg's map<string, string> field, or NULL if absent
 * (also when msg is NULL). Borrowed from msg. */
const char *cri_map_get(const void *msg, const char *field, const char *key);

/* The number of entries of msg's map field (0 when msg is NULL). */
size_t cri_map_len(const void *msg, const char *field);

#endif
