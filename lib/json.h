/* json.h - JSON helpers on cJSON: strict parsing with positioned errors,
 * typed getters by path, JSON merge patch (RFC 7386) and JSON patch
 * (RFC 6902, with JSON pointers per RFC 6901).
 *
 * Parsing is RFC 8259 strict (as Go's encoding/json, which Kubernetes uses):
 * one value, optional surrounding whitespace (space, tab, CR, LF) and nothing
 * else; numbers must fit a double. Deviations from Go, both rare in practice:
 * a \u escape with an unpaired UTF-16 surrogate is rejected (Go substitutes
 * U+FFFD), and a string containing \u0000 is cut at the NUL (cJSON strings are
 * C strings).
 *
 * Duplicate object keys. Kubernetes' plain decoding (encoding/json,
 * sigs.k8s.io/json) keeps the last occurrence; its strict decoding (kube-apiserver
 * with fieldValidation=Strict, kubectl --validate=strict) reports
 * `duplicate field "..."`. kn_json_parse() follows plain decoding: earlier
 * occurrences are removed so every object holds unique keys.
 * kn_json_parse_opts(KN_JSON_REJECT_DUPLICATES) fails instead, naming the path.
 *
 * Numbers are doubles (cJSON): integers are exact up to ±(2^53-1), and the
 * int64 getter refuses values beyond that instead of returning a rounded one.
 *
 * cJSON's allocator is set to xmalloc (abort on out-of-memory) when this
 * module is linked, so cJSON calls never return NULL for lack of memory. */
#ifndef KNODE_LIB_JSON_H
#define KNODE_LIB_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

/* kube-apiserver's default limit on a request body (3 MiB): a sensible
 * max_len for manifests and API objects. */
#define KN_JSON_MAX_DOC ((size_t)3 * 1024 * 1024)

/* Deepest nesting of arrays/objects accepted (cJSON's own limit). */
#define KN_JSON_MAX_DEPTH 1000

/* Largest integer magnitude a double holds exactly: 2^53 - 1. */
#define KN_JSON_MAX_SAFE_INT INT64_C(9007199254740991)

static inline void kn_cjson_deletep(cJSON **p)
{
    if (*p)
        cJSON_Delete(*p);
}

/* cleanup_cjson cJSON *doc = NULL; ... deleted when doc leaves scope. */
#define cleanup_cjson __attribute__((cleanup(kn_cjson_deletep)))

/* ---- parsing and printing ---- */

/* Flags for kn_json_parse_opts(). */
enum {
    /* Fail on a key repeated within one object (strict decoding) instead of
     * keeping the last occurrence. */
    KN_JSON_REJECT_DUPLICATES = 1u << 0,
};

/* Parses exactly one JSON value from data[0..len) (need not be
 * NUL-terminated). max_len 0 means no limit. On success *out owns the new
 * tree. Errors: KN_ETOOLARGE (len > max_len, or nesting deeper than
 * KN_JSON_MAX_DEPTH); KN_EINVAL for anything that is not one JSON value,
 * with the position: "invalid JSON at line 3, column 7 (offset 25): invalid
 * character '}' looking for beginning of value". Duplicate keys: last wins. */
int kn_json_parse(const char *data, size_t len, size_t max_len, cJSON **out, kn_error **err);

/* kn_json_parse with KN_JSON_* flags. With KN_JSON_REJECT_DUPLICATES a
 * repeated key fails with KN_EINVAL: `duplicate field "spec.replicas"`. */
int kn_json_parse_opts(const char *data, size_t len, size_t max_len, unsigned flags, cJSON **out,
                       kn_error **err);

/* Compact JSON text of item; owned by the caller (free()). Never NULL. */
char *kn_json_print(const cJSON *item);

/* Deep equality: same types, equal numbers, strings, array elements in
 * order, and the same object members in any order. NULL equals only NULL. */
bool kn_json_equal(const cJSON *a, const cJSON *b);

/* "null", "bool", "number", "string", "array", "object" ("missing" for NULL). */
const char *kn_json_type_name(const cJSON *item);

