/* One Suricata eve.json line straight to the facts of its http request, in C.
 *
 * This is the fast path of capture.sources.eve.parsed_from_line; the reference is
 * its slow path, orjson.loads + parsed_from_eve (read those first). One pass over
 * the line's bytes reads the few top-level keys, the http object's keys and its
 * request_headers / response_headers lists, unescaping JSON strings (\uXXXX and
 * surrogate pairs included), and validates everything else as JSON without
 * building it. http(line, responses) returns:
 *
 *   None  - not sure: the caller takes the slow path (which then decides, and says
 *           what is wrong). Anything unusual comes here: a key or value of a type
 *           other than expected, a duplicated key that matters, a key with an
 *           escape, a lone surrogate, invalid UTF-8, nesting deeper than MAX_DEPTH,
 *           a number orjson might read otherwise (exponents, 19+ digits), a
 *           timestamp not in Suricata's own form, no request_headers list...
 *   0     - a valid JSON object whose event_type is a string other than "http".
 *   (ts, flow, depth, src, sport, dst, dport, method, uri, version, headers,
 *    merged, status, answer, authority) - an http event: the Request's fields as
 *           parsed_from_eve makes them; merged: whether a header value holds ", "
 *           under a name that is not a list by definition (set_lists; the
 *           anomalies are worded in Python); status: an int or None (one of
 *           another type is the slow path's, which notes it); answer:
 *           with responses, the response headers (a tuple of pairs, () when absent);
 *           without, whether one of them is a reflector's echo header; authority:
 *           http.hostname when it is a string that is not empty and no request
 *           header is named Host, else None.
 *
 * A top-level "xff" (Suricata's xff option, extra-data) is read by the slow path
 * where it adds a header (no request header is named X-Forwarded-For): rare, since
 * Suricata takes it from that header, which a dump of the headers then holds.
 *
 * It never returns a result the slow path would not give: when in doubt, None.
 * The line is hostile input: every read is bounded by the end of the buffer.
 * tests/capture/sources/test_eveline.py holds the two paths to the same results
 * (hypothesis included, on damaged lines).
 *
 * Built by pip install (see pyproject.toml); after an edit here, pip install -e .
 * again, or the tests go on running the old build (one of them says so).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_DEPTH 64     /* deeper values are left to orjson (its limit is 1024) */
#define MAX_HEADERS 128  /* per list; more: the slow path */
#define MAX_DIGITS 18    /* an int token of more digits: the slow path */

typedef struct {
    const unsigned char *p; /* the bytes between the quotes */
    Py_ssize_t n;
    int escaped;            /* holds a backslash */
    int ascii;              /* every byte below 0x80 */
} Str;

typedef struct {
    const unsigned char *p, *end;
} Cur;

/* What a key's value was: absent, or of which JSON type. */
enum { ABSENT = 0, T_STRING, T_INT, T_OBJECT, T_ARRAY, T_NULL, T_OTHER };

typedef struct {
    Str name, value;
} Pair;

typedef struct {
    int kind;
    Str s;          /* T_STRING */
    long long i;    /* T_INT */
} Field;

typedef struct {
    Field url, method, protocol, version, status, hostname;
    int request_kind, response_kind; /* ABSENT, T_NULL or T_ARRAY (else: not sure) */
    Pair *request;
    Py_ssize_t nrequest;
    Pair *response;
    Py_ssize_t nresponse;
} Http;

static inline void
ws(Cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static inline int
hex4(const unsigned char *p, unsigned *out)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        unsigned char h = p[k];
        v <<= 4;
        if (h >= '0' && h <= '9')
            v |= (unsigned)(h - '0');
        else if (h >= 'a' && h <= 'f')
            v |= (unsigned)(h - 'a' + 10);
        else if (h >= 'A' && h <= 'F')
            v |= (unsigned)(h - 'A' + 10);
        else
            return 0;
    }
    *out = v;
    return 1;
}

/* Length of the well-formed UTF-8 sequence at p (lead byte >= 0x80), 0 if it is
 * not one (RFC 3629 / Unicode table 3-7: no overlongs, no surrogates, <= U+10FFFF),
 * as Python's strict decoder and orjson both require. */
