#include "lib/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"

static const char *const code_names[KN_ERRCODE_MAX] = {
    [KN_OK] = "ok",
    [KN_EINTERNAL] = "internal",
    [KN_EINVAL] = "invalid",
    [KN_ENOTFOUND] = "not-found",
    [KN_EEXIST] = "already-exists",
    [KN_ECONFLICT] = "conflict",
    [KN_EIO] = "io",
    [KN_ETIMEDOUT] = "timeout",
    [KN_EUNAVAILABLE] = "unavailable",
    [KN_EGONE] = "gone",
    [KN_EUNAUTHORIZED] = "unauthorized",
    [KN_EFORBIDDEN] = "forbidden",
    [KN_ETOOLARGE] = "too-large",
    [KN_ERANGE] = "out-of-range",
    [KN_ENOTSUP] = "not-supported",
    [KN_ECANCELED] = "canceled",
    [KN_ETOOMANY] = "too-many-requests",
    [KN_EMEDIATYPE] = "unsupported-media-type",
};

const char *kn_errcode_name(kn_errcode code)
{
    if ((int)code < 0 || code >= KN_ERRCODE_MAX || !code_names[code])
        return "unknown";
    return code_names[code];
}

static int code_ret(kn_errcode code)
{
    return code == KN_OK ? -KN_EINTERNAL : -(int)code;
}

int kn_error_setv(kn_error **err, kn_errcode code, const char *fmt, va_list ap)
{
    if (code == KN_OK)
        code = KN_EINTERNAL;
    if (!err || *err)
        return code_ret(code);
    kn_error *e = xcalloc(1, sizeof(*e));
    e->code = code;
    e->message = xvasprintf(fmt, ap);
    *err = e;
    return code_ret(code);
}

int kn_error_set(kn_error **err, kn_errcode code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = kn_error_setv(err, code, fmt, ap);
    va_end(ap);
    return r;
}

int kn_error_errno(kn_error **err, int errnum, const char *fmt, ...)
{
    if (!err || *err)
        return -KN_EIO;
    va_list ap;
    va_start(ap, fmt);
    char *head = xvasprintf(fmt, ap);
    va_end(ap);
    char buf[128];
    const char *s = strerror_r(errnum, buf, sizeof(buf));
    int r = kn_error_set(err, KN_EIO, "%s: %s", head, s);
    (*err)->sys_errno = errnum;
    free(head);
    return r;
}

int kn_error_wrap(kn_error **err, const char *fmt, ...)
{
    if (!err)
        return -KN_EINTERNAL;
    va_list ap;
    va_start(ap, fmt);
    char *ctx = xvasprintf(fmt, ap);
    va_end(ap);
    if (!*err) {
        kn_error_set(err, KN_EINTERNAL, "%s: unknown error", ctx);
        free(ctx);
        return -KN_EINTERNAL;
    }
    char *msg = xasprintf("%s: %s", ctx, (*err)->message);
    free(ctx);
    free((*err)->message);
    (*err)->message = msg;
    return code_ret((*err)->code);
}

void kn_error_free(kn_error **err)
{
    if (!err || !*err)
        return;
    free((*err)->message);
    free(*err);
    *err = NULL;
}

const char *kn_error_msg(const kn_error *err)
{
    return err ? err->message : "";
}

kn_errcode kn_error_code(const kn_error *err)
{
    return err ? err->code : KN_OK;
}
