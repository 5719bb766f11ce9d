/* rcstr.h - an immutable string shared by reference count: one copy of a
 * text that several owners keep (a pod's last status, which the kubelet
 * and the status manager both hold, and which the status manager also
 * remembers as the last one written).
 *
 *     kn_rcstr *s = kn_rcstr_new(text);       one reference
 *     kn_rcstr *mine = kn_rcstr_ref(s);        another owner
 *     kn_rcstr_unref(s);                       freed with the last one
 *
 * The text never changes after kn_rcstr_new, so readers need no lock;
 * references are counted atomically. Allocation aborts on out-of-memory. */
#ifndef KNODE_LIB_RCSTR_H
#define KNODE_LIB_RCSTR_H

#include <stdbool.h>

typedef struct kn_rcstr kn_rcstr;

/* A new shared copy of s (not NULL) with one reference. */
kn_rcstr *kn_rcstr_new(const char *s);

/* Adds a reference (thread-safe) and returns s. NULL gives NULL. */
kn_rcstr *kn_rcstr_ref(kn_rcstr *s);

/* Drops a reference; frees s with the last one. NULL is fine. */
void kn_rcstr_unref(kn_rcstr *s);

/* The text (valid while a reference is held). */
const char *kn_rcstr_str(const kn_rcstr *s);

/* True when a and b hold the same text (both NULL counts as equal). */
bool kn_rcstr_equal(const kn_rcstr *a, const kn_rcstr *b);

#endif
