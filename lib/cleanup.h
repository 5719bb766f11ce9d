/* cleanup.h - scope-bound release of resources (GCC/Clang cleanup attribute).
 *
 *   cleanup_free char *s = xstrdup("x");      freed when s leaves scope
 *   cleanup_close int fd = open(...);          closed unless fd < 0
 *
 * Ownership moves out with `*out = p; p = NULL;`. Library-specific cleanups
 * (cJSON, CURL, ...) live beside their wrappers. */
#ifndef KNODE_LIB_CLEANUP_H
#define KNODE_LIB_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void kn_cleanup_freep(void *p)
{
    free(*(void **)p);
}

static inline void kn_cleanup_closep(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}

static inline void kn_cleanup_fclosep(FILE **f)
{
    if (*f)
        fclose(*f);
}

#define cleanup_free __attribute__((cleanup(kn_cleanup_freep)))
#define cleanup_close __attribute__((cleanup(kn_cleanup_closep)))
#define cleanup_file __attribute__((cleanup(kn_cleanup_fclosep)))

/* Takes the value out of a cleanup variable so it is not released. */
#define kn_steal_ptr(p)                                                                            \
    ({                                                                                             \
        __typeof__(p) kn_tmp_ = (p);                                                               \
        (p) = NULL;                                                                                \
        kn_tmp_;                                                                                   \
    })

#define KN_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
