/* ctl-event.c - Events of the controllers through api-client's event
 * recorder, one recorder (source.component) per controller. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "api-client/events.h"
#include "controlplane/ctl-internal.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define MAX_COMPONENTS 16

typedef struct source {
    const char *component; /* static string */
    kc_event_recorder *rec;
} source;

struct kn_ctl_recorder {
    kc_client *c;
    pthread_mutex_t lock;
    source v[MAX_COMPONENTS];
    size_t n;
};

kn_ctl_recorder *kn_ctl_recorder_new(kc_client *c)
{
    kn_ctl_recorder *r = xcalloc(1, sizeof(*r));
    r->c = c;
    pthread_mutex_init(&r->lock, NULL);
    return r;
}

void kn_ctl_recorder_free(kn_ctl_recorder *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        kc_event_recorder_free(r->v[i].rec);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* The recorder of component, started on first use (NULL if it fails). */
static kc_event_recorder *recorder_for(kn_ctl_recorder *r, const char *component)
{
    pthread_mutex_lock(&r->lock);
    kc_event_recorder *rec = NULL;
    for (size_t i = 0; i < r->n && !rec; i++) {
        if (strcmp(r->v[i].component, component) == 0)
            rec = r->v[i].rec;
    }
    if (!rec && r->n < MAX_COMPONENTS) {
        kc_event_recorder_options o = {.component = component};
        kn_error *err = NULL;
        if (kc_event_recorder_new(r->c, &o, &rec, &err) == 0)
            r->v[r->n++] = (source){component, rec};
        else
            KN_WARN("events", "%s: %s", component, kn_error_msg(err));
        kn_error_free(&err);
    }
    pthread_mutex_unlock(&r->lock);
    return rec;
}

void kn_ctl_event(kn_ctl_recorder *r, const char *component, const cJSON *obj, const char *type,
                  const char *reason, const char *fmt, ...)
{
    kc_event_recorder *rec = recorder_for(r, component);
    if (!rec)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *message = xvasprintf(fmt, ap);
    va_end(ap);
    kc_object_ref ref;
    kc_object_ref_of(obj, &ref);
    kc_event_record(rec, &ref, type, reason, "%s", message);
    free(message);
}
