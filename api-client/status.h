/* status.h - the API server's meta/v1 Status answers, and the error kinds
 * they map to.
 *
 * Every non-2xx answer of a Kubernetes API server carries a Status body:
 *   {"kind":"Status","apiVersion":"v1","status":"Failure","message":"pods \"x\" not found",
 *    "reason":"NotFound","details":{"name":"x","kind":"pods"},"code":404}
 * kc_status_decode reads one; kc_status_error turns any non-2xx answer (with
 * a Status body or not) into a kn_error whose code callers act on:
 *   409 Conflict -> KN_ECONFLICT (AlreadyExists -> KN_EEXIST), 410 / Expired /
 *   Gone -> KN_EGONE, 404 -> KN_ENOTFOUND, 429 -> KN_ETOOMANY, ... */
#ifndef KNODE_API_CLIENT_STATUS_H
#define KNODE_API_CLIENT_STATUS_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "lib/error.h"

/* Largest Status body decoded (the API server's are a few KiB). */
#define KC_STATUS_MAX_BODY (256 * 1024)

typedef struct kc_status_cause {
    char *reason;  /* "FieldValueInvalid", ... or NULL */
    char *message; /* or NULL */
    char *field;   /* "spec.containers[0].image", or NULL */
} kc_status_cause;

typedef struct kc_status {
    int code;                /* "code", 0 when absent */
    char *status;            /* "Failure" / "Success", or NULL */
    char *reason;            /* "NotFound", "Conflict", "Expired", ... or NULL */
    char *message;           /* or NULL */
    char *name;              /* details.name, or NULL */
    char *group;             /* details.group, or NULL */
    char *kind;              /* details.kind, or NULL */
    char *uid;               /* details.uid, or NULL */
    int retry_after_seconds; /* details.retryAfterSeconds, 0 when absent */
    kc_status_cause *causes; /* details.causes */
    size_t ncauses;
} kc_status;

/* Decodes a Status object from JSON text. Fails with KN_EINVAL when the text
 * is not JSON, not an object of kind "Status", or a field has a wrong type;
 * KN_ETOOLARGE beyond KC_STATUS_MAX_BODY. On success fill *out (release with
 * kc_status_clear). */
int kc_status_decode(const char *body, size_t len, kc_status *out, kn_error **err);

/* The same from an already parsed object (e.g. a watch ERROR event's object). */
int kc_status_from_json(const cJSON *obj, kc_status *out, kn_error **err);

/* Releases the strings of s and zeroes it. */
void kc_status_clear(kc_status *s);

/* The error kind for an HTTP status code and an optional Status reason. */
kn_errcode kc_status_errcode(int http_code, const char *reason);

/* Fills *err for a non-2xx answer and returns its negative code. The message
 * reads "<METHOD> <path>: 404 NotFound: pods \"x\" not found" with causes
 * appended ("; spec.replicas: must be >= 0"); a body that is not a Status
 * gives "<code> <HTTP reason phrase>" and the first bytes of the body. what
 * (may be NULL) prefixes the message. */
int kc_status_error(int http_code, const char *body, size_t len, const char *what, kn_error **err);

/* The same for a decoded Status (code 0 falls back to http_code). */
int kc_status_error_from(const kc_status *s, int http_code, const char *what, kn_error **err);

#endif
