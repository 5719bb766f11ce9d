/* ctl-event.c - core/v1 Events from the controllers (client-go's event
 * recorder and broadcaster): events are queued and written by one thread,
 * so a slow API server never holds up a sync; a repeat of an event already
 * written (same object, component, type, reason and message) raises its
 * count and lastTimestamp instead of creating another object. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/ctl-internal.h"
#include "controlplane/objmeta.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

#define MAX_PENDING 1000
#define MAX_SEEN 4096

typedef struct pending {
    struct pending *next;
    char *ns, *agg_key;
    cJSON *event; /* the Event to create */
} pending;

typedef struct seen {
    char *agg_key, *ns, *name;
    int64_t count;
} seen;

struct kn_ctl_recorder {
    kc_client *c;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pending *head, *tail;
    size_t npending;
    bool stop;
    pthread_t thread;
    seen *seen;
    size_t nseen;
};

static void pending_free(pending *p)
{
    free(p->ns);
    free(p->agg_key);
    cJSON_Delete(p->event);
    free(p);
}

static void seen_clear(kn_ctl_recorder *r)
{
    for (size_t i = 0; i < r->nseen; i++) {
        free(r->seen[i].agg_key);
        free(r->seen[i].ns);
        free(r->seen[i].name);
    }
    r->nseen = 0;
}

static seen *seen_find(kn_ctl_recorder *r, const char *agg_key)
{
    for (size_t i = 0; i < r->nseen; i++) {
        if (strcmp(r->seen[i].agg_key, agg_key) == 0)
            return &r->seen[i];
    }
    return NULL;
}

static void seen_add(kn_ctl_recorder *r, const pending *p)
{
    if (r->nseen == MAX_SEEN)
        seen_clear(r);
    seen *s = &r->seen[r->nseen++];
    s->agg_key = xstrdup(p->agg_key);
    s->ns = xstrdup(p->ns);
    s->name = xstrdup(kn_meta_str(p->event, "name"));
    s->count = 1;
}

/* Raises the count of an event written before; false if it is gone. */
static bool bump(kn_ctl_recorder *r, seen *s)
{
    char now[32];
    kn_ctl_now(now);
    char *patch =
        xasprintf("{\"count\":%lld,\"lastTimestamp\":\"%s\"}", (long long)s->count + 1, now);
    kn_error *err = NULL;
    int rc =
        kc_patch(r->c, &kc_res_events, s->ns, s->name, NULL, KC_PATCH_MERGE, patch, NULL, &err);
    free(patch);
    if (rc == 0)
        s->count++;
    else if (kn_error_code(err) != KN_ENOTFOUND)
        KN_V(2, "events", "update event %s/%s: %s", s->ns, s->name, kn_error_msg(err));
    bool gone = rc < 0 && kn_error_code(err) == KN_ENOTFOUND;
    kn_error_free(&err);
    return !gone;
}

static void write_event(kn_ctl_recorder *r, pending *p)
{
    seen *s = seen_find(r, p->agg_key);
    if (s && bump(r, s))
        return;
    if (s) {
        free(s->agg_key);
        free(s->ns);
        free(s->name);
        *s = r->seen[--r->nseen];
    }
    kn_error *err = NULL;
    if (kc_create(r->c, &kc_res_events, p->ns, p->event, NULL, &err) < 0)
        KN_V(1, "events", "create event in %s: %s", p->ns, kn_error_msg(err));
    else
        seen_add(r, p);
    kn_error_free(&err);
}

