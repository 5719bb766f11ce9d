/* rcstr.c - immutable reference-counted strings (see rcstr.h). */
#include "lib/rcstr.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"

struct kn_rcstr {
    atomic_int refs;
    char s[]; /* the text, in the same block */
};

kn_rcstr *kn_rcstr_new(const char *s)
{
    size_t len = strlen(s);
    kn_rcstr *r = xmalloc(sizeof(*r) + len + 1);
    atomic_init(&r->refs, 1);
    memcpy(r->s, s, len + 1);
    return r;
}

kn_rcstr *kn_rcstr_ref(kn_rcstr *s)
{
    if (s)
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void kn_rcstr_unref(kn_rcstr *s)
{
    if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        free(s);
}

const char *kn_rcstr_str(const kn_rcstr *s)
{
    return s->s;
}

bool kn_rcstr_equal(const kn_rcstr *a, const kn_rcstr *b)
{
    if (a == b)
        return true;
    return a && b && strcmp(a->s, b->s) == 0;
}
