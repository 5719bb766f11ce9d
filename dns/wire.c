/* wire.c - DNS message parsing and encoding (see wire.h). */
#include "dns/wire.h"

#include <stdio.h>

static inline uint8_t fold(uint8_t ch)
{
    return (ch >= 'A' && ch <= 'Z') ? (uint8_t)(ch + 32) : ch;
}

static inline void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- names ---------------------------------------------------------------- */

/* memcpy for a few dozen bytes, which compilers may turn into a slow
 * "rep movs" when the length is not known. */
static inline void copy_short(uint8_t *out, const uint8_t *in, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, in + i, 8);
        memcpy(out + i, &x, 8);
    }
    for (; i < n; i++)
        out[i] = in[i];
}

/* The length of an uncompressed, valid name at the cursor, or 0 when it
 * has a pointer or is malformed (dns_read_name then takes the long way). */
static size_t plain_name_len(const dns_cursor *c)
{
    size_t pos = c->pos;
    for (;;) {
        if (pos >= c->len || pos - c->pos >= DNS_NAME_MAX)
            return 0;
        uint8_t l = c->msg[pos];
        if (l == 0)
            return pos + 1 - c->pos;
        if (l & 0xc0)
            return 0;
        pos += 1 + (size_t)l;
    }
}

int dns_read_name(dns_cursor *c, uint8_t out[DNS_NAME_MAX])
{
    if (c->error)
        return c->error;
    size_t plain = plain_name_len(c);
    if (plain) { /* the common case: one pass copying words */
        copy_short(out, c->msg + c->pos, plain);
        c->pos += plain;
        return (int)plain;
    }
    size_t pos = c->pos, seg_start = c->pos, end = 0, olen = 0;
    bool jumped = false;
    for (;;) {
        if (pos >= c->len)
            goto bad;
        uint8_t l = c->msg[pos];
        if (l == 0) {
            out[olen++] = 0;
            pos++;
            break;
        }
        if ((l & 0xc0) == 0xc0) {
            if (pos + 1 >= c->len)
                goto bad;
            size_t target = (size_t)(l & 0x3f) << 8 | c->msg[pos + 1];
            /* strictly before the current label sequence: no forward
             * pointers, and every jump lands lower, so no loops */
            if (target >= seg_start)
                goto bad;
            if (!jumped)
                end = pos + 2;
            jumped = true;
            pos = seg_start = target;
            continue;
        }
        if (l & 0xc0) /* 0x40 extended and 0x80 reserved label types */
            goto bad;
        if (l > c->len - pos - 1 || olen + 1 + l + 1 > DNS_NAME_MAX)
            goto bad;
        memcpy(out + olen, c->msg + pos, 1 + (size_t)l);
        olen += 1 + (size_t)l;
        pos += 1 + (size_t)l;
    }
    c->pos = jumped ? end : pos;
    return (int)olen;
bad:
    dns_cursor_fail(c, -EBADMSG);
    return c->error;
}

void dns_skip_name(dns_cursor *c)
{
    uint8_t tmp[DNS_NAME_MAX];
    dns_read_name(c, tmp);
}

size_t dns_name_len(const uint8_t *name)
{
    size_t n = 0;
    while (name[n])
        n += 1 + (size_t)name[n];
    return n + 1;
}

int dns_name_labels(const uint8_t *name)
{
    int n = 0;
    for (size_t i = 0; name[i]; i += 1 + (size_t)name[i])
        n++;
    return n;
}

void dns_name_lower(uint8_t *name)
{
    for (size_t i = 0; name[i]; i += 1 + (size_t)name[i]) {
        for (size_t j = 1; j <= name[i]; j++)
            name[i + j] = fold(name[i + j]);
    }
}

/* The bytes of x with 'A'..'Z' turned into 'a'..'z' (SWAR: per byte, bit 7
 * of low7 + (0x80 - 'A') says >= 'A' and of low7 + (0x80 - '[') says > 'Z';
 * no sum carries into the next byte, and bytes >= 0x80 are left alone). */
