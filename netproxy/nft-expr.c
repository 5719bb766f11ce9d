/* nft-expr.c - sets and rules as libnftnl objects, encoded the way nft 1.0
 * encodes the same text (registers, typeof user data), so a table written
 * by this backend lists and reloads with the nft tool like one nft wrote. */
#include <arpa/inet.h>
#include <stdio.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/expr.h>
#include <libnftnl/udata.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/xalloc.h"
#include "netproxy/nft-internal.h"

/* nft's datatype ids (src/datatype.h) and expression ids (for typeof). */
enum { DT_INTEGER = 4, DT_IPADDR = 7, DT_IP6ADDR = 8, DT_INET_PROTO = 12, DT_INET_SERVICE = 13 };
enum { EXPR_VERDICT = 1, EXPR_PAYLOAD = 7, EXPR_META = 9, EXPR_CONCAT = 13, EXPR_NUMGEN = 23 };
/* nft's protocol descriptions and header fields (src/proto.h). */
enum { PROTO_TH = 11, PROTO_IP = 12, PROTO_IP6 = 13 };
enum { IP_SADDR = 11, IP_DADDR = 12, IP6_SADDR = 8, IP6_DADDR = 9, TH_DPORT = 2 };
enum { BYTEORDER_HOST = 1, BYTEORDER_BIG = 2 };

uint16_t np__nfproto(int family)
{
    return family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
}

/* ---- set definitions ---- */

typedef enum field { F_DADDR, F_SADDR, F_PROTO, F_DPORT, F_IDX } field;

static size_t key_fields(np_key_kind k, field *f)
{
    static const field svc[] = {F_DADDR, F_PROTO, F_DPORT, F_IDX};
    switch (k) {
    case NP_KEY_ADDR:
        f[0] = F_DADDR;
        return 1;
    case NP_KEY_PAIR:
        f[0] = F_SADDR;
        f[1] = F_DADDR;
        return 2;
    case NP_KEY_SVC:
        memcpy(f, svc, 3 * sizeof(*f));
        return 3;
    case NP_KEY_SVC_IDX:
        memcpy(f, svc, 4 * sizeof(*f));
        return 4;
    case NP_KEY_SVC_SADDR:
        memcpy(f, svc, 3 * sizeof(*f));
        f[3] = F_SADDR;
        return 4;
    }
    return 0;
}

static uint32_t field_type(field f, int family)
{
    switch (f) {
    case F_DADDR:
    case F_SADDR:
        return family == AF_INET6 ? DT_IP6ADDR : DT_IPADDR;
    case F_PROTO:
        return DT_INET_PROTO;
    case F_DPORT:
        return DT_INET_SERVICE;
    case F_IDX:
        return DT_INTEGER;
    }
    return 0;
}

static uint32_t field_len(field f, int family)
{
    return f == F_DADDR || f == F_SADDR ? (uint32_t)np_addr_len(family)
           : f == F_PROTO               ? 1
           : f == F_DPORT               ? 2
                                        : 4;
}

/* nft's concatenated type id: 6 bits per field, first field highest. */
static uint32_t concat_type(const field *f, size_t n, int family)
{
    uint32_t t = 0;
    for (size_t i = 0; i < n; i++)
        t = (t << 6) | field_type(f[i], family);
    return t;
}

/* One field's typeof description: {expr id, {parameters}}. */
static void udata_field(struct nftnl_udata_buf *b, field f, uint32_t mod, int family)
{
    nftnl_udata_put_u32(b, NFTNL_UDATA_SET_TYPEOF_EXPR,
                        f == F_PROTO ? EXPR_META
                        : f == F_IDX ? EXPR_NUMGEN
                                     : EXPR_PAYLOAD);
    struct nftnl_udata *d = nftnl_udata_nest_start(b, NFTNL_UDATA_SET_TYPEOF_DATA);
    bool v6 = family == AF_INET6;
    if (f == F_PROTO) {
        nftnl_udata_put_u32(b, 0, NFT_META_L4PROTO);
    } else if (f == F_IDX) {
        nftnl_udata_put_u32(b, 0, NFT_NG_RANDOM);
        nftnl_udata_put_u32(b, 1, mod);
        nftnl_udata_put_u32(b, 2, 0);
    } else if (f == F_DPORT) {
        nftnl_udata_put_u32(b, 0, PROTO_TH);
        nftnl_udata_put_u32(b, 1, TH_DPORT);
    } else {
        nftnl_udata_put_u32(b, 0, v6 ? PROTO_IP6 : PROTO_IP);
        nftnl_udata_put_u32(
            b, 1, f == F_SADDR ? (v6 ? IP6_SADDR : IP_SADDR) : (v6 ? IP6_DADDR : IP_DADDR));
    }
    nftnl_udata_nest_end(b, d);
}

