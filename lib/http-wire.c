/* http-wire.c - HTTP/1.1 request heads, chunked bodies, query strings
 * (see http-wire.h). */
#include "lib/http-wire.h"

#include <string.h>
#include <strings.h>

#define CHUNK_LINE_MAX 8192

enum { CH_SIZE, CH_DATA, CH_DATA_END, CH_TRAILER };

size_t kn_http_head_end(const char *buf, size_t len)
{
    size_t i = 0;
    while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
        i++;
    for (; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (i + 1 < len && buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

/* RFC 9110 5.6.2 tchar. */
static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!is_tchar((unsigned char)*s))
            return false;
    return true;
}

/* Cuts the next line off *p (CRLF or LF), NUL-terminated; NULL at the end. */
static char *next_line(char **p, char *end)
{
    char *s = *p;
    if (s >= end)
        return NULL;
    char *nl = memchr(s, '\n', (size_t)(end - s));
    if (!nl)
        nl = end;
    *p = nl < end ? nl + 1 : end;
    if (nl > s && nl[-1] == '\r')
        nl--;
    *nl = '\0';
    return s;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* The path of the request-target (origin, absolute or asterisk form). */
static char *target_path(char *target)
{
    if (target[0] == '/' || strcmp(target, "*") == 0)
        return target;
    char *scheme = strstr(target, "://");
    if (!scheme || (strncasecmp(target, "http", 4) != 0))
        return NULL;
    char *authority = scheme + 3;
    char *p = authority + strcspn(authority, "/?");
    if (p == authority)
        return NULL;
    if (*p == '/')
        return p;
    p[-1] = '/'; /* the authority is not kept: its last byte becomes the root */
    return p - 1;
}

static int parse_request_line(char *line, kn_http_head *h)
{
    char *sp1 = strchr(line, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || strchr(sp2 + 1, ' '))
        return 400;
    *sp1 = *sp2 = '\0';
    char *target = sp1 + 1, *version = sp2 + 1;
    if (!is_token(line) || !*target)
        return 400;
    if (strncmp(version, "HTTP/", 5) != 0 || !version[5] || version[6] != '.' || !version[7] ||
        version[8])
        return 400;
    if (version[5] != '1' || version[7] < '0' || version[7] > '9')
        return 505;
    h->method = line;
    h->minor = version[7] - '0';
    char *path = target_path(target);
    if (!path)
        return 400;
    char *q = strchr(path, '?');
    if (q) {
        *q = '\0';
        h->query = q + 1;
    }
    kn_http_unescape(path, false);
    h->path = path;
    return 0;
}

static int parse_field(char *line, kn_http_head *h)
{
    if (line[0] == ' ' || line[0] == '\t')
        return 400; /* obsolete line folding */
    char *colon = strchr(line, ':');
    if (!colon)
        return 400;
    *colon = '\0';
    if (!is_token(line))
        return 400; /* includes blanks before the colon */
    if (h->nfields >= KN_HTTP_MAX_HEADERS)
        return 431;
    h->fields[h->nfields++] = (kn_http_field){line, trim(colon + 1)};
    return 0;
}

static int parse_length(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

/* Body framing (RFC 9112 6.1-6.3) and connection options. */
static int parse_framing(kn_http_head *h)
{
    bool have_length = false, chunked = false, other_coding = false;
    for (size_t i = 0; i < h->nfields; i++) {
        kn_http_field *f = &h->fields[i];
        if (strcasecmp(f->name, "Content-Length") == 0) {
            uint64_t v;
            if (parse_length(f->value, &v) < 0 || (have_length && v != h->content_length))
                return 400;
            h->content_length = v;
            have_length = true;
        } else if (strcasecmp(f->name, "Transfer-Encoding") == 0) {
            if (strcasecmp(f->value, "chunked") == 0 && !chunked)
                chunked = true;
            else
                other_coding = true; /* another coding, or chunked twice */
        }
    }
    bool coded = chunked || other_coding;
    if (coded && (have_length || h->minor == 0))
        return 400;
    if (other_coding)
        return 501;
    h->framing = chunked       ? KN_HTTP_BODY_CHUNKED
                 : have_length ? KN_HTTP_BODY_LENGTH
                               : KN_HTTP_BODY_NONE;
    if (h->framing == KN_HTTP_BODY_LENGTH && h->content_length == 0)
        h->framing = KN_HTTP_BODY_NONE;
    const char *conn = kn_http_head_get(h, "Connection");
    h->keep_alive =
        h->minor >= 1 ? !kn_http_has_token(conn, "close") : kn_http_has_token(conn, "keep-alive");
    const char *expect = kn_http_head_get(h, "Expect");
    h->expect_continue = h->minor >= 1 && expect && strcasecmp(expect, "100-continue") == 0;
    return 0;
}

int kn_http_head_parse(char *buf, size_t len, kn_http_head *h)
{
    memset(h, 0, sizeof(*h));
    char *p = buf, *end = buf + len;
    while (p < end && (*p == '\r' || *p == '\n'))
        p++;
    char *line = next_line(&p, end);
    if (!line || !*line)
        return 400;
    int status = parse_request_line(line, h);
    while (status == 0 && (line = next_line(&p, end)) && *line)
        status = parse_field(line, h);
    return status ? status : parse_framing(h);
}

const char *kn_http_head_get(const kn_http_head *h, const char *name)
{
    for (size_t i = 0; i < h->nfields; i++)
        if (strcasecmp(h->fields[i].name, name) == 0)
            return h->fields[i].value;
    return NULL;
}

bool kn_http_has_token(const char *list, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = list; p && *p;) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, ",");
        size_t word = len;
        while (word && (p[word - 1] == ' ' || p[word - 1] == '\t'))
            word--;
        if (word == n && strncasecmp(p, token, n) == 0)
            return true;
        p += len;
    }
    return false;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void kn_http_unescape(char *s, bool plus_is_space)
{
    char *w = s;
    for (const char *r = s; *r; w++) {
        int hi = r[0] == '%' ? hex_value(r[1]) : -1;
        int lo = hi >= 0 ? hex_value(r[2]) : -1;
        if (lo >= 0) {
            *w = (char)(hi * 16 + lo);
            r += 3;
        } else {
            *w = plus_is_space && *r == '+' ? ' ' : *r;
            r++;
        }
    }
    *w = '\0';
}

size_t kn_http_query_split(char *query, kn_http_param *out, size_t max)
{
    size_t n = 0;
    for (char *p = query; p && *p;) {
        char *amp = strchr(p, '&');
        if (amp)
            *amp = '\0';
        if (*p) {
            char *eq = strchr(p, '=');
            if (eq)
                *eq = '\0';
            kn_http_unescape(p, true);
            if (eq)
                kn_http_unescape(eq + 1, true);
            if (n < max)
                out[n] = (kn_http_param){p, eq ? eq + 1 : p + strlen(p)};
            n++;
        }
        p = amp ? amp + 1 : NULL;
    }
    return n;
}

/* One byte of a chunk-size line: "1a;ext=x\r\n". */
static int chunk_size_byte(kn_http_chunked *c, char ch)
{
    int v = hex_value(ch);
    if (ch == '\n') {
        if (!c->digits)
            return -1;
        c->state = c->remaining ? CH_DATA : CH_TRAILER;
        c->digits = 0;
        c->in_ext = false;
        c->line = 0;
    } else if (c->in_ext || ch == '\r') {
        if (++c->line > CHUNK_LINE_MAX)
            return -1;
    } else if (v >= 0) {
        if (++c->digits > 15)
            return -1; /* 2^60 bytes: nobody sends that */
        c->remaining = c->remaining * 16 + (uint64_t)v;
    } else if ((ch == ';' || ch == ' ' || ch == '\t') && c->digits) {
        c->in_ext = true;
    } else {
        return -1;
    }
    return 0;
}

/* One byte of the trailer section; returns 1 at its blank line. */
static int trailer_byte(kn_http_chunked *c, char ch)
{
    if (ch == '\n') {
        if (c->line == 0)
            return 1;
        c->line = 0;
    } else if (ch != '\r' && ++c->line > CHUNK_LINE_MAX) {
        return -1;
    }
    return 0;
}

ssize_t kn_http_chunked_feed(kn_http_chunked *c, const char *in, size_t n, kn_buf *out)
{
    size_t i = 0;
    while (i < n && !c->done) {
        if (c->state == CH_DATA) {
            size_t take = n - i < c->remaining ? n - i : (size_t)c->remaining;
            kn_buf_append(out, in + i, take);
            c->remaining -= take;
            i += take;
            if (!c->remaining)
                c->state = CH_DATA_END;
            continue;
        }
        char ch = in[i++];
        int r = 0;
        if (c->state == CH_SIZE) {
            r = chunk_size_byte(c, ch);
        } else if (c->state == CH_DATA_END) {
            if (ch == '\n') {
                c->state = CH_SIZE;
                c->line = 0;
            } else if (ch == '\r' && !c->line) {
                c->line = 1;
            } else {
                r = -1;
            }
        } else {
            r = trailer_byte(c, ch);
            c->done = r == 1;
        }
        if (r < 0)
            return -1;
    }
    return (ssize_t)i;
}

const char *kn_http_reason(int status)
{
    static const struct {
        int code;
        const char *text;
    } reasons[] = {
        {100, "Continue"},
        {101, "Switching Protocols"},
        {200, "OK"},
        {201, "Created"},
        {202, "Accepted"},
        {204, "No Content"},
        {206, "Partial Content"},
        {301, "Moved Permanently"},
        {302, "Found"},
        {303, "See Other"},
        {304, "Not Modified"},
        {307, "Temporary Redirect"},
        {308, "Permanent Redirect"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {406, "Not Acceptable"},
        {408, "Request Timeout"},
        {409, "Conflict"},
        {410, "Gone"},
        {411, "Length Required"},
        {412, "Precondition Failed"},
        {413, "Content Too Large"},
        {414, "URI Too Long"},
        {415, "Unsupported Media Type"},
        {416, "Range Not Satisfiable"},
        {417, "Expectation Failed"},
        {422, "Unprocessable Entity"},
        {425, "Too Early"},
        {426, "Upgrade Required"},
        {428, "Precondition Required"},
        {429, "Too Many Requests"},
        {431, "Request Header Fields Too Large"},
        {500, "Internal Server Error"},
        {501, "Not Implemented"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
        {505, "HTTP Version Not Supported"},
    };
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (reasons[i].code == status)
            return reasons[i].text;
    return "";
}