static inline int
utf8_length(const unsigned char *p, const unsigned char *end)
{
    unsigned char a = p[0];
    Py_ssize_t left = end - p;
    if (a >= 0xC2 && a <= 0xDF)
        return left >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (a >= 0xE0 && a <= 0xEF) {
        if (left < 3 || (p[2] & 0xC0) != 0x80)
            return 0;
        unsigned char b = p[1];
        if (a == 0xE0)
            return b >= 0xA0 && b <= 0xBF ? 3 : 0;
        if (a == 0xED)
            return b >= 0x80 && b <= 0x9F ? 3 : 0;
        return (b & 0xC0) == 0x80 ? 3 : 0;
    }
    if (a >= 0xF0 && a <= 0xF4) {
        if (left < 4 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        unsigned char b = p[1];
        if (a == 0xF0)
            return b >= 0x90 && b <= 0xBF ? 4 : 0;
        if (a == 0xF4)
            return b >= 0x80 && b <= 0x8F ? 4 : 0;
        return (b & 0xC0) == 0x80 ? 4 : 0;
    }
    return 0;
}

/* The string token at c->p (a '"'), checked as orjson checks it: 0 if it is not
 * one we are sure of. */
static int
scan_string(Cur *c, Str *out)
{
    const unsigned char *p = c->p + 1, *end = c->end;
    out->p = p;
    out->escaped = 0;
    out->ascii = 1;
    while (p < end) {
        /* Eight plain bytes at a time (none a quote, backslash, control or above
         * 0x7F): most of a line is such bytes. The lowest byte flagged is always
         * one that is not plain (a borrow only runs upwards from one), so the
         * bytes below it are passed over, and the byte loop takes it. */
#if defined(__GNUC__)
        while (end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
            uint64_t quote = w ^ (ones * '"'), slash = w ^ (ones * '\\');
            uint64_t odd = (((w - ones * 0x20) & ~w) | ((quote - ones) & ~quote) |
                            ((slash - ones) & ~slash) | w) &
                           highs;
            if (odd) {
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
                p += __builtin_clzll(odd) >> 3;
#else
                p += __builtin_ctzll(odd) >> 3;
#endif
                break;
            }
            p += 8;
        }
#endif
        if (p >= end)
            break;
        unsigned char ch = *p;
        if (ch == '"') {
            out->n = p - out->p;
            c->p = p + 1;
            return 1;
        }
        if (ch < 0x20)
            return 0;
        if (ch == '\\') {
            out->escaped = 1;
            if (end - p < 2)
                return 0;
            unsigned char e = p[1];
            if (e == 'u') {
                unsigned v;
                if (end - p < 6 || !hex4(p + 2, &v))
                    return 0;
                p += 6;
                if (v >= 0xDC00 && v <= 0xDFFF)
                    return 0; /* a lone low surrogate */
                if (v >= 0xD800 && v <= 0xDBFF) {
                    unsigned w;
                    if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || !hex4(p + 2, &w) ||
                        w < 0xDC00 || w > 0xDFFF)
                        return 0; /* a high surrogate without its low one */
                    p += 6;
                }
                if (v >= 0x80)
                    out->ascii = 0;
                continue;
            }
            if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' &&
                e != 'r' && e != 't')
                return 0;
            p += 2;
            continue;
        }
        if (ch >= 0x80) {
            int k = utf8_length(p, end);
            if (k == 0)
                return 0;
            out->ascii = 0;
            p += k;
            continue;
        }
        p++;
    }
    return 0;
}

static inline void
put_utf8(unsigned char **q, unsigned v)
{
    unsigned char *o = *q;
    if (v < 0x80) {
        *o++ = (unsigned char)v;
    } else if (v < 0x800) {
        *o++ = (unsigned char)(0xC0 | (v >> 6));
        *o++ = (unsigned char)(0x80 | (v & 0x3F));
    } else if (v < 0x10000) {
        *o++ = (unsigned char)(0xE0 | (v >> 12));
        *o++ = (unsigned char)(0x80 | ((v >> 6) & 0x3F));
        *o++ = (unsigned char)(0x80 | (v & 0x3F));
    } else {
        *o++ = (unsigned char)(0xF0 | (v >> 18));
        *o++ = (unsigned char)(0x80 | ((v >> 12) & 0x3F));
        *o++ = (unsigned char)(0x80 | ((v >> 6) & 0x3F));
        *o++ = (unsigned char)(0x80 | (v & 0x3F));
    }
    *q = o;
}

/* The UTF-8 bytes of a string already checked by scan_string, unescaped into buf
 * (at least s->n bytes: an escape is never shorter than what it stands for);
 * returns their length. */
