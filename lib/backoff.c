#include "lib/backoff.h"

#include <pthread.h>
#include <search.h>
#include <string.h>
#include <sys/random.h>

#include "lib/xalloc.h"

/* ---- random numbers ------------------------------------------------------------ */

void kn_rand_seed(kn_rand *r, uint64_t seed)
{
    unsigned short s[3] = {(unsigned short)seed, (unsigned short)(seed >> 16),
                           (unsigned short)(seed >> 32)};
    memset(&r->state, 0, sizeof(r->state));
    seed48_r(s, &r->state);
    r->fn = NULL;
    r->userdata = NULL;
}

void kn_rand_init(kn_rand *r)
{
    uint64_t seed;
    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
        seed = (uint64_t)kn_time_monotonic_ns() ^ (uint64_t)(uintptr_t)r;
    kn_rand_seed(r, seed);
}

double kn_rand_float(kn_rand *r)
{
    if (r->fn)
        return r->fn(r->userdata);
    double v;
    drand48_r(&r->state, &v);
    return v;
}

/* (int64)(d * f) saturating at INT64_MAX; d >= 0, f >= 0. */
static int64_t scale(int64_t d, double f)
{
    double v = (double)d * f;
    if (!(v < 9223372036854775807.0))
        return INT64_MAX;
    return (int64_t)v;
}

int64_t kn_jitter(int64_t d_ns, double max_factor, kn_rand *r)
{
    if (max_factor <= 0.0)
        max_factor = 1.0;
    return kn_time_add(d_ns, scale(d_ns, kn_rand_float(r) * max_factor));
}

/* ---- wait.Backoff ------------------------------------------------------------- */

void kn_backoff_init(kn_backoff *b, const kn_backoff_params *p)
{
    b->initial = *p;
    kn_rand_init(&b->rand);
    kn_backoff_reset(b);
}

void kn_backoff_reset(kn_backoff *b)
{
    b->duration_ns = b->initial.duration_ns;
    b->steps = b->initial.steps;
}

void kn_backoff_set_rand(kn_backoff *b, kn_rand_fn fn, void *userdata)
{
    b->rand.fn = fn;
    b->rand.userdata = userdata;
}

int64_t kn_backoff_next(kn_backoff *b)
{
    const kn_backoff_params *p = &b->initial;
    int64_t d = b->duration_ns;
    if (b->steps < 1)
        return p->jitter > 0 ? kn_jitter(d, p->jitter, &b->rand) : d;
    b->steps--;
    if (p->factor != 0) {
        int64_t next = scale(d, p->factor);
        if (p->cap_ns > 0 && next > p->cap_ns) {
            next = p->cap_ns;
            b->steps = 0;
        }
        b->duration_ns = next;
    }
    return p->jitter > 0 ? kn_jitter(d, p->jitter, &b->rand) : d;
}

/* ---- flowcontrol.Backoff -------------------------------------------------------- */

typedef struct bo_entry {
    char *key;
    int64_t backoff;
    int64_t last_update;
} bo_entry;

struct kn_backoff_tracker {
    pthread_mutex_t lock;
    kn_clock *clock;
    int64_t initial, max, expire;
    double max_jitter;
    kn_rand rand;
    void *root; /* tsearch tree of bo_entry * */
    size_t len;
};

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const bo_entry *)a)->key, ((const bo_entry *)b)->key);
}

static void entry_free(void *p)
{
    bo_entry *e = p;
    free(e->key);
    free(e);
}

kn_backoff_tracker *kn_backoff_tracker_new(kn_clock *clock, int64_t initial_ns, int64_t max_ns,
                                           double max_jitter)
{
    kn_backoff_tracker *t = xcalloc(1, sizeof(*t));
    pthread_mutex_init(&t->lock, NULL);
    t->clock = clock ? clock : kn_clock_realtime();
    t->initial = initial_ns;
    t->max = max_ns;
    t->expire = kn_time_add(max_ns, max_ns);
    t->max_jitter = max_jitter;
    kn_rand_init(&t->rand);
    return t;
}

