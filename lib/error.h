/* error.h - the one error object carried on knode's control paths.
 *
 * A function that can fail takes `kn_error **err` last, returns a negative
 * value on failure and fills *err with {code, errno, message}:
 *
 *     if (load_config(path, &cfg, err) < 0)
 *         return kn_error_wrap(err, "start kubelet");
 *
 * Callers add context on the way up; the final message reads outermost first:
 * "start kubelet: read /etc/x: No such file or directory". Dropping an error
 * is an explicit kn_error_free(). Each external library's errors (curl, gRPC,
 * libnftables, SQLite, ...) are translated once, in its wrapper.
 *
 * Hot paths (DNS packets, netlink parsing) use plain negative errno instead. */
#ifndef KNODE_LIB_ERROR_H
#define KNODE_LIB_ERROR_H

#include <stdarg.h>

/* Error kinds: what a caller can act on, independent of where it came from. */
typedef enum kn_errcode {
    KN_OK = 0,
    KN_EINTERNAL = 1, /* a bug or an unexpected library failure */
    KN_EINVAL,        /* bad input: a field, a flag, a document */
    KN_ENOTFOUND,     /* the named thing does not exist */
    KN_EEXIST,        /* already exists */
    KN_ECONFLICT,     /* optimistic-concurrency conflict: re-read and retry */
    KN_EIO,           /* a system call or I/O failed (see sys_errno) */
    KN_ETIMEDOUT,     /* a deadline passed */
    KN_EUNAVAILABLE,  /* a peer is not reachable or not ready: retry later */
    KN_EGONE,         /* expired, e.g. a watch's resourceVersion was compacted */
    KN_EUNAUTHORIZED, /* no or bad credentials */
    KN_EFORBIDDEN,    /* authenticated but not allowed */
    KN_ETOOLARGE,     /* input exceeds a limit */
    KN_ERANGE,        /* a number does not fit */
    KN_ENOTSUP,       /* not supported or not built */
    KN_ECANCELED,     /* the operation was cancelled (shutdown) */
    KN_ETOOMANY,      /* rate limited (HTTP 429) */
    KN_EMEDIATYPE,    /* a body in a format this peer does not speak (HTTP 415) */
    KN_ERRCODE_MAX
} kn_errcode;

typedef struct kn_error {
    kn_errcode code;
    int sys_errno; /* errno that caused it, or 0 */
    char *message; /* owned; context-wrapped, never NULL */
} kn_error;

/* Fills *err (if err is non-NULL and *err is NULL) and returns -code.
 * An already-set *err is kept: the first error wins. */
int kn_error_set(kn_error **err, kn_errcode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int kn_error_setv(kn_error **err, kn_errcode code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Like kn_error_set with code KN_EIO, appending ": strerror(errnum)" and
 * recording errnum. */
int kn_error_errno(kn_error **err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes "<context>: " to *err's message and returns -(*err)->code.
 * With no error set, sets KN_EINTERNAL ("<context>: unknown error"). */
int kn_error_wrap(kn_error **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Releases *err and sets it to NULL. Safe on NULL and on *err == NULL. */
void kn_error_free(kn_error **err);

/* The message, or "" when err is NULL. */
const char *kn_error_msg(const kn_error *err);

/* The code, or KN_OK when err is NULL. */
kn_errcode kn_error_code(const kn_error *err);

/* A short stable name for a code: "invalid", "not-found", ... */
const char *kn_errcode_name(kn_errcode code);

#define cleanup_error __attribute__((cleanup(kn_error_free)))

#endif
