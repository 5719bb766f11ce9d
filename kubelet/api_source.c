/* api_source.c - pods bound to this node, from the API server. */
#include "kubelet/api_source.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define COMPONENT "api-source"

struct kl_api_source {
    kc_informer_factory *factory;
    kc_informer *inf;
    kl_pod_sink sink;
    void (*on_mirror_gone)(void *arg, const char *ns, const char *name);
    void *mirror_arg;
    pthread_t ready_thread;
    bool thread_started;
    _Atomic bool stop;
};

static bool is_mirror(const cJSON *obj)
{
    const cJSON *ann = NULL;
    kn_json_get_object_opt(obj, "metadata.annotations", &ann, NULL);
    return ann && cJSON_GetObjectItemCaseSensitive(ann, "kubernetes.io/config.mirror") != NULL;
}

static void deliver(kl_api_source *s, kc_obj *o)
{
    const cJSON *obj = kc_obj_json(o);
    if (is_mirror(obj)) {
        const char *ns = NULL, *name = NULL, *del = NULL;
        kn_json_get_string_opt(obj, "metadata.namespace", "default", &ns, NULL);
        kn_json_get_string_opt(obj, "metadata.name", NULL, &name, NULL);
        kn_json_get_string_opt(obj, "metadata.deletionTimestamp", NULL, &del, NULL);
        if (del && name && s->on_mirror_gone)
            s->on_mirror_gone(s->mirror_arg, ns, name);
        return;
    }
    kl_pod *pod = NULL;
    cleanup_error kn_error *err = NULL;
    /* the pod keeps the informer's text rather than a second copy */
    kl_text_ref text = {kc_obj_text(o), kc_obj_ref_text(o), kc_obj_unref_text};
    if (kl_pod_decode_text(obj, &text, &pod, &err) < 0) {
        KN_WARN(COMPONENT, "pod %s: %s", kc_obj_key(o), kn_error_msg(err));
        return;
    }
    s->sink.update(s->sink.arg, KL_API_SOURCE, pod);
    kl_pod_unref(pod);
}

static void on_add(kc_obj *o, void *ud)
{
    deliver(ud, o);
}

static void on_update(kc_obj *old_obj, kc_obj *new_obj, void *ud)
{
    (void)old_obj;
    deliver(ud, new_obj);
}

static void on_delete(kc_obj *last, void *ud)
{
    kl_api_source *s = ud;
    const cJSON *obj = kc_obj_json(last);
    const char *uid = NULL, *ns = NULL, *name = NULL;
    kn_json_get_string_opt(obj, "metadata.uid", NULL, &uid, NULL);
    kn_json_get_string_opt(obj, "metadata.namespace", "default", &ns, NULL);
    kn_json_get_string_opt(obj, "metadata.name", NULL, &name, NULL);
    if (is_mirror(obj)) {
        if (s->on_mirror_gone && name)
            s->on_mirror_gone(s->mirror_arg, ns, name);
        return;
    }
    if (uid)
        s->sink.remove(s->sink.arg, uid);
}

char *kl_api_source_selector(const char *node_name)
{
    return xasprintf("spec.nodeName=%s", node_name);
}

kl_api_source *kl_api_source_new(const kl_api_source_opts *o)
{
    kl_api_source *s = xcalloc(1, sizeof(*s));
    s->factory = o->factory;
    s->sink = o->sink;
    s->on_mirror_gone = o->on_mirror_gone;
    s->mirror_arg = o->mirror_arg;
    cleanup_free char *sel = kl_api_source_selector(o->node_name);
    kc_informer_options io = {.field_selector = sel};
    s->inf = kc_informer_factory_get(o->factory, &kc_res_pods, &io);
    kc_informer_handlers h = {
        .on_add = on_add, .on_update = on_update, .on_delete = on_delete, .ud = s};
    kc_informer_add_handlers(s->inf, &h);
    return s;
}

kc_informer *kl_api_source_informer(kl_api_source *s)
{
    return s->inf;
}

static void *ready_main(void *arg)
{
    kl_api_source *s = arg;
    while (!s->stop && !kc_informer_wait_synced(s->inf, 200 * INT64_C(1000000)))
        ;
    if (!s->stop) {
        KN_INFO(COMPONENT, "pods listed (%zu)", kc_informer_len(s->inf));
        s->sink.ready(s->sink.arg, KL_API_SOURCE);
    }
    return NULL;
}

int kl_api_source_start(kl_api_source *s, kn_error **err)
{
    if (kc_informer_factory_start(s->factory, err) < 0)
        return kn_error_wrap(err, "start the pod informer");
    if (pthread_create(&s->ready_thread, NULL, ready_main, s) != 0)
        return kn_error_set(err, KN_EINTERNAL, "start the api source thread");
    s->thread_started = true;
    return 0;
}

void kl_api_source_stop(kl_api_source *s)
{
    if (!s)
        return;
    s->stop = true;
    if (s->thread_started)
        pthread_join(s->ready_thread, NULL);
    s->thread_started = false;
}

void kl_api_source_free(kl_api_source *s)
{
    kl_api_source_stop(s);
    free(s);
}
