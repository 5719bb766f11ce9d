/* wire.h - the DNS wire codec (RFC 1035, 2181, 3596, 2782, 3597, 4343, 6891).
 *
 * Reading goes through a bounded cursor with a sticky error (as Knot's
 * wire_ctx_t): read every field, then check c.error once. Names are handled
 * in uncompressed wire form ("\3www\7example\3com\0", at most 255 bytes);
 * comparisons are ASCII case-insensitive (RFC 4343).
 *
 * Writing goes through dns_writer: a caller-provided buffer whose capacity is
 * the size the message may reach (the client's UDP limit, or 65535 over
 * TCP), with a compression table for owner names and the RDATA names of the
 * RFC 1035 types. Adding a record is atomic: it is written whole or not at
 * all (-EMSGSIZE), so the caller decides whether to truncate (TC) or drop.
 *
 * Nothing here allocates; errors are negative errno values:
 *   -EBADMSG   malformed input (bad pointer, label, count, length, truncated)
 *   -EMSGSIZE  the writer's buffer is full
 *   -EINVAL    bad argument (a name that is not valid wire form, ...) */
#ifndef KNODE_DNS_WIRE_H
#define KNODE_DNS_WIRE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define DNS_HEADER_SIZE 12
#define DNS_NAME_MAX 255  /* wire length of a name, root label included */
#define DNS_LABEL_MAX 63  /* bytes in one label */
#define DNS_UDP_MIN 512   /* UDP payload without EDNS (RFC 1035 4.2.1) */
#define DNS_MSG_MAX 65535 /* largest message (TCP length prefix) */
#define DNS_OPT_SIZE 11   /* an OPT record without options */

/* Header flag bits (the 16-bit word after the ID). */
#define DNS_FLAG_QR 0x8000
#define DNS_FLAG_AA 0x0400
#define DNS_FLAG_TC 0x0200
#define DNS_FLAG_RD 0x0100
#define DNS_FLAG_RA 0x0080
#define DNS_FLAG_AD 0x0020
#define DNS_FLAG_CD 0x0010
#define DNS_FLAG_OPCODE_MASK 0x7800
#define DNS_FLAG_RCODE_MASK 0x000f

/* The DO bit in the OPT record's TTL field (RFC 3225). */
#define DNS_EDNS_DO 0x8000

enum dns_opcode {
    DNS_OPCODE_QUERY = 0,
    DNS_OPCODE_IQUERY = 1,
    DNS_OPCODE_STATUS = 2,
    DNS_OPCODE_NOTIFY = 4,
    DNS_OPCODE_UPDATE = 5,
};

enum dns_rcode {
    DNS_RCODE_NOERROR = 0,
    DNS_RCODE_FORMERR = 1,
    DNS_RCODE_SERVFAIL = 2,
    DNS_RCODE_NXDOMAIN = 3,
    DNS_RCODE_NOTIMP = 4,
    DNS_RCODE_REFUSED = 5,
    DNS_RCODE_BADVERS = 16, /* extended: needs an OPT record */
};

enum dns_type {
    DNS_TYPE_A = 1,
    DNS_TYPE_NS = 2,
    DNS_TYPE_CNAME = 5,
    DNS_TYPE_SOA = 6,
    DNS_TYPE_PTR = 12,
    DNS_TYPE_MX = 15,
    DNS_TYPE_TXT = 16,
    DNS_TYPE_AAAA = 28,
    DNS_TYPE_SRV = 33,
    DNS_TYPE_OPT = 41,
    DNS_TYPE_IXFR = 251,
    DNS_TYPE_AXFR = 252,
    DNS_TYPE_ANY = 255,
};

enum dns_class {
    DNS_CLASS_IN = 1,
    DNS_CLASS_CH = 3,
    DNS_CLASS_ANY = 255,
};

