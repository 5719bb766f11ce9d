/* ipvs-nft.c - the small knode-ipvs nftables table of the IPVS mode:
 * masquerade marks, hairpin, loadBalancerSourceRanges and the filter of
 * kube-ipvs0 addresses (see ipvs.h). The table is small and changes only
 * when keys change, so it is rendered as `nft -f` text and replaced in one
 * libnftables transaction. */
#include <nftables/libnftables.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/strbuf.h"
#include "netproxy/ipvs.h"

typedef struct render {
    kn_buf *b;
    int family;
    const char *fam; /* "ip" or "ip6" */
} render;

static void put_addr(render *r, const uint8_t *bytes)
{
    np_addr a = {.family = r->family};
    memcpy(a.bytes, bytes, np_addr_len(r->family));
    char s[64];
    kn_buf_appendf(r->b, "%s", np_addr_str(&a, s, sizeof(s)));
}

static void put_key(render *r, const np_ipvs_svc *k)
{
    put_addr(r, k->addr);
    kn_buf_appendf(r->b, " . %s . %u", np_proto_name((np_proto)k->protocol), k->port);
}

static const char *addr_type(const render *r)
{
    return r->family == AF_INET6 ? "ipv6_addr" : "ipv4_addr";
}

/* "set NAME { type T; [flags interval;] elements = { ... } }"; the element
 * printer is called for each i < n of the right family. */
static void put_set(render *r, const char *name, const char *type, bool interval, size_t n,
                    bool (*elem)(render *r, size_t i, const void *ud), const void *ud)
{
    kn_buf_appendf(r->b, "\tset %s {\n\t\ttype %s\n", name, type);
    if (interval)
        kn_buf_appendf(r->b, "\t\tflags interval\n");
    size_t written = 0;
    for (size_t i = 0; i < n; i++) {
        size_t mark = r->b->len;
        kn_buf_appendf(r->b, "%s", written ? ",\n\t\t\t" : "\t\telements = {\n\t\t\t");
        if (elem(r, i, ud))
            written++;
        else
            kn_buf_truncate(r->b, mark);
    }
    kn_buf_appendf(r->b, "%s\t}\n", written ? "\n\t\t}\n" : "");
}

static bool elem_key(render *r, size_t i, const void *ud)
{
    const np_ipvs_svc *k = &((const np_ipvs_keys *)ud)->v[i];
    if (k->af != r->family)
        return false;
    put_key(r, k);
    return true;
}

static bool elem_addr(render *r, size_t i, const void *ud)
{
    const np_addr *a = &((const np_addr *)ud)[i];
    if (a->family != r->family)
        return false;
    put_addr(r, a->bytes);
    return true;
}

static bool elem_pair(render *r, size_t i, const void *ud)
{
    const np_addr *a = &((const np_addr *)ud)[i];
    if (a->family != r->family)
        return false;
    put_addr(r, a->bytes);
    kn_buf_appendf(r->b, " . ");
    put_addr(r, a->bytes);
    return true;
}

static bool elem_cidr(render *r, size_t i, const void *ud)
{
    const np_cidr *c = &((const np_cidr *)ud)[i];
    if (c->addr.family != r->family)
        return false;
    put_addr(r, c->addr.bytes);
    kn_buf_appendf(r->b, "/%u", c->prefix);
    return true;
}

static bool elem_fw(render *r, size_t i, const void *ud)
{
    const np_ipvs_fw *f = &((const np_ipvs_fw *)ud)[i];
    if (f->key.af != r->family)
        return false;
    put_key(r, &f->key);
    kn_buf_appendf(r->b, " . ");
    return elem_cidr(r, 0, &f->src);
}

static void put_sets(render *r, const np_ipvs_plan *p, const np_config *cfg)
{
    char key_t[96], fw_t[128], pair_t[64];
    snprintf(key_t, sizeof(key_t), "%s . inet_proto . inet_service", addr_type(r));
    snprintf(fw_t, sizeof(fw_t), "%s . %s", key_t, addr_type(r));
    snprintf(pair_t, sizeof(pair_t), "%s . %s", addr_type(r), addr_type(r));
    put_set(r, "cluster-ips", addr_type(r), false, p->naddrs, elem_addr, p->addrs);
    put_set(r, "cluster-keys", key_t, false, p->cluster.n, elem_key, &p->cluster);
    put_set(r, "bound-keys", key_t, false, p->bound.n, elem_key, &p->bound);
    put_set(r, "masq-keys", key_t, false, p->masq.n, elem_key, &p->masq);
    put_set(r, "fw-keys", key_t, false, p->fw.n, elem_key, &p->fw);
    put_set(r, "fw-allow", fw_t, true, p->nfw_allow, elem_fw, p->fw_allow);
    put_set(r, "cluster-cidrs", addr_type(r), true, cfg->ncluster_cidrs, elem_cidr,
            cfg->cluster_cidrs);
    put_set(r, "hairpin", pair_t, false, p->nhairpin, elem_pair, p->hairpin);
}

