/* incsync.h - the state a partial sync works on: the model kept between
 * syncs (netproxy/tracker.h) and the rulesets of both families kept with
 * it (netproxy/ruleset-inc.h). Created from a full build's model; each
 * partial sync rebuilds the named Services from the source and yields the
 * rulesets' difference for the dataplane. */
#ifndef KNODE_NETPROXY_INCSYNC_H
#define KNODE_NETPROXY_INCSYNC_H

#include <stdbool.h>
#include <stddef.h>

#include "netproxy/proxier.h"
#include "netproxy/tracker.h"

typedef struct np_incsync np_incsync;

/* Takes model m (from a full build that dropped nconflicts Services for
 * conflicts) and builds the kept rulesets of the families asked for on the
 * node cfg describes (copied; cfg->node_name must outlive the state). */
np_incsync *np_incsync_new(np_model *m, size_t nconflicts, const np_config *cfg, bool v4, bool v6);

void np_incsync_free(np_incsync *s);

/* The kept model. */
const np_model *np_incsync_model(const np_incsync *s);

/* The node configuration the rulesets were built for. */
const np_config *np_incsync_config(const np_incsync *s);

/* The result of one partial update. */
typedef struct np_inc_result {
    np_ruleset *from[2], *to[2]; /* [0] IPv4, [1] IPv6; NULL: family off */
    size_t nchanges;
    np_svc_change *changes; /* the Services before and after */
    size_t elements;        /* distinct set elements now, both families */
} np_inc_result;

/* Rebuilds the Services keys[0..n) ("ns/name") from src (skips go to
 * on_skip) and fills *out. Returns false, changing nothing, when a
 * conflict between Services is involved (rebuild everything then). */
bool np_incsync_update(np_incsync *s, const np_source *src, char *const *keys, size_t n,
                       np_skip_fn on_skip, void *ud, np_inc_result *out);

void np_inc_result_free(np_inc_result *r);

#endif