static Py_ssize_t
unescape(const Str *s, unsigned char *buf)
{
    const unsigned char *p = s->p, *end = s->p + s->n;
    unsigned char *q = buf;
    while (p < end) {
        const unsigned char *bs = memchr(p, '\\', (size_t)(end - p));
        if (bs == NULL) {
            memcpy(q, p, (size_t)(end - p));
            q += end - p;
            break;
        }
        memcpy(q, p, (size_t)(bs - p));
        q += bs - p;
        unsigned char e = bs[1];
        p = bs + 2;
        switch (e) {
        case 'b': *q++ = '\b'; break;
        case 'f': *q++ = '\f'; break;
        case 'n': *q++ = '\n'; break;
        case 'r': *q++ = '\r'; break;
        case 't': *q++ = '\t'; break;
        case 'u': {
            unsigned v, w;
            hex4(p, &v);
            p += 4;
            if (v >= 0xD800 && v <= 0xDBFF) {
                hex4(p + 2, &w);
                p += 6;
                v = 0x10000 + ((v - 0xD800) << 10) + (w - 0xDC00);
            }
            put_utf8(&q, v);
            break;
        }
        default: *q++ = e; break; /* " \ / */
        }
    }
    return q - buf;
}

/* Whether n bytes at p hold ", ". */
static inline int
has_comma_space(const unsigned char *p, Py_ssize_t n)
{
    const unsigned char *end = p + n;
    while (p < end) {
        const unsigned char *comma = memchr(p, ',', (size_t)(end - p));
        if (comma == NULL || comma + 1 >= end)
            return 0;
        if (comma[1] == ' ')
            return 1;
        p = comma + 1;
    }
    return 0;
}

/* A str of a string checked by scan_string; buf as for unescape. With merged,
 * *merged is set when the text holds ", ". */
static PyObject *
make_str(const Str *s, unsigned char *buf, int *merged)
{
    const unsigned char *p = s->p;
    Py_ssize_t n = s->n;
    if (s->escaped) {
        n = unescape(s, buf);
        p = buf;
    }
    if (merged != NULL && !*merged)
        *merged = has_comma_space(p, n);
    if (s->ascii) {
        PyObject *str = PyUnicode_New(n, 127);
        if (str != NULL)
            memcpy(PyUnicode_DATA(str), p, (size_t)n);
        return str;
    }
    return PyUnicode_DecodeUTF8((const char *)p, n, NULL);
}

/* Header names, methods and versions come again line after line: the str of one
 * whose bytes (as in the line, escapes and all) were seen lately is used again
 * rather than built: no allocation, and its hash, once computed by a dict or set
 * lookup of the detector, stays with it. Direct-mapped by a hash of the bytes,
 * bounded (a new string takes the place of the one there). */
#define NAMES 512
#define NAME_MAX_BYTES 48
static struct {
    Py_ssize_t n;
    unsigned char bytes[NAME_MAX_BYTES];
    PyObject *str;
} names[NAMES];

static PyObject *
known_str(const Str *s, unsigned char *buf)
{
    if (s->n > NAME_MAX_BYTES)
        return make_str(s, buf, NULL);
    uint32_t h = 2166136261u; /* FNV-1a */
    for (Py_ssize_t k = 0; k < s->n; k++)
        h = (h ^ s->p[k]) * 16777619u;
    h ^= h >> 15;
    unsigned slot = h & (NAMES - 1);
    if (names[slot].str != NULL && names[slot].n == s->n &&
        memcmp(names[slot].bytes, s->p, (size_t)s->n) == 0)
        return Py_NewRef(names[slot].str);
    PyObject *str = make_str(s, buf, NULL);
    if (str != NULL) {
        Py_XSETREF(names[slot].str, Py_NewRef(str));
        names[slot].n = s->n;
        memcpy(names[slot].bytes, s->p, (size_t)s->n);
    }
    return str;
}

/* The lower-case names under which ", " in a value is a list by definition (eve.py's
 * _LISTS, given by set_lists): such a value is not flagged as merged. */
#define LISTS 64
static char *lists[LISTS];
static Py_ssize_t nlists = -1; /* not given: every ", " is flagged, Python decides */

