/* watch.h - Kubernetes watch streams, decoded as they arrive.
 *
 * A watch answer is a stream of JSON objects, one per event, written back to
 * back (the API server ends each with a newline, but nothing requires it):
 *   {"type":"ADDED","object":{...}}\n{"type":"BOOKMARK","object":{...}}\n...
 * The splitter finds where each top-level object ends (tracking strings,
 * escapes and nesting) without buffering more than one event, bounded by a
 * per-event size limit; each complete event is then parsed on its own.
 *
 * kc_watch is a resuming watch (client-go's RetryWatcher): when the server
 * ends the stream (timeoutSeconds), the connection breaks, an event is cut
 * short, or no byte came for the stall timeout, it re-opens the watch from
 * the last resourceVersion it delivered (an event's or a bookmark's), so no
 * event is lost or repeated. A 410 Gone answer or an ERROR event with code
 * 410 (the version was compacted away) ends it with KN_EGONE: the caller
 * lists again and starts a new watch from the list's resourceVersion. */
#ifndef KNODE_API_CLIENT_WATCH_H
#define KNODE_API_CLIENT_WATCH_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api-client/rest.h"
#include "lib/error.h"
#include "lib/strbuf.h"

/* ---- the splitter ------------------------------------------------------------ */

typedef struct kc_json_splitter {
    kn_buf buf;      /* the value being assembled */
    size_t max;      /* largest value accepted */
    uint64_t offset; /* bytes consumed so far, for messages */
    int depth;
    bool started, in_string, escape, complete;
} kc_json_splitter;

/* max: the largest single value in bytes (0: 16 MiB). */
void kc_splitter_init(kc_json_splitter *s, size_t max);
void kc_splitter_free(kc_json_splitter *s);

/* Consumes bytes from data[0..len). Returns 1 when a whole top-level object
 * is complete: *value and *value_len then point at it (valid until the next
 * call) and *consumed says how many input bytes were used; 0 when all input
 * was consumed without completing one; negative on an error: KN_EINVAL for
 * anything but whitespace between objects, KN_ETOOLARGE beyond max. */
int kc_splitter_feed(kc_json_splitter *s, const char *data, size_t len, size_t *consumed,
                     const char **value, size_t *value_len, kn_error **err);

/* True when a value has started but is not complete (a cut stream). */
bool kc_splitter_partial(const kc_json_splitter *s);

/* Forgets any partial value (after a reconnect). */
void kc_splitter_reset(kc_json_splitter *s);

/* ---- events -------------------------------------------------------------------- */

typedef enum kc_watch_type {
    KC_WATCH_ADDED,
    KC_WATCH_MODIFIED,
    KC_WATCH_DELETED,
    KC_WATCH_BOOKMARK,
    KC_WATCH_ERROR,
} kc_watch_type;

typedef struct kc_watch_event {
    kc_watch_type type;
    cJSON *object;                /* owned: the object, or a Status for ERROR */
    const char *resource_version; /* object's metadata.resourceVersion, or NULL */
} kc_watch_event;

/* "ADDED", ... */
const char *kc_watch_type_name(kc_watch_type t);

/* Decodes one event object. KN_EINVAL when it is not JSON, has no known
 * type, or its object is not a JSON object. */
int kc_watch_event_decode(const char *text, size_t len, kc_watch_event *ev, kn_error **err);

void kc_watch_event_clear(kc_watch_event *ev);

/* ---- resuming watch -------------------------------------------------------------- */

typedef struct kc_watch kc_watch;

typedef struct kc_watch_options {
    kc_list_options list;     /* selectors, resource_version to start from, timeout_seconds
                                 (0: 300), allow_watch_bookmarks */
    int64_t stall_timeout_ns; /* no byte for this long: reconnect; 0: timeout_seconds + 60 s */
    size_t max_event;         /* largest event in bytes; 0: 16 MiB */
    int max_reconnects;       /* consecutive reconnects without an event; 0: 10 */
} kc_watch_options;

/* Opens a watch on r (in ns, or all namespaces) and waits for the answer's
 * headers: a 410 here is KN_EGONE, other non-2xx answers their error kinds. */
int kc_watch_open(kc_client *c, const kc_resource *r, const char *ns, const kc_watch_options *o,
                  kc_watch **out, kn_error **err);

/* Blocks for the next event (bookmarks included; ERROR events other than
 * 410 and 5xx come back as errors). Returns 0 with *ev filled (release with
 * kc_watch_event_clear); KN_EGONE: relist; KN_ECANCELED after
 * kc_watch_cancel; other errors when reconnecting failed. */
int kc_watch_next(kc_watch *w, kc_watch_event *ev, kn_error **err);

/* The resourceVersion the next reconnect would resume from ("" at first when
 * none was given). */
const char *kc_watch_resource_version(const kc_watch *w);

/* Number of times the watch was re-opened. */
int kc_watch_reconnects(const kc_watch *w);

/* Makes a blocked or later kc_watch_next return KN_ECANCELED. Any thread. */
void kc_watch_cancel(kc_watch *w);

/* Closes the stream and frees the watch. NULL is ignored. */
void kc_watch_close(kc_watch *w);

#endif
