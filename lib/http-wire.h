/* http-wire.h - HTTP/1.1 request framing for lib/httpd (RFC 9112): the
 * request head, chunked request bodies and query strings.
 *
 * No I/O. The head is parsed in place: the pieces point into the caller's
 * buffer, NUL-terminated there, and live as long as it does.
 *
 *     size_t end = kn_http_head_end(buf, len);     0: read more
 *     kn_http_head h;
 *     int status = kn_http_head_parse(buf, end, &h);   0, or 400/431/501/505
 */
#ifndef KNODE_LIB_HTTP_WIRE_H
#define KNODE_LIB_HTTP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/strbuf.h"

#define KN_HTTP_MAX_HEADERS 100

typedef struct kn_http_field {
    char *name;
    char *value; /* leading and trailing blanks removed */
} kn_http_field;

typedef enum kn_http_framing {
    KN_HTTP_BODY_NONE,
    KN_HTTP_BODY_LENGTH,
    KN_HTTP_BODY_CHUNKED,
} kn_http_framing;

typedef struct kn_http_head {
    char *method;
    char *path;  /* percent-decoded, without the query */
    char *query; /* raw, after '?'; NULL without one */
    int minor;   /* HTTP/1.<minor> */
    bool keep_alive;
    kn_http_framing framing;
    uint64_t content_length; /* with KN_HTTP_BODY_LENGTH */
    bool expect_continue;
    size_t nfields;
    kn_http_field fields[KN_HTTP_MAX_HEADERS];
} kn_http_head;

/* The length of the head at the start of buf[0..len), its blank line
 * included; 0 while it is incomplete. Lines may end in CRLF or LF. */
size_t kn_http_head_end(const char *buf, size_t len);

/* Parses the head buf[0..len) (len from kn_http_head_end) in place.
 * Returns 0, or the status to answer: 400 (malformed), 431 (more than
 * KN_HTTP_MAX_HEADERS fields), 501 (a transfer coding other than chunked),
 * 505 (not HTTP/1.x). */
int kn_http_head_parse(char *buf, size_t len, kn_http_head *h);

/* The first field named name (case-insensitive), or NULL. */
const char *kn_http_head_get(const kn_http_head *h, const char *name);

/* True when the comma-separated list holds token (case-insensitive). */
bool kn_http_has_token(const char *list, const char *token);

/* Decodes %XX escapes in place (and '+' as a space when plus_is_space, as
 * in a query string). A '%' not followed by two hex digits stays as is. */
void kn_http_unescape(char *s, bool plus_is_space);

/* Splits a query string in place into decoded key/value pairs ("a=1&b",
 * b's value ""); returns how many there are, storing at most max. */
typedef struct kn_http_param {
    char *key;
    char *value;
} kn_http_param;
size_t kn_http_query_split(char *query, kn_http_param *out, size_t max);

/* An incremental decoder of a chunked body (RFC 9112 7.1; chunk extensions
 * are skipped, trailer fields read and dropped). */
typedef struct kn_http_chunked {
    int state;
    uint64_t remaining; /* bytes left in the current chunk */
    unsigned digits;    /* of the chunk size read so far */
    bool in_ext;        /* skipping a chunk extension */
    size_t line;        /* bytes of the current trailer line */
    bool done;
} kn_http_chunked;

/* Feeds in[0..n): appends the data to out and returns the bytes consumed
 * (fewer than n only once the body ended: the rest belongs to the next
 * request), or -1 when the framing is malformed. c->done tells the end. */
ssize_t kn_http_chunked_feed(kn_http_chunked *c, const char *in, size_t n, kn_buf *out);

/* The reason phrase of a status code ("OK"; "" for an unknown one). */
const char *kn_http_reason(int status);

#endif