static PyObject *
set_lists(PyObject *Py_UNUSED(module), PyObject *arg)
{
    PyObject *seq = PySequence_Fast(arg, "set_lists takes an iterable of str");
    if (seq == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (n > LISTS) {
        Py_DECREF(seq);
        PyErr_SetString(PyExc_ValueError, "set_lists: too many names");
        return NULL;
    }
    for (Py_ssize_t k = 0; k < nlists; k++)
        PyMem_Free(lists[k]);
    nlists = -1;
    for (Py_ssize_t k = 0; k < n; k++) {
        Py_ssize_t len;
        PyObject *item = PySequence_Fast_GET_ITEM(seq, k);
        const char *text = PyUnicode_Check(item) ? PyUnicode_AsUTF8AndSize(item, &len) : NULL;
        char *copy = text == NULL ? NULL : PyMem_Malloc((size_t)len + 1);
        if (copy == NULL) {
            for (Py_ssize_t j = 0; j < k; j++)
                PyMem_Free(lists[j]);
            Py_DECREF(seq);
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "set_lists takes an iterable of str");
            return NULL;
        }
        memcpy(copy, text, (size_t)len + 1);
        lists[k] = copy;
    }
    nlists = n;
    Py_DECREF(seq);
    Py_RETURN_NONE;
}

/* Whether a header of this name with ", " in its value may be repeated headers
 * joined: its name lowered is not one of the lists. Python's str.lower() and an
 * ASCII lowering agree on an ASCII name; a name that is not ASCII says yes (the
 * Python side then words the anomalies itself, from the headers). */
static int
maybe_merged(const Str *name, unsigned char *buf)
{
    if (!name->ascii || nlists < 0)
        return 1;
    const unsigned char *p = name->p;
    Py_ssize_t n = name->n;
    if (name->escaped) {
        n = unescape(name, buf);
        p = buf;
    }
    for (Py_ssize_t k = 0; k < nlists; k++) {
        const char *entry = lists[k];
        Py_ssize_t i = 0;
        while (i < n && entry[i] != '\0' &&
               (p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]) == (unsigned char)entry[i])
            i++;
        if (i == n && entry[i] == '\0')
            return 0;
    }
    return 1;
}

/* The number token at c->p: T_INT with *value for a whole number of at most
 * MAX_DIGITS digits; T_OTHER for a plain decimal fraction of a few digits; 0 for
 * anything else (not JSON, an exponent, or so long that orjson might make it a
 * float, an infinity or an error). */
