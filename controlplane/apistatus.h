/* apistatus.h - Kubernetes `Status` bodies for every rejection the API
 * server makes, and the mapping from the project's error kinds to HTTP. */
#ifndef KNODE_CONTROLPLANE_APISTATUS_H
#define KNODE_CONTROLPLANE_APISTATUS_H

#include <cjson/cJSON.h>

#include "lib/error.h"

/* One field error of a 422 Invalid: {reason: FieldValueInvalid, field, message}. */
typedef struct kn_cause {
    const char *type; /* "FieldValueInvalid", "FieldValueRequired", "FieldValueDuplicate", ... */
    char *field;      /* "spec.containers[0].name" (owned) */
    char *message;    /* owned */
} kn_cause;

typedef struct kn_causes {
    kn_cause *items;
    size_t len, cap;
} kn_causes;

void kn_causes_add(kn_causes *c, const char *type, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void kn_causes_free(kn_causes *c);

/* A Status body (owned JSON text). reason is the Kubernetes StatusReason
 * ("NotFound", "AlreadyExists", "Conflict", "Invalid", "BadRequest",
 * "Forbidden", "Unauthorized", "MethodNotAllowed", "Gone", ...). group/kind/name
 * go into details when non-NULL. */
char *kn_status_json(int code, const char *reason, const char *message, const char *group,
                     const char *kind, const char *name, const kn_causes *causes);

/* The HTTP code and reason for an error kind. */
int kn_status_from_error(kn_errcode code, const char **reason);

#endif
