/* reqopts.h - the options of list, watch and delete requests as upstream's
 * API server decodes and validates them: query parameters through the
 * parameter codec (a number that does not parse is 400 `strconv.ParseInt:
 * parsing "x": invalid syntax`), ListOptions validation (422 `ListOptions.
 * meta.k8s.io "" is invalid: ...`), and a DeleteOptions body, which replaces
 * the query when present (unknown members ignored, wrong JSON types refused,
 * DeleteOptions validation: 422 `DeleteOptions.meta.k8s.io "" is invalid`).
 * Independent of the HTTP server: values come from a lookup function. */
#ifndef KNODE_CONTROLPLANE_REQOPTS_H
#define KNODE_CONTROLPLANE_REQOPTS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "controlplane/apistatus.h"
#include "lib/error.h"

/* A decoded query parameter by name, or NULL. */
typedef const char *(*kn_query_fn)(void *arg, const char *key);

typedef struct kn_list_opts {
    const char *label_sel, *field_sel; /* borrowed from the query; NULL: none */
    int64_t limit;                     /* <= 0: no limit */
    int64_t timeout_s;                 /* watch timeoutSeconds; 0: unset */
    bool bookmarks;                    /* allowWatchBookmarks */
    int64_t rv;                        /* resourceVersion (0: unset or "0") */
    bool exact;                        /* resourceVersionMatch=Exact */
    int64_t cont_rev;                  /* continue token: its revision ... */
    char *cont_start;                  /* ... and its last key (owned; NULL: none) */
} kn_list_opts;

/* Decodes and validates the options of a list (watch false) or a watch.
 * A value that does not decode or a bad selector: KN_EINVAL (400). Values
 * that decode but break ListOptions validation: 0 with causes filled (the
 * caller answers 422 Invalid, see kn_options_invalid_message). */
int kn_list_opts_parse(kn_query_fn get, void *arg, bool watch, kn_list_opts *o, kn_causes *causes,
                       kn_error **err);
void kn_list_opts_free(kn_list_opts *o);

typedef struct kn_delete_opts {
    int64_t grace;           /* -1: the object's default */
    const char *propagation; /* NULL: the resource's default */
    const char *uid, *rv;    /* preconditions (NULL: none) */
    cJSON *body;             /* owned: the strings above may point into it */
} kn_delete_opts;

/* Decodes a delete request's options: the body (JSON or YAML DeleteOptions,
 * len > 0) or else the query. A body that does not decode or holds a value
 * of the wrong type: KN_EINVAL (400). DeleteOptions validation problems: 0
 * with causes filled (422). Free with kn_delete_opts_free in every case. */
int kn_delete_opts_parse(kn_query_fn get, void *arg, const char *body, size_t len,
                         kn_delete_opts *o, kn_causes *causes, kn_error **err);
void kn_delete_opts_free(kn_delete_opts *o);

/* `<kind>.meta.k8s.io "" is invalid: <field>: <message>, ...` (owned). */
char *kn_options_invalid_message(const char *kind, const kn_causes *causes);

#endif
