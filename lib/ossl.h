/* ossl.h - OpenSSL's error queue as a kn_error.
 *
 *     if (!X509_sign(cert, key, EVP_sha256()))
 *         return kn_ossl_error(err, KN_EINTERNAL, "sign the certificate");
 */
#ifndef KNODE_LIB_OSSL_H
#define KNODE_LIB_OSSL_H

#include "lib/error.h"

/* Sets *err to "what: <the oldest error queued>" (or "what: unknown OpenSSL
 * error" with an empty queue), empties the thread's queue and returns
 * -code, as kn_error_set does. */
int kn_ossl_error(kn_error **err, kn_errcode code, const char *what);

#endif
