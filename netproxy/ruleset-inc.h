/* ruleset-inc.h - the ruleset of one address family kept up to date
 * Service by Service, and the difference since the last look as two
 * partial rulesets for the nftables backend.
 *
 * np_ruleset_build is the reference: the state holds, per set element,
 * how many Services contribute it (np_ruleset_build_service), and the base
 * chains (np_ruleset_build_base), rebuilt only when the set of ep-N / sc-N
 * maps in use changes. So one Service's change costs the same whatever the
 * number of Services, and np_rsinc_ruleset always equals np_ruleset_build
 * of the same Services.
 *
 *     np_rsinc *r = np_rsinc_new(&cfg, AF_INET);
 *     np_rsinc_update(r, NULL, svc);          (added)
 *     np_rsinc_update(r, old_svc, new_svc);   (changed; new NULL: removed)
 *     np_rsinc_take_delta(r, &from, &to);     (what changed, for np_nft_sync_delta)
 */
#ifndef KNODE_NETPROXY_RULESET_INC_H
#define KNODE_NETPROXY_RULESET_INC_H

#include "netproxy/model.h"
#include "netproxy/ruleset.h"

typedef struct np_rsinc np_rsinc;

/* The state of no Service for family on the node cfg describes (copied;
 * cfg->node_name must outlive the state). Never NULL. */
np_rsinc *np_rsinc_new(const np_config *cfg, int family);

void np_rsinc_free(np_rsinc *r);

/* Replaces Service old's contribution (NULL: none) by new's (NULL: none).
 * Neither is retained. */
void np_rsinc_update(np_rsinc *r, const np_service *old, const np_service *new);

/* The difference since the state was created or last asked: *from holds the
 * previous definitions and elements of every set, element and chain that
 * changed, *to their current ones (a set or chain absent from one side did
 * not exist then). Both sorted; caller frees both. np_nft_sync_delta sends
 * exactly that difference. */
void np_rsinc_take_delta(np_rsinc *r, np_ruleset **from, np_ruleset **to);

/* The whole current ruleset (caller frees): equal to np_ruleset_build of
 * the Services added and not removed. */
np_ruleset *np_rsinc_ruleset(const np_rsinc *r);

/* Distinct elements held (for metrics and tests). */
size_t np_rsinc_elements(const np_rsinc *r);

#endif