static int
scan_number(Cur *c, long long *value)
{
    const unsigned char *p = c->p, *end = c->end;
    int negative = 0;
    if (p < end && *p == '-') {
        negative = 1;
        p++;
    }
    const unsigned char *digits = p;
    if (p >= end || *p < '0' || *p > '9')
        return 0;
    if (*p == '0') {
        p++;
    } else {
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    Py_ssize_t n = p - digits;
    if (n > MAX_DIGITS)
        return 0;
    int kind = T_INT;
    if (p < end && *p == '.') {
        p++;
        const unsigned char *frac = p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        if (p == frac || p - frac > MAX_DIGITS)
            return 0;
        kind = T_OTHER;
    }
    if (p < end && (*p == 'e' || *p == 'E'))
        return 0;
    if (p < end && ((*p >= '0' && *p <= '9') || *p == '-' || *p == '+'))
        return 0; /* "01" and the like */
    if (kind == T_INT) {
        long long v = 0;
        for (const unsigned char *d = digits; d < p; d++)
            v = v * 10 + (*d - '0');
        *value = negative ? -v : v;
    }
    c->p = p;
    return kind;
}

static int skip_value(Cur *c, int depth);

/* The value at c->p (after blanks), checked and passed over; its JSON type, 0 if
 * it is not one we are sure of. */
static int
skip_value(Cur *c, int depth)
{
    if (c->p >= c->end)
        return 0;
    unsigned char ch = *c->p;
    if (ch == '"') {
        Str s;
        return scan_string(c, &s) ? T_STRING : 0;
    }
    if (ch == '{' || ch == '[') {
        if (depth >= MAX_DEPTH)
            return 0;
        unsigned char close = ch == '{' ? '}' : ']';
        c->p++;
        ws(c);
        if (c->p < c->end && *c->p == close) {
            c->p++;
            return ch == '{' ? T_OBJECT : T_ARRAY;
        }
        for (;;) {
            if (ch == '{') {
                Str key;
                if (c->p >= c->end || *c->p != '"' || !scan_string(c, &key))
                    return 0;
                ws(c);
                if (c->p >= c->end || *c->p != ':')
                    return 0;
                c->p++;
                ws(c);
            }
            if (!skip_value(c, depth + 1))
                return 0;
            ws(c);
            if (c->p >= c->end)
                return 0;
            if (*c->p == ',') {
                c->p++;
                ws(c);
                continue;
            }
            if (*c->p != close)
                return 0;
            c->p++;
            return ch == '{' ? T_OBJECT : T_ARRAY;
        }
    }
    if (ch == '-' || (ch >= '0' && ch <= '9')) {
        long long v;
        return scan_number(c, &v);
    }
    static const char *words[] = {"true", "false", "null"};
    for (int k = 0; k < 3; k++) {
        size_t n = strlen(words[k]);
        if ((size_t)(c->end - c->p) >= n && memcmp(c->p, words[k], n) == 0) {
            c->p += n;
            return k == 2 ? T_NULL : T_OTHER;
        }
    }
    return 0;
}

/* A value we read: strings and whole numbers kept, anything else checked and
 * passed over with its type. 0 if not sure. */
static int
read_field(Cur *c, Field *f, int depth)
{
    if (f->kind != ABSENT)
        return 0; /* the key twice: orjson keeps the last; the slow path decides */
    if (c->p < c->end && *c->p == '"') {
        if (!scan_string(c, &f->s))
            return 0;
        f->kind = T_STRING;
        return 1;
    }
    if (c->p < c->end && (*c->p == '-' || (*c->p >= '0' && *c->p <= '9'))) {
        f->kind = scan_number(c, &f->i);
        return f->kind != 0;
    }
    f->kind = skip_value(c, depth);
    return f->kind != 0;
}

static inline int
key_is(const Str *k, const char *name, size_t n)
{
    return (size_t)k->n == n && memcmp(k->p, name, n) == 0;
}
#define KEY(k, lit) key_is((k), (lit), sizeof(lit) - 1)

/* Members of the object at c->p ('{' already seen and passed over, blanks too):
 * calls member(c, key, ctx) at each value; the key has no escape (a key with one
 * might spell a key we read: not sure). */
typedef int (*Member)(Cur *c, const Str *key, void *ctx, int depth);

static int
members(Cur *c, Member member, void *ctx, int depth)
{
    if (c->p < c->end && *c->p == '}') {
        c->p++;
        return 1;
    }
    for (;;) {
        Str key;
        if (c->p >= c->end || *c->p != '"' || !scan_string(c, &key) || key.escaped)
            return 0;
        ws(c);
        if (c->p >= c->end || *c->p != ':')
            return 0;
        c->p++;
        ws(c);
        if (!member(c, &key, ctx, depth))
            return 0;
        ws(c);
        if (c->p >= c->end)
            return 0;
        if (*c->p == ',') {
            c->p++;
            ws(c);
            continue;
        }
        if (*c->p != '}')
            return 0;
        c->p++;
        return 1;
    }
}

typedef struct {
    Field name, value;
} PairFields;

static int
pair_member(Cur *c, const Str *key, void *ctx, int depth)
{
    PairFields *pf = ctx;
    if (KEY(key, "name"))
        return read_field(c, &pf->name, depth);
    if (KEY(key, "value"))
        return read_field(c, &pf->value, depth);
    return skip_value(c, depth) != 0;
}

/* A [{"name": str, "value": str, ...}, ...] list at c->p into pairs (room for
 * MAX_HEADERS); *kind is T_ARRAY, T_NULL, or 0 when it is anything else. */
static int
header_list(Cur *c, Pair *pairs, Py_ssize_t *count, int *kind, int depth)
{
    if (*kind != ABSENT)
        return 0;
    if (c->end - c->p >= 4 && memcmp(c->p, "null", 4) == 0) {
        c->p += 4;
        *kind = T_NULL;
        return 1;
    }
    if (c->p >= c->end || *c->p != '[' || depth + 2 > MAX_DEPTH)
        return 0;
    *kind = T_ARRAY;
    c->p++;
    ws(c);
    Py_ssize_t n = 0;
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        *count = 0;
        return 1;
    }
    for (;;) {
        if (n >= MAX_HEADERS || c->p >= c->end || *c->p != '{')
            return 0;
        c->p++;
        ws(c);
        PairFields pf = {{0}, {0}};
        if (!members(c, pair_member, &pf, depth + 2))
            return 0;
        if (pf.name.kind != T_STRING || pf.value.kind != T_STRING)
            return 0;
        pairs[n].name = pf.name.s;
        pairs[n].value = pf.value.s;
        n++;
        ws(c);
        if (c->p >= c->end)
            return 0;
        if (*c->p == ',') {
            c->p++;
            ws(c);
            continue;
        }
        if (*c->p != ']')
            return 0;
        c->p++;
        *count = n;
        return 1;
    }
}