/* ---- typed getters by path ----
 *
 * A path names a value below root: members separated by '.', array indexes in
 * brackets, e.g. "spec.containers[0].image". A member whose name contains '.'
 * or '[' is written quoted in brackets: metadata.annotations["example.com/x"]
 * (with \" and \\ escapes). The empty path names root itself.
 *
 * A JSON null counts as missing (as Kubernetes treats an explicit null as
 * unset). Required getters fail with KN_EINVAL and the path:
 *   "spec.containers[0].image: required value is missing"
 *   "spec.containers[0].image: expected string, got number"
 *   "spec.containers: expected array, got object"    (a step on the way)
 * Optional (_opt) getters store def for a missing value and return 0; they
 * return 1 when the value was present. A present value of the wrong type is
 * always an error. A malformed path is KN_EINVAL too. */

/* Finds the value at path: returns 1 and sets *out, or 0 with *out = NULL
 * when it (or a step on the way) is missing or null; < 0 on a malformed path
 * or a step of the wrong type. */
int kn_json_lookup(const cJSON *root, const char *path, const cJSON **out, kn_error **err);

/* Strings: *out points into the tree (valid while the tree lives). */
int kn_json_get_string(const cJSON *root, const char *path, const char **out, kn_error **err);
int kn_json_get_string_opt(const cJSON *root, const char *path, const char *def, const char **out,
                           kn_error **err);

int kn_json_get_bool(const cJSON *root, const char *path, bool *out, kn_error **err);
int kn_json_get_bool_opt(const cJSON *root, const char *path, bool def, bool *out, kn_error **err);

/* Integers: the number must be integral ("expected integer, got 1.5") and
 * within ±KN_JSON_MAX_SAFE_INT (beyond it a double no longer holds every
 * integer, so the value read may not be the one written): KN_ERANGE. */
int kn_json_get_int64(const cJSON *root, const char *path, int64_t *out, kn_error **err);
int kn_json_get_int64_opt(const cJSON *root, const char *path, int64_t def, int64_t *out,
                          kn_error **err);

int kn_json_get_double(const cJSON *root, const char *path, double *out, kn_error **err);
int kn_json_get_double_opt(const cJSON *root, const char *path, double def, double *out,
                           kn_error **err);

/* Objects and arrays: *out points into the tree; the _opt variants set *out
 * to NULL when missing. */
int kn_json_get_object(const cJSON *root, const char *path, const cJSON **out, kn_error **err);
int kn_json_get_object_opt(const cJSON *root, const char *path, const cJSON **out, kn_error **err);
int kn_json_get_array(const cJSON *root, const char *path, const cJSON **out, kn_error **err);
int kn_json_get_array_opt(const cJSON *root, const char *path, const cJSON **out, kn_error **err);

/* ---- JSON merge patch (RFC 7386) ---- */

/* Returns a new document: patch applied to target (target NULL: absent).
 * Never fails; both inputs are left unchanged. Caller deletes the result. */
cJSON *kn_json_merge_patch_apply(const cJSON *target, const cJSON *patch);

/* Returns a new merge patch that turns original into modified: {} when they
 * are equal objects, removed members as null, and the whole of modified when
 * either is not an object. Caveat of the format: null values inside objects
 * of modified cannot be expressed (applying the patch removes them). */
cJSON *kn_json_merge_patch_create(const cJSON *original, const cJSON *modified);

/* ---- JSON pointer (RFC 6901) and JSON patch (RFC 6902) ---- */

/* Finds the value a JSON pointer ("" or "/a/0/b~1c") names. Returns 0 and
 * sets *out; KN_ENOTFOUND when nothing is there; KN_EINVAL for a malformed
 * pointer. */
int kn_json_pointer_get(const cJSON *doc, const char *pointer, const cJSON **out, kn_error **err);

/* Escapes one reference token ("a/b~c" -> "a~1b~0c"); caller frees. */
char *kn_json_pointer_escape(const char *token);

/* Applies a JSON patch (an array of add/remove/replace/move/copy/test
 * operations) to doc and stores the patched copy in *out. Atomic: doc is
 * never modified, and on failure *out is untouched. Errors name the
 * operation by its 0-based index in the patch array:
 * "operation 2 (replace /spec/replicas): path not found".
 * KN_ECONFLICT when a "test" operation does not match (the optimistic
 * concurrency use of test); KN_EINVAL for everything else. */
int kn_json_patch_apply(const cJSON *doc, const cJSON *patch, cJSON **out, kn_error **err);

#endif