static void udata_concat(struct nftnl_udata_buf *b, uint8_t type, const field *f, size_t n,
                         uint32_t mod, int family)
{
    struct nftnl_udata *outer = nftnl_udata_nest_start(b, type);
    nftnl_udata_put_u32(b, NFTNL_UDATA_SET_TYPEOF_EXPR, EXPR_CONCAT);
    struct nftnl_udata *data = nftnl_udata_nest_start(b, NFTNL_UDATA_SET_TYPEOF_DATA);
    for (size_t i = 0; i < n; i++) {
        struct nftnl_udata *one = nftnl_udata_nest_start(b, (uint8_t)i);
        udata_field(b, f[i], mod, family);
        nftnl_udata_nest_end(b, one);
    }
    nftnl_udata_nest_end(b, data);
    nftnl_udata_nest_end(b, outer);
}

size_t np__set_udata(const np_set *s, int family, uint8_t *buf, size_t len)
{
    struct nftnl_udata_buf *b = nftnl_udata_buf_alloc(512);
    field f[5];
    size_t n = key_fields(s->key, f);
    if (s->key == NP_KEY_ADDR) {
        /* declared with "type ipv4_addr": only the byte order */
        nftnl_udata_put_u32(b, NFTNL_UDATA_SET_KEYBYTEORDER, BYTEORDER_BIG);
    } else {
        nftnl_udata_put_u32(b, NFTNL_UDATA_SET_KEYBYTEORDER, 0);
        if (s->data != NP_DATA_NONE)
            nftnl_udata_put_u32(b, NFTNL_UDATA_SET_DATABYTEORDER, 0);
        udata_concat(b, NFTNL_UDATA_SET_KEY_TYPEOF, f, n, s->mod, family);
        if (s->data == NP_DATA_ADDR_PORT) {
            static const field dat[] = {F_DADDR, F_DPORT};
            udata_concat(b, NFTNL_UDATA_SET_DATA_TYPEOF, dat, 2, 0, family);
        } else if (s->data == NP_DATA_VERDICT) {
            struct nftnl_udata *v = nftnl_udata_nest_start(b, NFTNL_UDATA_SET_DATA_TYPEOF);
            nftnl_udata_put_u32(b, NFTNL_UDATA_SET_TYPEOF_EXPR, EXPR_VERDICT);
            nftnl_udata_nest_end(b, nftnl_udata_nest_start(b, NFTNL_UDATA_SET_TYPEOF_DATA));
            nftnl_udata_nest_end(b, v);
        }
        if (s->data != NP_DATA_NONE)
            nftnl_udata_put_u32(b, NFTNL_UDATA_SET_DATA_INTERVAL, 0);
    }
    size_t out = nftnl_udata_buf_len(b);
    if (out > len)
        out = len;
    memcpy(buf, nftnl_udata_buf_data(b), out);
    nftnl_udata_buf_free(b);
    return out;
}

static uint32_t set_flags(const np_set *s, size_t nfields)
{
    uint32_t fl = 0;
    if (s->data != NP_DATA_NONE)
        fl |= NFT_SET_MAP;
    if (s->flags & NP_SET_INTERVAL)
        fl |= NFT_SET_INTERVAL | (nfields > 1 ? NFT_SET_CONCAT : 0);
    if (s->flags & NP_SET_DYNAMIC)
        fl |= NFT_SET_TIMEOUT | NFT_SET_EVAL;
    return fl;
}