enum dns_section {
    DNS_SEC_QUESTION = 0,
    DNS_SEC_ANSWER = 1,
    DNS_SEC_AUTHORITY = 2,
    DNS_SEC_ADDITIONAL = 3,
};

static inline unsigned dns_flags_opcode(uint16_t flags)
{
    return (flags & DNS_FLAG_OPCODE_MASK) >> 11;
}

static inline unsigned dns_flags_rcode(uint16_t flags)
{
    return flags & DNS_FLAG_RCODE_MASK;
}

/* ---- read cursor ------------------------------------------------------- */

typedef struct dns_cursor {
    const uint8_t *msg; /* the whole message: compression pointers index it */
    size_t len;
    size_t pos;
    int error; /* 0, or the first error (negative errno); reads then yield 0 */
} dns_cursor;

static inline void dns_cursor_init(dns_cursor *c, const uint8_t *msg, size_t len)
{
    c->msg = msg;
    c->len = len;
    c->pos = 0;
    c->error = 0;
}

static inline size_t dns_cursor_left(const dns_cursor *c)
{
    return c->error ? 0 : c->len - c->pos;
}

/* Sets the sticky error (the first one wins). */
static inline void dns_cursor_fail(dns_cursor *c, int err)
{
    if (!c->error)
        c->error = err;
}

/* True when n more bytes can be read; otherwise fails the cursor. */
static inline bool dns_cursor_need(dns_cursor *c, size_t n)
{
    if (c->error)
        return false;
    if (c->len - c->pos < n) {
        c->error = -EBADMSG;
        return false;
    }
    return true;
}

static inline uint8_t dns_read_u8(dns_cursor *c)
{
    if (!dns_cursor_need(c, 1))
        return 0;
    return c->msg[c->pos++];
}

static inline uint16_t dns_read_u16(dns_cursor *c)
{
    if (!dns_cursor_need(c, 2))
        return 0;
    uint16_t v = (uint16_t)(c->msg[c->pos] << 8 | c->msg[c->pos + 1]);
    c->pos += 2;
    return v;
}