void kn_backoff_tracker_free(kn_backoff_tracker *t)
{
    if (!t)
        return;
    tdestroy(t->root, entry_free);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

void kn_backoff_tracker_set_expiry(kn_backoff_tracker *t, int64_t expire_ns)
{
    pthread_mutex_lock(&t->lock);
    t->expire = expire_ns;
    pthread_mutex_unlock(&t->lock);
}

void kn_backoff_tracker_set_rand(kn_backoff_tracker *t, kn_rand_fn fn, void *userdata)
{
    pthread_mutex_lock(&t->lock);
    t->rand.fn = fn;
    t->rand.userdata = userdata;
    pthread_mutex_unlock(&t->lock);
}

static bo_entry *find(kn_backoff_tracker *t, const char *key)
{
    bo_entry probe = {.key = (char *)key};
    bo_entry **node = tfind(&probe, &t->root, entry_cmp);
    return node ? *node : NULL;
}

static bool expired(const kn_backoff_tracker *t, const bo_entry *e, int64_t at)
{
    int64_t since;
    if (__builtin_sub_overflow(at, e->last_update, &since))
        return at > e->last_update;
    return since > t->expire;
}

/* jitter(d) = rand * max_jitter * d, 0 when jitter is off. */
static int64_t tracker_jitter(kn_backoff_tracker *t, int64_t d)
{
    if (t->max_jitter <= 0)
        return 0;
    return scale(d, kn_rand_float(&t->rand) * t->max_jitter);
}

int64_t kn_backoff_tracker_get(kn_backoff_tracker *t, const char *key)
{
    pthread_mutex_lock(&t->lock);
    bo_entry *e = find(t, key);
    int64_t d = e ? e->backoff : 0;
    pthread_mutex_unlock(&t->lock);
    return d;
}

static bo_entry *insert(kn_backoff_tracker *t, const char *key)
{
    bo_entry *e = xcalloc(1, sizeof(*e));
    e->key = xstrdup(key);
    bo_entry **node = tsearch(e, &t->root, entry_cmp);
    if (!node)
        kn_oom();
    t->len++;
    return e;
}

void kn_backoff_tracker_next(kn_backoff_tracker *t, const char *key, int64_t event_time_ns)
{
    pthread_mutex_lock(&t->lock);
    bo_entry *e = find(t, key);
    if (!e || expired(t, e, event_time_ns)) {
        if (!e)
            e = insert(t, key);
        e->backoff = kn_time_add(t->initial, tracker_jitter(t, t->initial));
    } else {
        int64_t d = kn_time_add(kn_time_add(e->backoff, e->backoff), tracker_jitter(t, e->backoff));
        e->backoff = d < t->max ? d : t->max;
    }
    e->last_update = t->clock->now(t->clock);
    pthread_mutex_unlock(&t->lock);
}

bool kn_backoff_tracker_is_in_backoff_since(kn_backoff_tracker *t, const char *key,
                                            int64_t event_time_ns)
{
    pthread_mutex_lock(&t->lock);
    bo_entry *e = find(t, key);
    bool r = false;
    if (e && !expired(t, e, event_time_ns)) {
        int64_t now = t->clock->now(t->clock);
        r = kn_time_add(now, -event_time_ns) < e->backoff;
    }
    pthread_mutex_unlock(&t->lock);
    return r;
}

bool kn_backoff_tracker_is_in_backoff_since_update(kn_backoff_tracker *t, const char *key,
                                                   int64_t event_time_ns)
{
    pthread_mutex_lock(&t->lock);
    bo_entry *e = find(t, key);
    bool r = false;
    if (e && !expired(t, e, event_time_ns))
        r = kn_time_add(event_time_ns, -e->last_update) < e->backoff;
    pthread_mutex_unlock(&t->lock);
    return r;
}

static void remove_entry(kn_backoff_tracker *t, bo_entry *e)
{
    tdelete(e, &t->root, entry_cmp);
    entry_free(e);
    t->len--;
}

void kn_backoff_tracker_reset(kn_backoff_tracker *t, const char *key)
{
    pthread_mutex_lock(&t->lock);
    bo_entry *e = find(t, key);
    if (e)
        remove_entry(t, e);
    pthread_mutex_unlock(&t->lock);
}

typedef struct gc_walk {
    const kn_backoff_tracker *t;
    int64_t now;
    bo_entry **victims;
    size_t n;
} gc_walk;

static void gc_visit(const void *nodep, VISIT which, void *closure)
{
    if (which != postorder && which != leaf)
        return;
    gc_walk *w = closure;
    bo_entry *e = *(bo_entry *const *)nodep;
    if (expired(w->t, e, w->now))
        w->victims[w->n++] = e;
}

size_t kn_backoff_tracker_gc(kn_backoff_tracker *t)
{
    pthread_mutex_lock(&t->lock);
    gc_walk w = {.t = t, .now = t->clock->now(t->clock)};
    w.victims = xreallocarray(NULL, t->len + 1, sizeof(bo_entry *));
    twalk_r(t->root, gc_visit, &w);
    for (size_t i = 0; i < w.n; i++)
        remove_entry(t, w.victims[i]);
    free(w.victims);
    pthread_mutex_unlock(&t->lock);
    return w.n;
}

size_t kn_backoff_tracker_len(kn_backoff_tracker *t)
{
    pthread_mutex_lock(&t->lock);
    size_t n = t->len;
    pthread_mutex_unlock(&t->lock);
    return n;
}
