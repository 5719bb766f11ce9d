/* events.h - an event recorder: core/v1 Events written as client-go's
 * record.EventRecorder + StartRecordingToSink write them.
 *
 * kc_event_record() builds the Event at once (name "<object>.<hex ns>",
 * namespace of the object or "default", first/lastTimestamp now, count 1,
 * source and reportingComponent/Instance) and queues it (up to queue_len,
 * further events are dropped, as the broadcaster's DropIfChannelFull); one
 * thread passes each through client-go's EventCorrelator and writes it:
 *
 *   - aggregation: events of one source, object, type and reason with
 *     max_similar (10) different messages within max_interval (10 minutes)
 *     are combined into one event "(combined from similar events): <msg>";
 *   - deduplication: an event seen before (same source, object, type,
 *     reason and message; LRU of cache_size) is not created again but
 *     patched (strategic merge patch of count, lastTimestamp, message) on
 *     the existing object; a 404 creates it again;
 *   - spam filter: a token bucket per source + object (burst 25, one token
 *     per 5 minutes) drops events beyond it.
 *
 * A write that fails for lack of a server is retried up to max_tries (12),
 * retry_sleep (10 s) apart (the first wait randomized); one the server
 * refuses is dropped. Thread-safe. */
#ifndef KNODE_API_CLIENT_EVENTS_H
#define KNODE_API_CLIENT_EVENTS_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "api-client/rest.h"
#include "lib/clock.h"
#include "lib/error.h"

typedef struct kc_event_recorder kc_event_recorder;

typedef struct kc_event_recorder_options {
    const char *component;   /* source.component, reportingComponent: "kubelet" */
    const char *host;        /* source.host, reportingInstance: the node name, or NULL */
    kn_clock *clock;         /* wall time (ns since the epoch); NULL: realtime */
    size_t queue_len;        /* 0: 1000 */
    int64_t retry_sleep_ns;  /* 0: 10 s */
    int max_tries;           /* 0: 12 */
    int spam_burst;          /* 0: 25 */
    double spam_qps;         /* 0: 1/300 */
    int max_similar;         /* 0: 10 */
    int64_t max_interval_ns; /* 0: 600 s */
    size_t cache_size;       /* LRU entries per cache; 0: 4096 */
} kc_event_recorder_options;

/* Starts a recorder writing through c (not owned; must outlive it). */
int kc_event_recorder_new(kc_client *c, const kc_event_recorder_options *o, kc_event_recorder **out,
                          kn_error **err);

/* Writes what is queued (without waiting between retries), stops the
 * thread and frees. NULL is ignored. */
void kc_event_recorder_free(kc_event_recorder *r);

/* The object an event is about (v1.ObjectReference); strings are copied. */
typedef struct kc_object_ref {
    const char *kind, *ns, *name, *uid, *api_version, *resource_version, *field_path;
} kc_object_ref;

/* Fills ref from obj's apiVersion, kind and metadata (pointers into obj). */
void kc_object_ref_of(const cJSON *obj, kc_object_ref *ref);

/* Records an event of type "Normal" or "Warning" (others are refused, as
 * client-go does) about obj. Never blocks on the server. */
void kc_event_record(kc_event_recorder *r, const kc_object_ref *obj, const char *type,
                     const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Blocks until every event recorded before the call was written or given
 * up on. */
void kc_event_recorder_flush(kc_event_recorder *r);

typedef struct kc_event_stats {
    uint64_t created;  /* POSTed */
    uint64_t patched;  /* count++ on an existing Event */
    uint64_t filtered; /* dropped by the spam filter */
    uint64_t dropped;  /* queue full, or refused by the server, or out of tries */
} kc_event_stats;

void kc_event_recorder_stats(kc_event_recorder *r, kc_event_stats *out);

#endif