static bool has_cidr(const np_config *cfg, int family)
{
    for (size_t i = 0; i < cfg->ncluster_cidrs; i++) {
        if (cfg->cluster_cidrs[i].addr.family == family)
            return true;
    }
    return false;
}

/* kube-proxy ipvs mode's KUBE-SERVICES masquerade marks. */
static void put_mark_chain(render *r, const np_config *cfg, uint32_t mark)
{
    const char *f = r->fam, *svc = "daddr . meta l4proto . th dport";
    kn_buf_appendf(r->b, "\tchain svc-mark {\n");
    if (cfg->masquerade_all)
        kn_buf_appendf(r->b, "\t\t%s %s @cluster-keys", f, svc);
    else if (has_cidr(cfg, r->family))
        kn_buf_appendf(r->b, "\t\t%s %s @cluster-keys %s saddr != @cluster-cidrs", f, svc, f);
    else /* the node reaching a ClusterIP uses it as source */
        kn_buf_appendf(r->b, "\t\t%s saddr . meta l4proto . th dport @cluster-keys", f);
    kn_buf_appendf(r->b, " meta mark set meta mark | 0x%x\n", mark);
    kn_buf_appendf(r->b, "\t\t%s %s @masq-keys meta mark set meta mark | 0x%x\n\t}\n", f, svc,
                   mark);
}

static void put_chains(render *r, const np_config *cfg)
{
    const char *f = r->fam, *svc = "daddr . meta l4proto . th dport";
    uint32_t mark = cfg->masq_mark ? cfg->masq_mark : NP_DEFAULT_MASQ_MARK;
    put_mark_chain(r, cfg, mark);
    kn_buf_appendf(r->b,
                   "\tchain prerouting {\n\t\ttype nat hook prerouting priority -100; policy "
                   "accept;\n\t\tjump svc-mark\n\t}\n"
                   "\tchain output {\n\t\ttype nat hook output priority -100; policy accept;\n"
                   "\t\tjump svc-mark\n\t}\n");
    kn_buf_appendf(r->b,
                   "\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n"
                   "\t\t%s %s @fw-keys %s %s . %s saddr != @fw-allow drop\n"
                   "\t\tct state new %s daddr @cluster-ips %s %s != @bound-keys reject\n\t}\n",
                   f, svc, f, svc, f, f, f, svc);
    kn_buf_appendf(r->b,
                   "\tchain postrouting {\n\t\ttype nat hook postrouting priority 100; policy "
                   "accept;\n"
                   "\t\tmeta mark & 0x%x == 0x%x meta mark set meta mark ^ 0x%x masquerade "
                   "fully-random\n"
                   "\t\t%s saddr . %s daddr @hairpin masquerade fully-random\n\t}\n",
                   mark, mark, mark, f, f);
}

char *np_ipvs_nft_render(const np_ipvs_plan *p, const np_config *cfg, int family)
{
    kn_buf b = KN_BUF_INIT;
    render r = {&b, family, family == AF_INET6 ? "ip6" : "ip"};
    kn_buf_appendf(&b, "add table %s %s\ndelete table %s %s\ntable %s %s {\n", r.fam, NP_IPVS_TABLE,
                   r.fam, NP_IPVS_TABLE, r.fam, NP_IPVS_TABLE);
    put_sets(&r, p, cfg);
    put_chains(&r, cfg);
    kn_buf_appendf(&b, "}\n");
    return kn_buf_steal(&b);
}

int np_ipvs_nft_run(const char *text, kn_error **err)
{
    struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!ctx)
        return kn_error_set(err, KN_EIO, "nftables: cannot create a context");
    nft_ctx_buffer_output(ctx);
    nft_ctx_buffer_error(ctx);
    int r = 0;
    if (nft_run_cmd_from_buffer(ctx, text) != 0) {
        const char *msg = nft_ctx_get_error_buffer(ctx);
        r = kn_error_set(err, KN_EIO, "nftables: %s", msg && *msg ? msg : "command failed");
    }
    nft_ctx_free(ctx);
    return r;
}