struct nftnl_set *np__set_build(const np_set *s, int family, uint32_t id)
{
    struct nftnl_set *ns = nftnl_set_alloc();
    if (!ns)
        kn_oom();
    field f[5];
    size_t n = key_fields(s->key, f);
    nftnl_set_set_str(ns, NFTNL_SET_TABLE, NP_TABLE_NAME);
    nftnl_set_set_str(ns, NFTNL_SET_NAME, s->name);
    nftnl_set_set_u32(ns, NFTNL_SET_FAMILY, np__nfproto(family));
    nftnl_set_set_u32(ns, NFTNL_SET_ID, id);
    nftnl_set_set_u32(ns, NFTNL_SET_KEY_TYPE, concat_type(f, n, family));
    nftnl_set_set_u32(ns, NFTNL_SET_KEY_LEN, (uint32_t)np_key_len(s->key, family));
    nftnl_set_set_u32(ns, NFTNL_SET_FLAGS, set_flags(s, n));
    if (s->data == NP_DATA_ADDR_PORT) {
        static const field dat[] = {F_DADDR, F_DPORT};
        nftnl_set_set_u32(ns, NFTNL_SET_DATA_TYPE, concat_type(dat, 2, family));
        nftnl_set_set_u32(ns, NFTNL_SET_DATA_LEN, (uint32_t)np_data_len(s->data, family));
    } else if (s->data == NP_DATA_VERDICT) {
        nftnl_set_set_u32(ns, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
    }
    if (s->flags & NP_SET_DYNAMIC)
        nftnl_set_set_u64(ns, NFTNL_SET_TIMEOUT, (uint64_t)s->timeout * 1000);
    if (s->size)
        nftnl_set_set_u32(ns, NFTNL_SET_DESC_SIZE, s->size);
    if ((s->flags & NP_SET_INTERVAL) && n > 1) {
        uint8_t lens[5];
        for (size_t i = 0; i < n; i++)
            lens[i] = (uint8_t)field_len(f[i], family);
        nftnl_set_set_data(ns, NFTNL_SET_DESC_CONCAT, lens, (uint32_t)n);
    }
    uint8_t ud[512];
    size_t udlen = np__set_udata(s, family, ud, sizeof(ud));
    nftnl_set_set_data(ns, NFTNL_SET_USERDATA, ud, (uint32_t)udlen);
    return ns;
}

/* ---- expressions ---- */

static struct nftnl_expr *expr(struct nftnl_rule *r, const char *name)
{
    struct nftnl_expr *e = nftnl_expr_alloc(name);
    if (!e)
        kn_oom();
    nftnl_rule_add_expr(r, e);
    return e;
}

/* nft's register for a byte offset into the key area: a 128-bit register
 * when aligned to 16 bytes, else a 32-bit one. */
static uint32_t reg_at(size_t off)
{
    return off % 16 == 0 ? NFT_REG_1 + (uint32_t)(off / 16) : NFT_REG32_00 + (uint32_t)(off / 4);
}

static void e_payload(struct nftnl_rule *r, uint32_t base, uint32_t offset, uint32_t len,
                      uint32_t dreg)
{
    struct nftnl_expr *e = expr(r, "payload");
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
}

static void e_addr(struct nftnl_rule *r, bool src, int family, uint32_t dreg)
{
    bool v6 = family == AF_INET6;
    uint32_t off = v6 ? (src ? 8 : 24) : (src ? 12 : 16);
    e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, off, v6 ? 16 : 4, dreg);
}

static void e_meta(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
    struct nftnl_expr *e = expr(r, "meta");
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
}

static void e_meta_set(struct nftnl_rule *r, uint32_t key, uint32_t sreg)
{
    struct nftnl_expr *e = expr(r, "meta");
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, sreg);
}

static void e_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
    struct nftnl_expr *e = expr(r, "cmp");
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
    nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
}

static void e_cmp_u32(struct nftnl_rule *r, uint32_t op, uint32_t v)
{
    e_cmp(r, op, &v, sizeof(v));
}