static int
http_member(Cur *c, const Str *key, void *ctx, int depth)
{
    Http *h = ctx;
    if (KEY(key, "request_headers"))
        return header_list(c, h->request, &h->nrequest, &h->request_kind, depth);
    if (KEY(key, "response_headers"))
        return header_list(c, h->response, &h->nresponse, &h->response_kind, depth);
    if (KEY(key, "url"))
        return read_field(c, &h->url, depth);
    if (KEY(key, "hostname"))
        return read_field(c, &h->hostname, depth);
    if (KEY(key, "http_method"))
        return read_field(c, &h->method, depth);
    if (KEY(key, "protocol"))
        return read_field(c, &h->protocol, depth);
    if (KEY(key, "version"))
        return read_field(c, &h->version, depth);
    if (KEY(key, "status"))
        return read_field(c, &h->status, depth);
    return skip_value(c, depth) != 0;
}

typedef struct {
    Field event_type, timestamp, flow_id, tx_id, src_ip, src_port, dest_ip, dest_port, xff;
    int http_kind;
    Http http;
} Event;

static int
event_member(Cur *c, const Str *key, void *ctx, int depth)
{
    Event *e = ctx;
    switch (key->n) {
    case 3:
        if (KEY(key, "xff"))
            return read_field(c, &e->xff, depth);
        break;
    case 4:
        if (KEY(key, "http")) {
            if (e->http_kind != ABSENT)
                return 0;
            if (c->p < c->end && *c->p == '{') {
                if (depth + 1 > MAX_DEPTH)
                    return 0;
                e->http_kind = T_OBJECT;
                c->p++;
                ws(c);
                return members(c, http_member, &e->http, depth + 1);
            }
            e->http_kind = skip_value(c, depth);
            return e->http_kind != 0;
        }
        break;
    case 5:
        if (KEY(key, "tx_id"))
            return read_field(c, &e->tx_id, depth);
        break;
    case 6:
        if (KEY(key, "src_ip"))
            return read_field(c, &e->src_ip, depth);
        break;
    case 7:
        if (KEY(key, "flow_id"))
            return read_field(c, &e->flow_id, depth);
        if (KEY(key, "dest_ip"))
            return read_field(c, &e->dest_ip, depth);
        break;
    case 8:
        if (KEY(key, "src_port"))
            return read_field(c, &e->src_port, depth);
        break;
    case 9:
        if (KEY(key, "timestamp"))
            return read_field(c, &e->timestamp, depth);
        if (KEY(key, "dest_port"))
            return read_field(c, &e->dest_port, depth);
        break;
    case 10:
        if (KEY(key, "event_type"))
            return read_field(c, &e->event_type, depth);
        break;
    }
    return skip_value(c, depth) != 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's algorithm). */
static long long
days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static inline int
digits(const unsigned char *p, int n, unsigned *out)
{
    unsigned v = 0;
    for (int k = 0; k < n; k++) {
        if (p[k] < '0' || p[k] > '9')
            return 0;
        v = v * 10 + (unsigned)(p[k] - '0');
    }
    *out = v;
    return 1;
}

/* Seconds since the epoch of Suricata's timestamp form, YYYY-MM-DDTHH:MM:SS with
 * an optional .ffffff and an optional +HHMM / -HHMM (none: UTC), exactly as
 * datetime.fromisoformat(...).timestamp() gives it (whole microseconds divided by
 * 10**6, one rounding); 0 for any other form, which the slow path reads. */
static int
timestamp(const Str *s, double *out)
{
    static const unsigned char mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const unsigned char *p = s->p;
    Py_ssize_t n = s->n;
    unsigned y, mo, d, h, mi, se, us = 0, oh = 0, om = 0;
    if (s->escaped || n < 19 || p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':' ||
        p[16] != ':' || !digits(p, 4, &y) || !digits(p + 5, 2, &mo) || !digits(p + 8, 2, &d) ||
        !digits(p + 11, 2, &h) || !digits(p + 14, 2, &mi) || !digits(p + 17, 2, &se))
        return 0;
    Py_ssize_t at = 19;
    if (at < n && p[at] == '.') {
        if (n - at < 7 || !digits(p + at + 1, 6, &us))
            return 0;
        at += 7;
    }
    int sign = 0;
    if (at < n) {
        if (n - at != 5 || (p[at] != '+' && p[at] != '-') || !digits(p + at + 1, 2, &oh) ||
            !digits(p + at + 3, 2, &om))
            return 0;
        sign = p[at] == '+' ? 1 : -1;
        at += 5;
    }
    if (at != n)
        return 0;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59 || oh > 23 ||
        om > 59)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > (unsigned)(mdays[mo - 1] + (mo == 2 && leap)))
        return 0;
    long long seconds = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se -
                        sign * (long long)(oh * 3600 + om * 60);
    /* Exact in a double only below 2**53 microseconds (years ~1685 to ~2255). */
    if (seconds > 9000000000LL || seconds < -9000000000LL)
        return 0;
    long long micro = seconds * 1000000 + us;
    *out = (double)micro / 1e6;
    return 1;
}

