/* xalloc.h - allocation that aborts on out-of-memory.
 *
 * knode does not thread ENOMEM through every call: a node agent that cannot
 * allocate a few bytes cannot do anything useful, so these wrappers print one
 * line and abort (as crun's OOM() and Valkey's zmalloc do). */
#ifndef KNODE_LIB_XALLOC_H
#define KNODE_LIB_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
/* reallocarray that aborts on overflow or OOM. */
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
/* Copies at most n bytes of s and NUL-terminates; s need not be terminated. */
char *xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string; caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Prints "knode: out of memory" and aborts. */
void kn_oom(void) __attribute__((noreturn));

#endif