static void *writer(void *arg)
{
    kn_ctl_recorder *r = arg;
    pthread_mutex_lock(&r->lock);
    while (!r->stop) {
        pending *p = r->head;
        if (!p) {
            pthread_cond_wait(&r->cond, &r->lock);
            continue;
        }
        r->head = p->next;
        if (!r->head)
            r->tail = NULL;
        r->npending--;
        pthread_mutex_unlock(&r->lock);
        write_event(r, p);
        pending_free(p);
        pthread_mutex_lock(&r->lock);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

kn_ctl_recorder *kn_ctl_recorder_new(kc_client *c)
{
    kn_ctl_recorder *r = xcalloc(1, sizeof(*r));
    r->c = c;
    r->seen = xcalloc(MAX_SEEN, sizeof(*r->seen));
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    if (pthread_create(&r->thread, NULL, writer, r) != 0)
        kn_oom();
    return r;
}

void kn_ctl_recorder_free(kn_ctl_recorder *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->stop = true;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    while (r->head) {
        pending *p = r->head;
        r->head = p->next;
        pending_free(p);
    }
    seen_clear(r);
    free(r->seen);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
    free(r);
}

static cJSON *involved_object(const cJSON *obj)
{
    cJSON *ref = cJSON_CreateObject();
    static const char *const top[] = {"kind", "apiVersion"};
    for (size_t i = 0; i < 2; i++) {
        const char *v = kn_ctl_str(obj, top[i]);
        if (v)
            cJSON_AddStringToObject(ref, top[i], v);
    }
    static const char *const meta[] = {"namespace", "name", "uid", "resourceVersion"};
    for (size_t i = 0; i < 4; i++) {
        const char *v = kn_meta_str(obj, meta[i]);
        if (v)
            cJSON_AddStringToObject(ref, meta[i], v);
    }
    return ref;
}

static cJSON *new_event(const char *component, const cJSON *obj, const char *ns, const char *type,
                        const char *reason, const char *message)
{
    char now[32];
    kn_ctl_now(now);
    const char *name = kn_meta_str(obj, "name");
    char *ev_name =
        xasprintf("%s.%llx", name ? name : "unknown", (unsigned long long)kn_time_wall_ns());
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "apiVersion", "v1");
    cJSON_AddStringToObject(ev, "kind", "Event");
    cJSON *m = cJSON_AddObjectToObject(ev, "metadata");
    cJSON_AddStringToObject(m, "name", ev_name);
    cJSON_AddStringToObject(m, "namespace", ns);
    free(ev_name);
    cJSON_AddItemToObject(ev, "involvedObject", involved_object(obj));
    cJSON_AddStringToObject(ev, "reason", reason);
    cJSON_AddStringToObject(ev, "message", message);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(ev, "source"), "component", component);
    cJSON_AddStringToObject(ev, "firstTimestamp", now);
    cJSON_AddStringToObject(ev, "lastTimestamp", now);
    cJSON_AddNumberToObject(ev, "count", 1);
    cJSON_AddStringToObject(ev, "type", type);
    cJSON_AddStringToObject(ev, "reportingComponent", component);
    cJSON_AddStringToObject(ev, "reportingInstance", "knode");
    return ev;
}

static void enqueue(kn_ctl_recorder *r, pending *p)
{
    pthread_mutex_lock(&r->lock);
    if (r->stop || r->npending >= MAX_PENDING) {
        pthread_mutex_unlock(&r->lock);
        pending_free(p);
        return;
    }
    if (r->tail)
        r->tail->next = p;
    else
        r->head = p;
    r->tail = p;
    r->npending++;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

void kn_ctl_event(kn_ctl_recorder *r, const char *component, const cJSON *obj, const char *type,
                  const char *reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *message = xvasprintf(fmt, ap);
    va_end(ap);
    const char *ns = kn_meta_str(obj, "namespace");
    const char *uid = kn_meta_str(obj, "uid");
    pending *p = xcalloc(1, sizeof(*p));
    p->ns = xstrdup(ns ? ns : "default");
    p->agg_key = xasprintf("%s|%s|%s|%s|%s", uid ? uid : "", component, type, reason, message);
    p->event = new_event(component, obj, p->ns, type, reason, message);
    free(message);
    enqueue(r, p);
}
