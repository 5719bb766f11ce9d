/* ossl.c - OpenSSL's error queue as a kn_error (see ossl.h). */
#include "lib/ossl.h"

#include <openssl/err.h>

int kn_ossl_error(kn_error **err, kn_errcode code, const char *what)
{
    char buf[256] = "unknown OpenSSL error";
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    return kn_error_set(err, code, "%s: %s", what, buf);
}