static inline uint32_t dns_read_u32(dns_cursor *c)
{
    if (!dns_cursor_need(c, 4))
        return 0;
    const uint8_t *p = c->msg + c->pos;
    c->pos += 4;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Copies n bytes to out (zero-fills out on error). */
static inline void dns_read_bytes(dns_cursor *c, void *out, size_t n)
{
    if (!dns_cursor_need(c, n)) {
        memset(out, 0, n);
        return;
    }
    memcpy(out, c->msg + c->pos, n);
    c->pos += n;
}

static inline void dns_skip(dns_cursor *c, size_t n)
{
    if (dns_cursor_need(c, n))
        c->pos += n;
}

/* Reads the (possibly compressed) name at the cursor into out in
 * uncompressed wire form and advances past the bytes the name occupies in
 * place. Compression pointers must point before the start of the label
 * sequence that holds them (so there are no forward pointers and no loops);
 * labels must be plain (no 0x40/0x80 types), at most 63 bytes; the name at
 * most 255. Returns the name's length, or the cursor's error (-EBADMSG). */
int dns_read_name(dns_cursor *c, uint8_t out[DNS_NAME_MAX]);

/* Skips the name at the cursor, validating it as dns_read_name does. */
void dns_skip_name(dns_cursor *c);

/* ---- names (uncompressed wire form) ------------------------------------ */

/* Length of a valid wire name including the root label. */
size_t dns_name_len(const uint8_t *name);

/* Number of labels, the root excluded ("." has 0). */
int dns_name_labels(const uint8_t *name);

/* Lower-cases the ASCII letters of name's labels in place. */
void dns_name_lower(uint8_t *name);

/* Copies the len bytes of a valid wire name to out, lower-casing its ASCII
 * letters eight bytes at a time (length bytes are below 'A', so they stay). */
void dns_name_lower_copy(uint8_t *out, const uint8_t *name, size_t len);

/* Case-insensitive equality of two wire names. */
bool dns_name_equal(const uint8_t *a, const uint8_t *b);

/* Returns the offset in name where the suffix zone starts, if name equals
 * zone or is below it (label-aligned, case-insensitive); otherwise -1. */
int dns_name_suffix_of(const uint8_t *name, const uint8_t *zone);

/* Parses presentation form ("www.example.com", trailing dot optional, "." or
 * "" for the root; "\." and "\DDD" escapes) into out. Returns the wire
 * length, or -EINVAL (empty label, label > 63, name > 255, bad escape). */
int dns_name_from_str(const char *s, uint8_t out[DNS_NAME_MAX]);

/* Writes name in presentation form with a trailing dot, escaping '.', '\\'
 * and non-printable bytes. Returns the string length, or -ENOSPC when it
 * does not fit in size bytes (the output is then truncated). */
int dns_name_to_str(const uint8_t *name, char *out, size_t size);

/* ---- records ----------------------------------------------------------- */

/* A resource record in uncompressed form: names inside rdata are expanded.
 * The pointers are borrowed. */
typedef struct dns_rr {
    const uint8_t *owner;
    uint16_t type;
    uint16_t rclass;
    uint32_t ttl;
    uint16_t rdlen;
    const uint8_t *rdata;
} dns_rr;

/* Storage for dns_read_rr: an expanded record can be larger than its wire
 * form (decompressed names), never more than 65535 bytes of rdata. */
typedef struct dns_rr_buf {
    uint8_t owner[DNS_NAME_MAX];
    uint8_t rdata[DNS_MSG_MAX];
} dns_rr_buf;

/* Reads one record at the cursor into rr (pointing into buf), expanding the
 * compressed names inside the rdata of the types that may carry them (NS,
 * CNAME, SOA, PTR, MX, SRV) and checking that their rdata is well formed
 * (A is 4 bytes, AAAA 16, SOA two names and 20 bytes, ...). Other types are
 * copied as they are. Returns 0 or the cursor's error. */
int dns_read_rr(dns_cursor *c, dns_rr_buf *buf, dns_rr *rr);

/* Builds SRV / SOA rdata in uncompressed form into out (size at least
 * 6 + DNS_NAME_MAX, resp. 2 * DNS_NAME_MAX + 20). Return the rdata length. */
size_t dns_rdata_srv(uint8_t *out, uint16_t prio, uint16_t weight, uint16_t port,
                     const uint8_t *target);
size_t dns_rdata_soa(uint8_t *out, const uint8_t *mname, const uint8_t *rname, uint32_t serial,
                     uint32_t refresh, uint32_t retry, uint32_t expire, uint32_t minimum);

/* The SOA MINIMUM field of an SOA rr's rdata (0 if malformed). */
uint32_t dns_soa_minimum(const dns_rr *soa);

/* ---- queries ----------------------------------------------------------- */

typedef struct dns_query {
    uint16_t id;
    uint16_t flags;
    uint16_t qdcount, ancount, nscount, arcount;
    uint8_t qname[DNS_NAME_MAX]; /* as sent (case kept) */
    uint16_t qname_len;          /* 0 when no question could be read */
    uint16_t qtype;
    uint16_t qclass;
    /* EDNS (RFC 6891): valid when edns is set */
    bool edns;
    bool edns_do;         /* DNSSEC OK */
    uint8_t edns_version; /* the version the client speaks */
    uint16_t edns_udp;    /* advertised UDP payload size, as sent */
} dns_query;

/* Parses a query. Returns:
 *   0                 a well-formed QUERY with exactly one question: answer it
 *   -EBADMSG          malformed (bad counts or names, a second OPT, trailing
 *                     bytes, an OPT type question, ...): answer FORMERR
 *   -EOPNOTSUPP       an opcode other than QUERY: answer NOTIMP
 *   -EPROTONOSUPPORT  EDNS version above 0: answer BADVERS
 *   -ENOMSG           not a query at all (shorter than a header, or QR set):
 *                     drop it without an answer
 * The header fields are filled whenever the header could be read; qname_len
 * is non-zero whenever the question could be read. */
int dns_query_parse(const uint8_t *msg, size_t len, dns_query *q);

/* The most a UDP answer to q may carry: 512 without EDNS, else the
 * advertised size, at least 512 and at most server_max. */
size_t dns_query_udp_limit(const dns_query *q, size_t server_max);

/* ---- writer ------------------------------------------------------------ */

#define DNS_COMPRESS_MAX 64

typedef struct dns_writer {
    uint8_t *buf;
    size_t cap;      /* bytes the message may take */
    size_t len;      /* bytes written */
    size_t reserved; /* kept free for a final OPT record */
    int section;     /* the section being written (enum dns_section) */
    uint16_t ncomp;
    uint16_t comp[DNS_COMPRESS_MAX]; /* offsets of names written, for compression */
    const uint8_t *qname;            /* the question's name as passed, at offset 12 */
    uint16_t counts[4];              /* the header's section counts, kept in step */
} dns_writer;

/* A point to rewind to (dns_writer_rewind). */
typedef struct dns_writer_mark {
    size_t len;
    int section;
    uint16_t ncomp;
    uint16_t counts[4];
} dns_writer_mark;

/* Starts a message in buf: cap is the largest size it may take (at least
 * DNS_HEADER_SIZE, at most DNS_MSG_MAX). Writes a zeroed header with id and
 * flags. */
void dns_writer_init(dns_writer *w, uint8_t *buf, size_t cap, uint16_t id, uint16_t flags);

/* Header flags: set the rcode (low 4 bits; an extended rcode's upper bits go
 * into the OPT record), set / clear flag bits. */
void dns_writer_set_rcode(dns_writer *w, unsigned rcode);
void dns_writer_set_flags(dns_writer *w, uint16_t set, uint16_t clear);
uint16_t dns_writer_count(const dns_writer *w, enum dns_section sec);

/* Keeps n bytes free for the end of the message (an OPT record written by
 * dns_writer_opt), so that records added before cannot use them. */
int dns_writer_reserve(dns_writer *w, size_t n);

/* Appends the question. The name is written uncompressed and becomes the
 * first compression target (offset 12); records whose owner is this very
 * pointer get the pointer to offset 12 without a search, so the name must
 * not change while the message is written. Returns 0 or -EMSGSIZE /
 * -EINVAL. */
int dns_writer_question(dns_writer *w, const uint8_t *name, uint16_t qtype, uint16_t qclass);

/* Appends rr to section sec (sections go in order: answer, authority,
 * additional; -EINVAL otherwise). The owner and the rdata names of NS,
 * CNAME, SOA, PTR and MX are compressed; other rdata is copied (RFC 3597).
 * Either the whole record is written or nothing (-EMSGSIZE). */
int dns_writer_rr(dns_writer *w, enum dns_section sec, const dns_rr *rr);

/* Appends an OPT record (releasing the reserved bytes first): our UDP
 * payload size, the extended rcode's upper 8 bits, version 0, the DO bit. */
int dns_writer_opt(dns_writer *w, uint16_t udp_size, unsigned rcode, bool do_bit);

dns_writer_mark dns_writer_get_mark(const dns_writer *w);
void dns_writer_rewind(dns_writer *w, const dns_writer_mark *m);

/* The message length so far. */
static inline size_t dns_writer_len(const dns_writer *w)
{
    return w->len;
}

/* Writes a complete answer carrying only rcode for q: the header (id, opcode
 * and RD echoed, QR set), the question when q has one, and an OPT record
 * when the client sent one (always for BADVERS). Returns the length, or
 * -EMSGSIZE when cap is too small. */
int dns_error_response(const dns_query *q, unsigned rcode, uint16_t udp_size, uint8_t *buf,
                       size_t cap);

#endif
