/* podspec-internal.h - the decoder shared by podspec*.c (not a public API).
 *
 * A decoder walks the cJSON tree with a sticky error: the first failure
 * fills *err with "<field path>: <message>" and every later step is a no-op,
 * so decoding code reads each field and checks d->failed only where it must
 * stop early. The field path follows the walk (push/pop). */
#ifndef KNODE_KUBELET_PODSPEC_INTERNAL_H
#define KNODE_KUBELET_PODSPEC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "kubelet/podspec.h"
#include "lib/strbuf.h"

typedef struct kl_dec {
    kn_error **err;
    bool failed;
    kn_buf path; /* e.g. "spec.containers[1]" */
} kl_dec;

/* Sets the error "<path>[.key]: <message>" (key may be NULL) unless one is
 * set already; always returns false. */
bool kl_dec_fail(kl_dec *d, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends ".key" (or "key" at the root) / "[i]" to the path; returns the
 * previous length for kl_dec_pop. */
size_t kl_dec_push(kl_dec *d, const char *key);
size_t kl_dec_push_idx(kl_dec *d, size_t i);
void kl_dec_pop(kl_dec *d, size_t mark);

/* obj's member key, or NULL when it is missing or JSON null. */
const cJSON *kl_member(const cJSON *obj, const char *key);

/* Typed readers: a missing member leaves the default (NULL, false, unset);
 * a member of the wrong type fails. All return !d->failed. */
bool kl_dec_str(kl_dec *d, const cJSON *obj, const char *key, char **out);
bool kl_dec_bool(kl_dec *d, const cJSON *obj, const char *key, bool *out);
bool kl_dec_opt_bool(kl_dec *d, const cJSON *obj, const char *key, kl_opt_bool *out);
bool kl_dec_opt_i64(kl_dec *d, const cJSON *obj, const char *key, kl_opt_i64 *out);
/* An optional user or group ID (runAsUser, runAsGroup, fsGroup): 0..2^31-1. */
bool kl_dec_opt_id(kl_dec *d, const cJSON *obj, const char *key, kl_opt_i64 *out);
bool kl_dec_strv(kl_dec *d, const cJSON *obj, const char *key, kl_strv *out);
bool kl_dec_map(kl_dec *d, const cJSON *obj, const char *key, kl_map *out);
/* The member as an object / array (NULL when missing); wrong type fails. */
const cJSON *kl_dec_obj(kl_dec *d, const cJSON *obj, const char *key);
const cJSON *kl_dec_arr(kl_dec *d, const cJSON *obj, const char *key);

/* Upstream validators (k8s.io/apimachinery/pkg/util/validation); each
 * returns NULL when s is valid, else the error text after "Invalid value". */
const char *kl_check_dns1123_label(const char *s);
const char *kl_check_dns1123_subdomain(const char *s);
const char *kl_check_env_var_name(const char *s);
const char *kl_check_port_name(const char *s);
const char *kl_check_qualified_name(const char *s);
const char *kl_check_label_value(const char *s);
bool kl_is_ip(const char *s);

/* Fails with `Invalid value: "<value>": <why>` at key. */
bool kl_dec_invalid(kl_dec *d, const char *key, const char *value, const char *why);

/* Containers (podspec-container.c): decodes spec.<key>[] into *out. */
bool kl_dec_containers(kl_dec *d, const cJSON *spec, const char *key, bool init, bool host_network,
                       kl_container **out, size_t *n);

/* Releases what a container owns (not the struct itself). */
void kl_container_clear(kl_container *c);

/* upstream HashContainer's role: a hash of the fields whose change restarts
 * the container. */
uint32_t kl_container_hash(const kl_container *c);

void kl_strv_clear(kl_strv *v);
void kl_map_clear(kl_map *m);

#endif