static void e_bitwise(struct nftnl_rule *r, uint32_t mask, uint32_t xor)
{
    struct nftnl_expr *e = expr(r, "bitwise");
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 4);
    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, 4);
    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &xor, 4);
}

static void e_ct_bit(struct nftnl_rule *r, uint32_t key, uint32_t bit)
{
    struct nftnl_expr *e = expr(r, "ct");
    nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
    e_bitwise(r, bit, 0);
    e_cmp_u32(r, NFT_CMP_NEQ, 0);
}

static void e_lookup(struct nftnl_rule *r, const char *set, bool inv, int dreg)
{
    struct nftnl_expr *e = expr(r, "lookup");
    nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
    nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
    if (dreg >= 0)
        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, (uint32_t)dreg);
    nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, inv ? NFT_LOOKUP_F_INV : 0);
}

static void e_numgen(struct nftnl_rule *r, uint32_t mod, uint32_t dreg)
{
    struct nftnl_expr *e = expr(r, "numgen");
    nftnl_expr_set_u32(e, NFTNL_EXPR_NG_DREG, dreg);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NG_MODULUS, mod);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NG_TYPE, NFT_NG_RANDOM);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NG_OFFSET, 0);
}

static void e_verdict(struct nftnl_rule *r, int verdict, const char *chain)
{
    struct nftnl_expr *e = expr(r, "immediate");
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
    if (chain)
        nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
}

static void e_dnat(struct nftnl_rule *r, int family, uint32_t reg_addr, uint32_t reg_proto)
{
    struct nftnl_expr *e = expr(r, "nat");
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, np__nfproto(family));
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, reg_addr);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MAX, reg_addr);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, reg_proto);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MAX, reg_proto);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS,
                       NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED);
}

/* daddr . l4proto . dport into the registers from reg 1 on. */
static void e_svc_key(struct nftnl_rule *r, int family)
{
    size_t a = np_addr_len(family);
    e_addr(r, false, family, NFT_REG_1);
    e_meta(r, NFT_META_L4PROTO, reg_at(a));
    e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, reg_at(a + 4));
}

static void e_dnat_map(struct nftnl_rule *r, const np_op *o, int family)
{
    size_t a = np_addr_len(family);
    e_svc_key(r, family);
    e_numgen(r, o->arg, reg_at(a + 8));
    e_lookup(r, o->name, false, NFT_REG_1);
    e_dnat(r, family, NFT_REG_1, reg_at(a));
}

static void e_dnat_to(struct nftnl_rule *r, const np_target *t, int family)
{
    struct nftnl_expr *e = expr(r, "immediate");
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
    nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, t->addr.bytes, (uint32_t)np_addr_len(family));
    uint16_t port = htons(t->port);
    e = expr(r, "immediate");
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_2);
    nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, &port, sizeof(port));
    e_dnat(r, family, NFT_REG_1, NFT_REG_2);
}

static void e_set_lookup(struct nftnl_rule *r, const np_op *o, int family)
{
    size_t a = np_addr_len(family);
    switch (o->kind) {
    case NP_OP_DADDR_IN:
    case NP_OP_SADDR_IN:
        e_addr(r, o->kind == NP_OP_SADDR_IN, family, NFT_REG_1);
        break;
    case NP_OP_SVC_IN:
        e_svc_key(r, family);
        break;
    case NP_OP_SVC_SADDR_IN:
        e_svc_key(r, family);
        e_addr(r, true, family, reg_at(a + 8));
        break;
    default: /* NP_OP_PAIR_IN */
        e_addr(r, true, family, NFT_REG_1);
        e_addr(r, false, family, reg_at(a));
        break;
    }
    e_lookup(r, o->name, o->neg, -1);
}

static void e_mark(struct nftnl_rule *r, const np_op *o)
{
    e_meta(r, NFT_META_MARK, NFT_REG_1);
    if (o->kind == NP_OP_MARK_TEST) {
        e_bitwise(r, o->arg, 0);
        e_cmp_u32(r, NFT_CMP_EQ, o->arg);
        return;
    }
    if (o->kind == NP_OP_MARK_OR)
        e_bitwise(r, ~o->arg, o->arg);
    else
        e_bitwise(r, 0xffffffffu, o->arg);
    e_meta_set(r, NFT_META_MARK, NFT_REG_1);
}