static PyObject *dash; /* "-", http_method's default */

/* The header pairs as a tuple of (name, value) tuples; with merged, *merged set
 * when a value holds ", " under a name that is not a list by definition. */
static PyObject *
header_tuple(const Pair *pairs, Py_ssize_t n, unsigned char *buf, int *merged)
{
    PyObject *out = PyTuple_New(n);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t k = 0; k < n; k++) {
        int comma = 0;
        PyObject *name = known_str(&pairs[k].name, buf);
        PyObject *value = name == NULL ? NULL : make_str(&pairs[k].value, buf, &comma);
        PyObject *pair = value == NULL ? NULL : PyTuple_New(2);
        if (pair == NULL) {
            Py_XDECREF(name);
            Py_XDECREF(value);
            Py_DECREF(out);
            return NULL;
        }
        if (comma && merged != NULL && !*merged)
            *merged = maybe_merged(&pairs[k].name, buf);
        PyTuple_SET_ITEM(pair, 0, name);
        PyTuple_SET_ITEM(pair, 1, value);
        PyTuple_SET_ITEM(out, k, pair);
    }
    return out;
}

static const char ECHO[] = "x-headerwatch-received"; /* capture.http.echo.ECHO_HEADER */
static const char HOST[] = "host";
static const char XFF[] = "x-forwarded-for";

/* Whether one of the header names is `lower` (an ASCII lower-case name of n bytes),
 * compared as Python compares them (name.lower() == lower); for an ASCII name only
 * an ASCII name can be equal (the one non-ASCII character that lowers to ASCII,
 * KELVIN SIGN, lowers to "k", which neither name has). */
static int
named_among(const Pair *pairs, Py_ssize_t count, unsigned char *buf, const char *lower,
            size_t n)
{
    for (Py_ssize_t k = 0; k < count; k++) {
        const Str *s = &pairs[k].name;
        const unsigned char *p = s->p;
        Py_ssize_t len = s->n;
        if (!s->ascii)
            continue;
        if (s->escaped) {
            len = unescape(s, buf);
            p = buf;
        }
        if ((size_t)len != n)
            continue;
        Py_ssize_t i = 0;
        while (i < len && (p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]) == lower[i])
            i++;
        if (i == len)
            return 1;
    }
    return 0;
}

static PyObject *
whole(long long v)
{
    return PyLong_FromLongLong(v);
}