static inline uint64_t fold8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull;
    uint64_t low7 = x & (0x7f * ones);
    uint64_t ge_a = low7 + (0x80 - 'A') * ones, gt_z = low7 + (0x80 - '[') * ones;
    uint64_t upper = ge_a & ~gt_z & ~x & (0x80 * ones);
    return x | (upper >> 2);
}

void dns_name_lower_copy(uint8_t *out, const uint8_t *name, size_t len)
{
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t x;
        memcpy(&x, name + i, 8);
        x = fold8(x);
        memcpy(out + i, &x, 8);
    }
    for (; i < len; i++)
        out[i] = fold(name[i]);
}

/* Length bytes are at most 63, below 'A', so folding every byte compares
 * both the structure and the labels case-insensitively. */
static bool bytes_equal_fold(const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i] && fold(a[i]) != fold(b[i]))
            return false;
    }
    return true;
}

bool dns_name_equal(const uint8_t *a, const uint8_t *b)
{
    size_t la = dns_name_len(a);
    return la == dns_name_len(b) && bytes_equal_fold(a, b, la);
}

int dns_name_suffix_of(const uint8_t *name, const uint8_t *zone)
{
    size_t nlen = dns_name_len(name), zlen = dns_name_len(zone), off = 0;
    if (zlen > nlen)
        return -1;
    while (nlen - off > zlen)
        off += 1 + (size_t)name[off];
    if (nlen - off != zlen || !bytes_equal_fold(name + off, zone, zlen))
        return -1;
    return (int)off;
}