static void e_reject(struct nftnl_rule *r, bool tcp, int family)
{
    struct nftnl_expr *e = expr(r, "reject");
    nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE,
                       tcp ? NFT_REJECT_TCP_RST : NFT_REJECT_ICMP_UNREACH);
    /* ICMP port unreachable is code 3, ICMPv6 port unreachable code 4 */
    nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, tcp ? 0 : (family == AF_INET6 ? 4 : 3));
}

static void e_simple(struct nftnl_rule *r, const np_op *o, int family)
{
    struct nftnl_expr *e;
    switch (o->kind) {
    case NP_OP_L4PROTO: {
        uint8_t p = (uint8_t)o->arg;
        e_meta(r, NFT_META_L4PROTO, NFT_REG_1);
        e_cmp(r, NFT_CMP_EQ, &p, 1);
        break;
    }
    case NP_OP_FIB_SADDR_LOCAL:
        e = expr(r, "fib");
        nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_SADDR);
        nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
        nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
        e_cmp_u32(r, NFT_CMP_EQ, 2 /* RTN_LOCAL */);
        break;
    case NP_OP_NUMGEN_ZERO:
        e_numgen(r, o->arg, NFT_REG_1);
        e_cmp_u32(r, NFT_CMP_EQ, 0);
        break;
    case NP_OP_UPDATE_SADDR:
        e_addr(r, true, family, NFT_REG_1);
        e = expr(r, "dynset");
        nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
        nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, o->name);
        break;
    case NP_OP_MASQ:
        e = expr(r, "masq");
        nftnl_expr_set_u32(e, NFTNL_EXPR_MASQ_FLAGS, NF_NAT_RANGE_PROTO_RANDOM_FULLY);
        break;
    default:
        break;
    }
}

static void e_op(struct nftnl_rule *r, const np_op *o, int family)
{
    switch (o->kind) {
    case NP_OP_CT_STATE_NEW:
        e_ct_bit(r, NFT_CT_STATE, 1u << 3 /* NF_CT_STATE_BIT(IP_CT_NEW) */);
        break;
    case NP_OP_CT_STATUS_DNAT:
        e_ct_bit(r, NFT_CT_STATUS, 1u << 5 /* IPS_DST_NAT */);
        break;
    case NP_OP_DADDR_IN:
    case NP_OP_SADDR_IN:
    case NP_OP_SVC_IN:
    case NP_OP_SVC_SADDR_IN:
    case NP_OP_PAIR_IN:
        e_set_lookup(r, o, family);
        break;
    case NP_OP_MARK_TEST:
    case NP_OP_MARK_OR:
    case NP_OP_MARK_XOR:
        e_mark(r, o);
        break;
    case NP_OP_DNAT_TO:
        e_dnat_to(r, &o->target, family);
        break;
    case NP_OP_DNAT_MAP:
        e_dnat_map(r, o, family);
        break;
    case NP_OP_SVC_VMAP:
        e_svc_key(r, family);
        e_lookup(r, o->name, false, NFT_REG_VERDICT);
        break;
    case NP_OP_JUMP:
    case NP_OP_GOTO:
        e_verdict(r, o->kind == NP_OP_JUMP ? NFT_JUMP : NFT_GOTO, o->name);
        break;
    case NP_OP_REJECT:
    case NP_OP_REJECT_TCP:
        e_reject(r, o->kind == NP_OP_REJECT_TCP, family);
        break;
    case NP_OP_DROP:
        e_verdict(r, NF_DROP, NULL);
        break;
    default:
        e_simple(r, o, family);
        break;
    }
}

void np__rule_exprs(struct nftnl_rule *r, const np_rule *rule, int family)
{
    for (size_t i = 0; i < rule->nops; i++)
        e_op(r, &rule->ops[i], family);
}