static PyObject *
http(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "http(line, responses) takes 2 arguments");
        return NULL;
    }
    int responses = PyObject_IsTrue(args[1]);
    if (responses < 0)
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    PyObject *result = NULL;
    /* (On the stack: 12 KiB; the unescaping room too for a line of up to 4 KiB.) */
    Pair pairs[2 * MAX_HEADERS];
    unsigned char small[4096];
    unsigned char *buf = NULL;
    Event e;
    memset(&e, 0, sizeof(e));
    e.http.request = pairs;
    e.http.response = pairs + MAX_HEADERS;
    Cur c = {view.buf, (const unsigned char *)view.buf + view.len};
    ws(&c);
    if (c.p >= c.end || *c.p != '{')
        goto unsure;
    c.p++;
    ws(&c);
    if (!members(&c, event_member, &e, 1))
        goto unsure;
    ws(&c);
    if (c.p != c.end || e.event_type.kind != T_STRING || e.event_type.s.escaped)
        goto unsure;
    if (!KEY(&e.event_type.s, "http")) {
        result = PyLong_FromLong(0);
        goto done;
    }
    Http *h = &e.http;
    double ts;
    if (e.http_kind != T_OBJECT || e.timestamp.kind != T_STRING ||
        !timestamp(&e.timestamp.s, &ts) || e.src_ip.kind != T_STRING ||
        e.dest_ip.kind != T_STRING || h->request_kind != T_ARRAY ||
        (h->response_kind != ABSENT && h->response_kind != T_NULL &&
         h->response_kind != T_ARRAY))
        goto unsure;
    Field *ints[] = {&e.flow_id, &e.tx_id, &e.src_port, &e.dest_port};
    for (int k = 0; k < 4; k++) {
        if (ints[k]->kind != ABSENT && ints[k]->kind != T_INT)
            goto unsure;
    }
    /* A method or target of another type: the slow path refuses the event. */
    if ((h->method.kind != ABSENT && h->method.kind != T_STRING && h->method.kind != T_NULL) ||
        (h->url.kind != ABSENT && h->url.kind != T_STRING && h->url.kind != T_NULL))
        goto unsure;
    /* A status of another type: the slow path notes the response it leaves out. */
    if (h->status.kind != ABSENT && h->status.kind != T_INT && h->status.kind != T_NULL)
        goto unsure;
    /* Room for the longest string unescaped (never longer than the line). */
    buf = view.len < (Py_ssize_t)sizeof(small) ? small : PyMem_Malloc((size_t)view.len + 1);
    if (buf == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    /* Suricata's xff beside headers that lack the header: the slow path adds it. */
    if (e.xff.kind != ABSENT &&
        !named_among(h->request, h->nrequest, buf, XFF, sizeof(XFF) - 1))
        goto unsure;
    int merged = 0;
    int echo = 0;
    if (!responses && h->response_kind == T_ARRAY)
        echo = named_among(h->response, h->nresponse, buf, ECHO, sizeof(ECHO) - 1);
    PyObject *items[15] = {NULL};
    items[0] = PyFloat_FromDouble(ts);
    items[1] = whole(e.flow_id.i);
    items[2] = whole(e.tx_id.i + 1);
    items[3] = make_str(&e.src_ip.s, buf, NULL);
    items[4] = whole(e.src_port.i);
    items[5] = make_str(&e.dest_ip.s, buf, NULL);
    items[6] = whole(e.dest_port.i);
    items[7] = h->method.kind == T_STRING ? known_str(&h->method.s, buf) : Py_NewRef(dash);
    items[8] = h->url.kind == T_STRING ? make_str(&h->url.s, buf, NULL) : Py_NewRef(Py_None);
    /* HTTP/1's "protocol" ("HTTP/1.1"), else HTTP/2's "version" ("2"). */
    if (h->protocol.kind == T_STRING) {
        items[9] = known_str(&h->protocol.s, buf);
    } else if (h->version.kind == T_STRING && h->version.s.n > 0) {
        PyObject *number = make_str(&h->version.s, buf, NULL);
        items[9] = number == NULL ? NULL : PyUnicode_FromFormat("HTTP/%U", number);
        Py_XDECREF(number);
    } else {
        items[9] = Py_NewRef(Py_None);
    }
    items[10] = header_tuple(h->request, h->nrequest, buf, &merged);
    items[11] = PyBool_FromLong(merged);
    items[12] = h->status.kind == T_INT ? whole(h->status.i) : Py_NewRef(Py_None);
    if (responses)
        items[13] = h->response_kind == T_ARRAY ? header_tuple(h->response, h->nresponse, buf, NULL)
                                                : PyTuple_New(0);
    else
        items[13] = PyBool_FromLong(echo);
    /* Suricata's hostname (from the target or the Host header) when the headers
     * logged hold no Host: a dump limited to some names (custom), or none sent. */
    items[14] = h->hostname.kind == T_STRING && h->hostname.s.n > 0 &&
                        !named_among(h->request, h->nrequest, buf, HOST, sizeof(HOST) - 1)
                    ? make_str(&h->hostname.s, buf, NULL)
                    : Py_NewRef(Py_None);
    result = PyTuple_New(15);
    for (int k = 0; k < 15; k++) {
        if (items[k] == NULL) {
            Py_CLEAR(result);
        } else if (result != NULL) {
            PyTuple_SET_ITEM(result, k, items[k]);
            continue;
        }
        Py_XDECREF(items[k]);
    }
    goto done;
unsure:
    result = Py_NewRef(Py_None);
done:
    if (buf != small)
        PyMem_Free(buf);
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef methods[] = {
    {"set_lists", set_lists, METH_O,
     "set_lists(names): the lower-case header names whose values are lists by definition."},
    {"http", (PyCFunction)(void (*)(void))http, METH_FASTCALL,
     "http(line, responses) -> the facts of an eve.json http event, 0 for another event "
     "type, None when not sure (see capture/sources/eve.py)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "capture.sources._eveline",
    .m_doc = "Suricata eve.json http lines straight to their facts, in C "
             "(see capture/sources/eve.py).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__eveline(void)
{
    dash = PyUnicode_InternFromString("-");
    if (dash == NULL)
        return NULL;
    return PyModule_Create(&module);
}
