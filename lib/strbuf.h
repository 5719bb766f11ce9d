/* strbuf.h - a growable byte/string buffer, always NUL-terminated.
 *
 *     cleanup_buf kn_buf b = KN_BUF_INIT;
 *     kn_buf_appendf(&b, "%s/%s", ns, name);
 *     char *key = kn_buf_steal(&b);          caller frees key
 *
 * b.data is never NULL and always ends in a NUL at b.data[b.len], so it can be
 * read as a C string at any time (an empty buffer points at a shared static
 * ""; never write through data directly). The buffer may also hold NUL bytes
 * (kn_buf_append with binary data); len is then the authority. Allocation
 * aborts on out-of-memory (lib/xalloc.h). */
#ifndef KNODE_LIB_STRBUF_H
#define KNODE_LIB_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct kn_buf {
    char *data; /* NUL-terminated contents; never NULL */
    size_t len; /* bytes before the terminating NUL */
    size_t cap; /* allocated bytes (0: data is the shared empty string) */
} kn_buf;

/* The shared empty string an unallocated buffer points at. Read-only. */
extern char kn_buf_empty_[1];

#define KN_BUF_INIT                                                                                \
    {                                                                                              \
        kn_buf_empty_, 0, 0                                                                        \
    }

/* Makes b an empty buffer that owns no memory. */
void kn_buf_init(kn_buf *b);

/* Ensures room for extra more bytes plus the NUL without reallocating. */
void kn_buf_reserve(kn_buf *b, size_t extra);

/* Appends len bytes of data (which may contain NULs). */
void kn_buf_append(kn_buf *b, const void *data, size_t len);

/* Appends the C string s. */
void kn_buf_append_str(kn_buf *b, const char *s);

/* Appends one byte. */
void kn_buf_append_char(kn_buf *b, char c);

/* Appends printf-formatted text. */
void kn_buf_appendf(kn_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kn_buf_appendv(kn_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Empties the buffer but keeps its memory for reuse. */
void kn_buf_reset(kn_buf *b);

/* Shortens the contents to len bytes; a len beyond the current length is a
 * no-op. */
void kn_buf_truncate(kn_buf *b, size_t len);

/* Returns the contents as an owned, NUL-terminated string (caller frees) and
 * leaves b empty, owning no memory. Never NULL. */
char *kn_buf_steal(kn_buf *b);

/* Releases the memory and leaves b empty (safe to reuse or free again). */
void kn_buf_free(kn_buf *b);

#define cleanup_buf __attribute__((cleanup(kn_buf_free)))

#endif
