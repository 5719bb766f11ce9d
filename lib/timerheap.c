#include "lib/timerheap.h"

#include <stdlib.h>

#include "lib/clock.h"
#include "lib/xalloc.h"

/* Timers live in a slot table; the heap holds slot indexes and each slot
 * knows its heap position, so a handle finds its heap entry in O(1).
 * A handle is (generation << 32 | slot index + 1); a slot's generation
 * changes whenever it is freed, which makes old handles stale. */
typedef struct slot {
    int64_t deadline;
    uint64_t seq; /* tie-break: FIFO among equal deadlines */
    kn_timer_cb cb;
    void *data;
    uint32_t gen;
    int32_t pos;        /* heap index, -1 when free */
    uint32_t next_free; /* free-list link (index + 1, 0 = end) */
} slot;

struct kn_timerheap {
    slot *slots;
    uint32_t nslots, slots_cap;
    uint32_t free_head; /* index + 1, 0 = none */
    uint32_t *heap;     /* slot indexes */
    uint32_t len, heap_cap;
    uint64_t seq;
};

kn_timerheap *kn_timerheap_new(void)
{
    return xcalloc(1, sizeof(kn_timerheap));
}

void kn_timerheap_free(kn_timerheap *h)
{
    if (!h)
        return;
    free(h->slots);
    free(h->heap);
    free(h);
}

static bool before(const kn_timerheap *h, uint32_t a, uint32_t b)
{
    const slot *x = &h->slots[a], *y = &h->slots[b];
    if (x->deadline != y->deadline)
        return x->deadline < y->deadline;
    return x->seq < y->seq;
}

static void place(kn_timerheap *h, uint32_t pos, uint32_t idx)
{
    h->heap[pos] = idx;
    h->slots[idx].pos = (int32_t)pos;
}

static void sift_up(kn_timerheap *h, uint32_t pos)
{
    uint32_t idx = h->heap[pos];
    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;
        if (!before(h, idx, h->heap[parent]))
            break;
        place(h, pos, h->heap[parent]);
        pos = parent;
    }
    place(h, pos, idx);
}

static void sift_down(kn_timerheap *h, uint32_t pos)
{
    uint32_t idx = h->heap[pos];
    for (;;) {
        uint32_t child = 2 * pos + 1;
        if (child >= h->len)
            break;
        if (child + 1 < h->len && before(h, h->heap[child + 1], h->heap[child]))
            child++;
        if (!before(h, h->heap[child], idx))
            break;
        place(h, pos, h->heap[child]);
        pos = child;
    }
    place(h, pos, idx);
}

/* Restores heap order around pos after its key changed either way. */
static void fix(kn_timerheap *h, uint32_t pos)
{
    if (pos > 0 && before(h, h->heap[pos], h->heap[(pos - 1) / 2]))
        sift_up(h, pos);
    else
        sift_down(h, pos);
}

static uint32_t slot_alloc(kn_timerheap *h)
{
    if (h->free_head) {
        uint32_t idx = h->free_head - 1;
        h->free_head = h->slots[idx].next_free;
        return idx;
    }
    if (h->nslots == h->slots_cap) {
        h->slots_cap = h->slots_cap ? h->slots_cap * 2 : 16;
        h->slots = xreallocarray(h->slots, h->slots_cap, sizeof(slot));
        h->heap = xreallocarray(h->heap, h->slots_cap, sizeof(uint32_t));
    }
    h->slots[h->nslots].gen = 1;
    return h->nslots++;
}

static void slot_release(kn_timerheap *h, uint32_t idx)
{
    slot *s = &h->slots[idx];
    s->pos = -1;
    s->gen = s->gen == UINT32_MAX ? 1 : s->gen + 1;
    s->next_free = h->free_head;
    h->free_head = idx + 1;
}

/* The slot index of a pending timer, or -1. */
static int64_t lookup(const kn_timerheap *h, kn_timer_id id)
{
    uint32_t low = (uint32_t)id, gen = (uint32_t)(id >> 32);
    if (low == 0 || low > h->nslots)
        return -1;
    const slot *s = &h->slots[low - 1];
    if (s->gen != gen || s->pos < 0)
        return -1;
    return low - 1;
}

kn_timer_id kn_timerheap_add(kn_timerheap *h, int64_t deadline_ns, kn_timer_cb cb, void *data)
{
    uint32_t idx = slot_alloc(h);
    slot *s = &h->slots[idx];
    s->deadline = deadline_ns;
    s->seq = h->seq++;
    s->cb = cb;
    s->data = data;
    h->heap[h->len] = idx;
    s->pos = (int32_t)h->len;
    h->len++;
    sift_up(h, h->len - 1);
    return (uint64_t)s->gen << 32 | (idx + 1);
}

/* Takes the entry at heap position pos out of the heap and frees its slot. */
static void remove_at(kn_timerheap *h, uint32_t pos)
{
    uint32_t idx = h->heap[pos];
    h->len--;
    if (pos != h->len) {
        place(h, pos, h->heap[h->len]);
        fix(h, pos);
    }
    slot_release(h, idx);
}

bool kn_timerheap_cancel(kn_timerheap *h, kn_timer_id id)
{
    int64_t idx = lookup(h, id);
    if (idx < 0)
        return false;
    remove_at(h, (uint32_t)h->slots[idx].pos);
    return true;
}

bool kn_timerheap_reschedule(kn_timerheap *h, kn_timer_id id, int64_t deadline_ns)
{
    int64_t idx = lookup(h, id);
    if (idx < 0)
        return false;
    slot *s = &h->slots[idx];
    s->deadline = deadline_ns;
    s->seq = h->seq++;
    fix(h, (uint32_t)s->pos);
    return true;
}

bool kn_timerheap_pending(const kn_timerheap *h, kn_timer_id id, int64_t *deadline_ns)
{
    int64_t idx = lookup(h, id);
    if (idx < 0)
        return false;
    if (deadline_ns)
        *deadline_ns = h->slots[idx].deadline;
    return true;
}

int64_t kn_timerheap_next_deadline(const kn_timerheap *h)
{
    return h->len ? h->slots[h->heap[0]].deadline : KN_TIME_NEVER;
}

bool kn_timerheap_pop_expired(kn_timerheap *h, int64_t now_ns, kn_timer_entry *out)
{
    if (h->len == 0)
        return false;
    uint32_t idx = h->heap[0];
    const slot *s = &h->slots[idx];
    if (s->deadline > now_ns)
        return false;
    *out = (kn_timer_entry){
        .id = (uint64_t)s->gen << 32 | (idx + 1),
        .deadline = s->deadline,
        .cb = s->cb,
        .data = s->data,
    };
    remove_at(h, 0);
    return true;
}

size_t kn_timerheap_run_expired(kn_timerheap *h, int64_t now_ns)
{
    size_t n = 0;
    kn_timer_entry e;
    while (kn_timerheap_pop_expired(h, now_ns, &e)) {
        n++;
        if (e.cb)
            e.cb(e.data);
    }
    return n;
}

size_t kn_timerheap_len(const kn_timerheap *h)
{
    return h->len;
}