/* Reads one escaped character at *sp ("\." "\\" "\DDD" or plain). */
static int unescape_char(const char **sp)
{
    const char *s = *sp;
    if (*s != '\\') {
        *sp = s + 1;
        return (unsigned char)*s;
    }
    s++;
    if (s[0] >= '0' && s[0] <= '9') {
        if (!(s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9'))
            return -EINVAL;
        int v = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
        if (v > 255)
            return -EINVAL;
        *sp = s + 3;
        return v;
    }
    if (*s == '\0')
        return -EINVAL;
    *sp = s + 1;
    return (unsigned char)*s;
}

int dns_name_from_str(const char *s, uint8_t out[DNS_NAME_MAX])
{
    size_t olen = 0;
    if (s[0] == '.' && s[1] == '\0')
        s++;
    while (*s) {
        size_t lpos = olen++;
        while (*s && *s != '.') {
            int ch = unescape_char(&s);
            if (ch < 0 || olen - lpos > DNS_LABEL_MAX || olen + 1 >= DNS_NAME_MAX)
                return -EINVAL;
            out[olen++] = (uint8_t)ch;
        }
        if (olen - lpos == 1) /* empty label */
            return -EINVAL;
        out[lpos] = (uint8_t)(olen - lpos - 1);
        if (*s == '.')
            s++;
    }
    out[olen++] = 0;
    return (int)olen;
}

int dns_name_to_str(const uint8_t *name, char *out, size_t size)
{
    size_t o = 0;
    char tmp[5];
#define EMIT(ch)                                                                                   \
    do {                                                                                           \
        if (o + 1 < size)                                                                          \
            out[o] = (ch);                                                                         \
        o++;                                                                                       \
    } while (0)
    if (!name[0])
        EMIT('.');
    for (size_t i = 0; name[i]; i += 1 + (size_t)name[i]) {
        for (size_t j = 1; j <= name[i]; j++) {
            uint8_t ch = name[i + j];
            if (ch == '.' || ch == '\\') {
                EMIT('\\');
                EMIT((char)ch);
            } else if (ch <= 0x20 || ch >= 0x7f) {
                snprintf(tmp, sizeof(tmp), "\\%03u", ch);
                for (int k = 0; k < 4; k++)
                    EMIT(tmp[k]);
            } else {
                EMIT((char)ch);
            }
        }
        EMIT('.');
    }
#undef EMIT
    if (size)
        out[o < size ? o : size - 1] = '\0';
    return o < size ? (int)o : -ENOSPC;
}

/* ---- records -------------------------------------------------------------- */

/* Reads a name from the rdata cursor and appends it to out. */
static void rdata_name(dns_cursor *c, uint8_t *out, size_t *olen)
{
    int n = dns_read_name(c, out + *olen);
    if (n > 0)
        *olen += (size_t)n;
}

static void rdata_fixed(dns_cursor *c, uint8_t *out, size_t *olen, size_t n)
{
    dns_read_bytes(c, out + *olen, n);
    *olen += n;
}

/* Expands the rdata of type at c (whose len ends at the rdata's end). */
static size_t read_rdata(dns_cursor *c, uint16_t type, uint16_t rdlen, uint8_t *out)
{
    size_t olen = 0;
    switch (type) {
    case DNS_TYPE_A:
    case DNS_TYPE_AAAA:
        if (rdlen != (type == DNS_TYPE_A ? 4 : 16))
            dns_cursor_fail(c, -EBADMSG);
        rdata_fixed(c, out, &olen, rdlen);
        break;
    case DNS_TYPE_NS:
    case DNS_TYPE_CNAME:
    case DNS_TYPE_PTR:
        rdata_name(c, out, &olen);
        break;
    case DNS_TYPE_SOA:
        rdata_name(c, out, &olen);
        rdata_name(c, out, &olen);
        rdata_fixed(c, out, &olen, 20);
        break;
    case DNS_TYPE_MX:
        rdata_fixed(c, out, &olen, 2);
        rdata_name(c, out, &olen);
        break;
    case DNS_TYPE_SRV:
        rdata_fixed(c, out, &olen, 6);
        rdata_name(c, out, &olen);
        break;
    default:
        rdata_fixed(c, out, &olen, rdlen);
        break;
    }
    return olen;
}

int dns_read_rr(dns_cursor *c, dns_rr_buf *buf, dns_rr *rr)
{
    dns_read_name(c, buf->owner);
    rr->owner = buf->owner;
    rr->type = dns_read_u16(c);
    rr->rclass = dns_read_u16(c);
    rr->ttl = dns_read_u32(c);
    uint16_t rdlen = dns_read_u16(c);
    if (!dns_cursor_need(c, rdlen))
        return c->error;
    dns_cursor sub = {c->msg, c->pos + rdlen, c->pos, 0};
    size_t olen = read_rdata(&sub, rr->type, rdlen, buf->rdata);
    if (sub.error || sub.pos != sub.len || olen > UINT16_MAX) {
        dns_cursor_fail(c, -EBADMSG);
        return c->error;
    }
    rr->rdlen = (uint16_t)olen;
    rr->rdata = buf->rdata;
    c->pos += rdlen;
    return 0;
}

size_t dns_rdata_srv(uint8_t *out, uint16_t prio, uint16_t weight, uint16_t port,
                     const uint8_t *target)
{
    size_t tl = dns_name_len(target);
    put_u16(out, prio);
    put_u16(out + 2, weight);
    put_u16(out + 4, port);
    memcpy(out + 6, target, tl);
    return 6 + tl;
}

size_t dns_rdata_soa(uint8_t *out, const uint8_t *mname, const uint8_t *rname, uint32_t serial,
                     uint32_t refresh, uint32_t retry, uint32_t expire, uint32_t minimum)
{
    size_t ml = dns_name_len(mname), rl = dns_name_len(rname);
    memcpy(out, mname, ml);
    memcpy(out + ml, rname, rl);
    uint8_t *p = out + ml + rl;
    put_u32(p, serial);
    put_u32(p + 4, refresh);
    put_u32(p + 8, retry);
    put_u32(p + 12, expire);
    put_u32(p + 16, minimum);
    return ml + rl + 20;
}

/* Length of the wire name at p within avail bytes, or 0 when malformed. */
static size_t bounded_name_len(const uint8_t *p, size_t avail)
{
    size_t n = 0;
    while (n < avail && p[n]) {
        if (p[n] > DNS_LABEL_MAX)
            return 0;
        n += 1 + (size_t)p[n];
    }
    if (n >= avail || n + 1 > DNS_NAME_MAX)
        return 0;
    return n + 1;
}

uint32_t dns_soa_minimum(const dns_rr *soa)
{
    size_t ml = bounded_name_len(soa->rdata, soa->rdlen);
    size_t rl = ml ? bounded_name_len(soa->rdata + ml, soa->rdlen - ml) : 0;
    if (!rl || ml + rl + 20 != soa->rdlen)
        return 0;
    return get_u32(soa->rdata + ml + rl + 16);
}

/* ---- queries -------------------------------------------------------------- */

/* Reads the OPT record's fields (after its owner and type). */
static void read_opt(dns_cursor *c, dns_query *q)
{
    q->edns_udp = dns_read_u16(c);
    uint32_t ttl = dns_read_u32(c);
    uint16_t rdlen = dns_read_u16(c);
    if (!dns_cursor_need(c, rdlen))
        return;
    size_t end = c->pos + rdlen;
    while (!c->error && c->pos < end) {
        dns_read_u16(c); /* option code: none is acted upon (RFC 6891 6.1.2) */
        uint16_t olen = dns_read_u16(c);
        if (c->error || olen > end - c->pos) {
            dns_cursor_fail(c, -EBADMSG);
            return;
        }
        c->pos += olen;
    }
    if (c->pos != end)
        dns_cursor_fail(c, -EBADMSG);
    q->edns = true;
    q->edns_version = (uint8_t)(ttl >> 16);
    q->edns_do = (ttl & DNS_EDNS_DO) != 0;
}

/* Walks the additional section, picking up the one OPT record. */
static void read_additional(dns_cursor *c, dns_query *q)
{
    uint8_t owner[DNS_NAME_MAX];
    bool seen_opt = false;
    for (unsigned i = 0; i < q->arcount && !c->error; i++) {
        int olen = dns_read_name(c, owner);
        uint16_t type = dns_read_u16(c);
        if (c->error)
            return;
        if (type != DNS_TYPE_OPT) {
            dns_skip(c, 6);
            dns_skip(c, dns_read_u16(c));
            continue;
        }
        if (seen_opt || olen != 1) /* a second OPT, or one not at the root */
            dns_cursor_fail(c, -EBADMSG);
        seen_opt = true;
        read_opt(c, q);
    }
}

static void read_question(dns_cursor *c, dns_query *q)
{
    int n = dns_read_name(c, q->qname);
    q->qtype = dns_read_u16(c);
    q->qclass = dns_read_u16(c);
    if (!c->error)
        q->qname_len = (uint16_t)n;
}

int dns_query_parse(const uint8_t *msg, size_t len, dns_query *q)
{
    q->qname_len = 0;
    q->qtype = q->qclass = 0;
    q->edns = q->edns_do = false;
    q->edns_version = 0;
    q->edns_udp = 0;
    if (len < DNS_HEADER_SIZE)
        return -ENOMSG;
    dns_cursor c;
    dns_cursor_init(&c, msg, len);
    q->id = dns_read_u16(&c);
    q->flags = dns_read_u16(&c);
    q->qdcount = dns_read_u16(&c);
    q->ancount = dns_read_u16(&c);
    q->nscount = dns_read_u16(&c);
    q->arcount = dns_read_u16(&c);
    if (q->flags & DNS_FLAG_QR)
        return -ENOMSG;
    if (q->qdcount == 1)
        read_question(&c, q);
    if (dns_flags_opcode(q->flags) != DNS_OPCODE_QUERY)
        return -EOPNOTSUPP;
    if (q->qdcount != 1 || q->ancount != 0 || q->nscount != 0 || c.error)
        return -EBADMSG;
    read_additional(&c, q);
    if (c.error || c.pos != len || q->qtype == DNS_TYPE_OPT)
        return -EBADMSG;
    if (q->edns && q->edns_version != 0)
        return -EPROTONOSUPPORT;
    return 0;
}

size_t dns_query_udp_limit(const dns_query *q, size_t server_max)
{
    if (server_max < DNS_UDP_MIN)
        server_max = DNS_UDP_MIN;
    if (!q->edns || q->edns_udp <= DNS_UDP_MIN)
        return DNS_UDP_MIN;
    return q->edns_udp < server_max ? q->edns_udp : server_max;
}

/* ---- writer --------------------------------------------------------------- */

static const size_t count_off[4] = {4, 6, 8, 10};

uint16_t dns_writer_count(const dns_writer *w, enum dns_section sec)
{
    return w->counts[sec];
}

static void count_inc(dns_writer *w, enum dns_section sec)
{
    put_u16(w->buf + count_off[sec], ++w->counts[sec]);
}

void dns_writer_init(dns_writer *w, uint8_t *buf, size_t cap, uint16_t id, uint16_t flags)
{
    w->buf = buf;
    w->cap = cap > DNS_MSG_MAX ? DNS_MSG_MAX : cap;
    w->len = DNS_HEADER_SIZE;
    w->reserved = 0;
    w->section = DNS_SEC_QUESTION;
    w->ncomp = 0;
    w->qname = NULL;
    memset(w->counts, 0, sizeof(w->counts));
    memset(buf, 0, DNS_HEADER_SIZE);
    put_u16(buf, id);
    put_u16(buf + 2, flags);
}

void dns_writer_set_rcode(dns_writer *w, unsigned rcode)
{
    uint16_t f = get_u16(w->buf + 2);
    put_u16(w->buf + 2, (uint16_t)((f & ~DNS_FLAG_RCODE_MASK) | (rcode & 0xf)));
}

void dns_writer_set_flags(dns_writer *w, uint16_t set, uint16_t clear)
{
    uint16_t f = get_u16(w->buf + 2);
    put_u16(w->buf + 2, (uint16_t)((f & ~clear) | set));
}

int dns_writer_reserve(dns_writer *w, size_t n)
{
    if (w->len + w->reserved + n > w->cap)
        return -EMSGSIZE;
    w->reserved += n;
    return 0;
}

static inline size_t room(const dns_writer *w)
{
    return w->cap - w->reserved - w->len;
}

dns_writer_mark dns_writer_get_mark(const dns_writer *w)
{
    dns_writer_mark m = {w->len, w->section, w->ncomp, {0}};
    memcpy(m.counts, w->counts, sizeof(m.counts));
    return m;
}

void dns_writer_rewind(dns_writer *w, const dns_writer_mark *m)
{
    w->len = m->len;
    w->section = m->section;
    w->ncomp = m->ncomp;
    if (m->len <= DNS_HEADER_SIZE)
        w->qname = NULL;
    memcpy(w->counts, m->counts, sizeof(w->counts));
    for (int i = 0; i < 4; i++)
        put_u16(w->buf + count_off[i], m->counts[i]);
}

/* Does the (possibly compressed) name at off in our own message equal the
 * wire name? The message was written by us, so pointers are trusted. */
static bool msg_name_equal(const uint8_t *msg, size_t off, const uint8_t *name)
{
    for (;;) {
        uint8_t l = msg[off];
        if ((l & 0xc0) == 0xc0) {
            off = (size_t)(l & 0x3f) << 8 | msg[off + 1];
            continue;
        }
        if (l != *name)
            return false;
        if (l == 0)
            return true;
        if (!bytes_equal_fold(msg + off + 1, name + 1, l))
            return false;
        off += 1 + (size_t)l;
        name += 1 + (size_t)l;
    }
}

/* Offset of an earlier copy of the name, or 0. */
static size_t comp_find(const dns_writer *w, const uint8_t *name)
{
    for (uint16_t i = 0; i < w->ncomp; i++) {
        if (w->buf[w->comp[i]] == name[0] && msg_name_equal(w->buf, w->comp[i], name))
            return w->comp[i];
    }
    return 0;
}

static void comp_add(dns_writer *w, size_t off)
{
    if (w->ncomp < DNS_COMPRESS_MAX && off < 0x4000)
        w->comp[w->ncomp++] = (uint16_t)off;
}

/* Writes a wire name at w->len, compressed against the names written before.
 * Its labels become compression targets only once the name is complete, so
 * a suffix never matches a half-written copy of itself. */
static int put_name(dns_writer *w, const uint8_t *name)
{
    size_t i = 0, ptr = 0, start = w->len;
    while (name[i] && !(ptr = comp_find(w, name + i))) {
        size_t l = 1 + (size_t)name[i];
        if (room(w) < l)
            return -EMSGSIZE;
        memcpy(w->buf + w->len, name + i, l);
        w->len += l;
        i += l;
    }
    if (room(w) < (ptr ? 2u : 1u))
        return -EMSGSIZE;
    if (ptr) {
        put_u16(w->buf + w->len, (uint16_t)(0xc000 | ptr));
        w->len += 2;
    } else {
        w->buf[w->len++] = 0;
    }
    for (size_t off = 0; off < i; off += 1 + (size_t)name[off])
        comp_add(w, start + off);
    return 0;
}

static int put_bytes(dns_writer *w, const void *p, size_t n)
{
    if (room(w) < n)
        return -EMSGSIZE;
    memcpy(w->buf + w->len, p, n);
    w->len += n;
    return 0;
}

/* The first name of a message: nothing to compress against, so one copy. */
static int put_first_name(dns_writer *w, const uint8_t *name, size_t len)
{
    if (room(w) < len)
        return -EMSGSIZE;
    memcpy(w->buf + w->len, name, len);
    for (size_t off = 0; name[off]; off += 1 + (size_t)name[off])
        comp_add(w, w->len + off);
    w->len += len;
    return 0;
}

int dns_writer_question(dns_writer *w, const uint8_t *name, uint16_t qtype, uint16_t qclass)
{
    size_t len = bounded_name_len(name, DNS_NAME_MAX);
    if (w->section != DNS_SEC_QUESTION || !len)
        return -EINVAL;
    dns_writer_mark m = dns_writer_get_mark(w);
    uint8_t tail[4];
    put_u16(tail, qtype);
    put_u16(tail + 2, qclass);
    int r = w->ncomp == 0 ? put_first_name(w, name, len) : put_name(w, name);
    if (r < 0 || put_bytes(w, tail, 4) < 0) {
        dns_writer_rewind(w, &m);
        return -EMSGSIZE;
    }
    if (m.len == DNS_HEADER_SIZE)
        w->qname = name;
    count_inc(w, DNS_SEC_QUESTION);
    return 0;
}

/* Writes rdata, compressing the names of the RFC 1035 types. */
static int put_rdata(dns_writer *w, const dns_rr *rr)
{
    const uint8_t *p = rr->rdata;
    size_t n = rr->rdlen, fixed = 0, names = 0;
    switch (rr->type) {
    case DNS_TYPE_NS:
    case DNS_TYPE_CNAME:
    case DNS_TYPE_PTR:
        names = 1;
        break;
    case DNS_TYPE_SOA:
        names = 2;
        break;
    case DNS_TYPE_MX:
        fixed = 2;
        names = 1;
        break;
    default:
        return put_bytes(w, p, n);
    }
    if (n < fixed || put_bytes(w, p, fixed) < 0)
        return n < fixed ? -EINVAL : -EMSGSIZE;
    p += fixed;
    n -= fixed;
    for (size_t i = 0; i < names; i++) {
        size_t l = bounded_name_len(p, n);
        if (!l)
            return -EINVAL;
        int r = put_name(w, p);
        if (r < 0)
            return r;
        p += l;
        n -= l;
    }
    return put_bytes(w, p, n); /* the SOA's 20 bytes of numbers */
}

/* The owner: the question's name is already at offset 12 (what
 * put_name would find first), any other name is compressed. */
static int put_owner(dns_writer *w, const uint8_t *owner)
{
    if (owner != w->qname)
        return put_name(w, owner);
    if (room(w) < 2)
        return -EMSGSIZE;
    put_u16(w->buf + w->len, 0xc000 | DNS_HEADER_SIZE);
    w->len += 2;
    return 0;
}

int dns_writer_rr(dns_writer *w, enum dns_section sec, const dns_rr *rr)
{
    if ((int)sec < w->section || sec == DNS_SEC_QUESTION ||
        (rr->owner != w->qname && !bounded_name_len(rr->owner, DNS_NAME_MAX)))
        return -EINVAL;
    /* the counts change only on success: rewinding needs no more */
    size_t len = w->len;
    int section = w->section;
    uint16_t ncomp = w->ncomp;
    w->section = sec;
    uint8_t fixed[10];
    put_u16(fixed, rr->type);
    put_u16(fixed + 2, rr->rclass);
    put_u32(fixed + 4, rr->ttl);
    int r = put_owner(w, rr->owner);
    if (r == 0)
        r = put_bytes(w, fixed, sizeof(fixed));
    size_t rdstart = w->len;
    if (r == 0)
        r = put_rdata(w, rr);
    if (r < 0) {
        w->len = len;
        w->section = section;
        w->ncomp = ncomp;
        return r;
    }
    put_u16(w->buf + rdstart - 2, (uint16_t)(w->len - rdstart));
    count_inc(w, sec);
    return 0;
}

int dns_writer_opt(dns_writer *w, uint16_t udp_size, unsigned rcode, bool do_bit)
{
    size_t res = w->reserved;
    w->reserved = 0;
    if (room(w) < DNS_OPT_SIZE) {
        w->reserved = res;
        return -EMSGSIZE;
    }
    uint8_t *p = w->buf + w->len;
    p[0] = 0;
    put_u16(p + 1, DNS_TYPE_OPT);
    put_u16(p + 3, udp_size < DNS_UDP_MIN ? DNS_UDP_MIN : udp_size);
    put_u32(p + 5, (uint32_t)((rcode >> 4) & 0xff) << 24 | (do_bit ? DNS_EDNS_DO : 0));
    put_u16(p + 9, 0);
    w->len += DNS_OPT_SIZE;
    w->section = DNS_SEC_ADDITIONAL;
    count_inc(w, DNS_SEC_ADDITIONAL);
    return 0;
}

int dns_error_response(const dns_query *q, unsigned rcode, uint16_t udp_size, uint8_t *buf,
                       size_t cap)
{
    if (cap < DNS_HEADER_SIZE)
        return -EMSGSIZE;
    uint16_t flags = (uint16_t)(DNS_FLAG_QR | DNS_FLAG_RA | (q->flags & DNS_FLAG_OPCODE_MASK) |
                                (q->flags & DNS_FLAG_RD));
    dns_writer w;
    dns_writer_init(&w, buf, cap, q->id, flags);
    dns_writer_set_rcode(&w, rcode);
    bool opt = q->edns || rcode == DNS_RCODE_BADVERS;
    if (opt && dns_writer_reserve(&w, DNS_OPT_SIZE) < 0)
        return -EMSGSIZE;
    if (q->qname_len && dns_writer_question(&w, q->qname, q->qtype, q->qclass) < 0)
        return -EMSGSIZE;
    if (opt && dns_writer_opt(&w, udp_size, rcode, q->edns_do) < 0)
        return -EMSGSIZE;
    return (int)dns_writer_len(&w);
}
