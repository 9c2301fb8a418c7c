/* Whole-string tests of identity detection, in C.
 *
 * All are fast paths of Python code that stays the reference (read it first):
 *
 * may_matter(text, sep, anchors) is IdentityDetector._may_matter_py in
 *   capture/identity/detector.py: could any pair of a cookie header (sep ';') or
 *   query string (sep '&') hold an identity? True when the text has an '@', an
 *   identity percent-escape, "+digit", a tel:/sip: scheme, a value shaped like hex-
 *   or base64-wrapped digits, or when its names (values cut out, lower-cased, runs
 *   of 6+ hex digits made one '-') contain an anchor word.
 *
 * request(headers, kinds, anchors, uri, needles, body, plain) is detector._request_py:
 *   triage (detector._triage_py: the headers detect() must look at, not skipped by
 *   name, a Cookie header that may matter, a URL with a '?'), may_matter of the
 *   target's query, needles, and the body's look (detector._body_look_py: its kind,
 *   and may_matter of a form's text or _json_may_matter_py of a JSON one), in one call
 *   a request (None when none of them finds anything to look at); where may_matter
 *   says yes to a Cookie header, a query or a form, pick must keep one of its pairs
 *   (worth_reading; plain as pick's).
 *
 * pick(pairs, anchors, opens=True, plain=None) is detector._picked_py: the cookie or
 *   query pairs _params must look at (a value _worth_param takes, not an opaque token
 *   under a name without an anchor word, nor, where opens, JSON with nothing to find
 *   in it under such a name: json_fruitless; or a name with one; a name in the set
 *   plain counts as one without).
 *
 * pick_query(uri, anchors, plain=None) and pick_cookies(header, anchors, plain=None)
 *   are pick of the pairs
 *   detector._query_pairs and _cookie_pairs cut, cut here (only the pairs kept made
 *   str); None where Python decides (text not ASCII, a query name decoded past ASCII,
 *   JSON only orjson can judge).
 *
 * anchored(name, anchors) is detector._anchored_py: does the name, lower-cased,
 *   contain an anchor word?
 *
 * runs(text, min_len, keys, sizes, gate, decode_from) is canary._runs_py in
 *   capture/identity/canary.py: of the maximal runs of ASCII letters and digits of
 *   at least min_len characters in text, and then (when decode_from is 0 or more)
 *   in the percent-decoded text[decode_from:], those in keys, and those whose
 *   length is in sizes and which are all hex digits. gate (canary.run_gate(keys))
 *   says which lengths and first characters a
 *   key can have, so that most runs are never made a str to be looked up.
 *
 * needles(needles, headers, body, uri) is canary._needles_py: does any of needles
 *   (ASCII letters and digits) occur in a header value, the body (bytes), the target,
 *   or the target percent-decoded? The canary gate's first test: a request with none
 *   of them costs one pass over its bytes (every S-th window of up to 4 bytes hashed
 *   into a byte map of the needles' windows, or, where the shortest needles are few,
 *   every 4th pair of bytes looked up in a table and every 8th window hashed; a hit
 *   confirmed by memcmp; see index_needles) and nothing per field. None when a header value or the target is
 *   a str of wide characters (past U+00FF).
 *
 * needle_in(needles, text) is canary._needle_in_py: does a needle occur in text (str
 *   or bytes) or in text percent-decoded? None for a str of wide characters. Which
 *   fields of a request that passed the first test are searched.
 *
 * canary_fields(needles, headers, uri, body) is detector._canary_fields(request, holds)
 *   with holds CanaryMatcher.may_hold (needle_in): the (where, name, text, unseen)
 *   fields of a request the first test let through that a canary is looked for in,
 *   header values, cookies, the path, query and form parameters (as sent, and
 *   percent-decoded), the same list in one call. None where Python decides: a header
 *   name that is not ASCII, or, where a needle may be, a Cookie header, target,
 *   Content-Type value or form body that is not ASCII, or an escape of a byte past
 *   0x7f in a text it decodes.
 *
 * The others return None for text that is not ASCII (and runs for a percent-escape
 * of a byte past 0x7f), which the Python code then takes: Unicode case rules and UTF-8
 * decoding stay in one place. tests/capture/identity/test_idscan.py holds the two
 * ways to the same results.
 *
 * Built by pip install (see pyproject.toml); after an edit here, pip install -e .
 * again, or the tests go on running the old build.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static inline int
is_digit(Py_UCS1 c)
{
    return c >= '0' && c <= '9';
}

static inline int
is_alnum(Py_UCS1 c)
{
    Py_UCS1 l = c | 0x20;
    return is_digit(c) || (l >= 'a' && l <= 'z');
}

static inline int
hex_value(Py_UCS1 c)
{
    if (is_digit(c))
        return c - '0';
    Py_UCS1 l = c | 0x20;
    if (l >= 'a' && l <= 'f')
        return l - 'a' + 10;
    return -1;
}

/* [A-Za-z0-9+/_-]: the characters of (URL-safe) base64 in _wrapped_value(). */
static inline int
is_b64(Py_UCS1 c)
{
    return is_alnum(c) || c == '+' || c == '/' || c == '_' || c == '-';
}

/* (?:[;&\s]|$) at p: Python's \s on ASCII is Py_UNICODE_ISSPACE. */
static inline int
terminator(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t p)
{
    return p >= n || s[p] == ';' || s[p] == '&' || Py_UNICODE_ISSPACE(s[p]);
}

/* (?:3[0-9]){7} at p. */
static inline int
seven_pairs(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t p)
{
    if (p + 14 > n)
        return 0;
    for (int k = 0; k < 7; k++) {
        if (s[p + 2 * k] != '3' || !is_digit(s[p + 2 * k + 1]))
            return 0;
    }
    return 1;
}

/* Is the base64 run s[0..len) shaped as base64 of 7-16 digits, the body of
 * encodings._B64_DIGITS: [KMNO]b{3}(?:[MNO]b{3}){1,4}(?:[MNO]b{1,3})? (b a base64
 * character; the caller has checked s[0] and that every byte is one)? A group of 4
 * starts at every multiple of 4, with M, N or O past the first; the last group may be
 * 2 to 4 long, and there are 2 to 6 groups (8 to 24 bytes). */
static int
b64_digits_shaped(const Py_UCS1 *s, Py_ssize_t len)
{
    if (len < 8 || len > 24 || len % 4 == 1)
        return 0;
    for (Py_ssize_t q = 4; q < len; q += 4)
        if (s[q] != 'M' && s[q] != 'N' && s[q] != 'O')
            return 0;
    return 1;
}

/* Does s[0..n) start like base64 of a JSON object or list: encodings.B64_JSON_START
 * (ey[A-DI-L], ew[k-r0-3], W3[s-v] or Wy[I-L]) and one more base64 character? */
static int
b64_json_start(const Py_UCS1 *s, Py_ssize_t n)
{
    if (n < 4 || !is_b64(s[3]))
        return 0;
    Py_UCS1 a = s[0], b = s[1], c = s[2];
    if (a == 'e' && b == 'y')
        return (c >= 'A' && c <= 'D') || (c >= 'I' && c <= 'L');
    if (a == 'e' && b == 'w')
        return (c >= 'k' && c <= 'r') || (c >= '0' && c <= '3');
    if (a == 'W' && b == '3')
        return c >= 's' && c <= 'v';
    if (a == 'W' && b == 'y')
        return c >= 'I' && c <= 'L';
    return 0;
}

/* Does s[0..n) start like JSON text, plain or percent-encoded: '{', '[', "%7B" or
 * "%5B" in any case (detector._JSON_START)? */
static int
json_start(const Py_UCS1 *s, Py_ssize_t n)
{
    if (n >= 1 && (s[0] == '{' || s[0] == '['))
        return 1;
    return n >= 3 && s[0] == '%' && (s[1] == '7' || s[1] == '5') && (s[2] == 'B' || s[2] == 'b');
}

/* The bytes wrapped_at's match can start with after its '=': \s (Python's, on
 * ASCII: Py_UNICODE_ISSPACE), a quote, a digit of "2b3x" or of "3x", K, M, N, O, or
 * the e or W of base64 JSON, or the '{', '[' or '%' of JSON. */
static const unsigned char opens_wrapped[256] = {
    ['\t'] = 1, ['\n'] = 1, ['\v'] = 1, ['\f'] = 1, ['\r'] = 1, [0x1c] = 1, [0x1d] = 1,
    [0x1e] = 1, [0x1f] = 1, [' '] = 1, ['"'] = 1, ['2'] = 1, ['3'] = 1, ['K'] = 1, ['M'] = 1,
    ['N'] = 1, ['O'] = 1, ['e'] = 1, ['W'] = 1, ['{'] = 1, ['['] = 1, ['%'] = 1,
};

/* detector._wrapped_value() matched at the '=' at i:
 *   =\s*"?(?:(?:2[bB])?(?:3[0-9]){7}|(?=[KMNO]b{9})B64(?:=|%3[dD]){0,2}"?(?:[;&\s]|$)|J)
 * (J: B64_JSON_START and a base64 character, b64_json_start; or _JSON_START, json_start)
 * (b a base64 character, B64 the body of encodings._B64_DIGITS: b64_digits_shaped).
 * Backtracking into \s* or "? cannot help (what follows them starts with neither a
 * space nor a quote), and the base64 run must be the whole run (the characters that
 * may follow it are not base64 characters), so one pass decides. */
static int
wrapped_at(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t i)
{
    Py_ssize_t p = i + 1;
    /* Nearly every value starts with none of the bytes a match can start with (a
     * space, a quote, 2, 3, K, M, N or O): one table load, no scan. */
    if (p >= n || !opens_wrapped[s[p]])
        return 0;
    while (p < n && Py_UNICODE_ISSPACE(s[p]))
        p++;
    if (p < n && s[p] == '"')
        p++;
    if (b64_json_start(s + p, n - p) || json_start(s + p, n - p))
        return 1;
    if (p + 1 < n && s[p] == '2' && (s[p + 1] == 'b' || s[p + 1] == 'B') && seven_pairs(s, n, p + 2))
        return 1;
    if (seven_pairs(s, n, p))
        return 1;
    if (p < n && (s[p] == 'K' || s[p] == 'M' || s[p] == 'N' || s[p] == 'O')) {
        /* The lookahead wants 9 base64 bytes past s[p], so the run is 10 or more
         * long and b64_digits_shaped wants an M, N or O at s[p + 4]: an opaque token
         * that starts with K, M, N or O (one in sixteen) is turned down here, unread. */
        if (p + 4 >= n || (s[p + 4] != 'M' && s[p + 4] != 'N' && s[p + 4] != 'O'))
            return 0;
        /* Nor is a run read past 25 bytes: one that long is never shaped (24 at most). */
        Py_ssize_t r = p + 1, limit = n - p > 25 ? p + 25 : n;
        while (r < limit && is_b64(s[r]))
            r++;
        Py_ssize_t run = r - (p + 1);
        /* An opaque token that only starts like wrapped digits (a tag manager's ID)
         * is no reason to look at the pairs: _params passes it over. */
        if (run < 9 || !b64_digits_shaped(s + p, r - p))
            return 0;
        /* Up to two padding units, each "=" or "%3D" (padding percent-encoded). */
        Py_ssize_t ends[3] = {r, r, r};
        int units = 0;
        while (units < 2) {
            Py_ssize_t q = ends[units];
            if (q < n && s[q] == '=')
                ends[units + 1] = q + 1;
            else if (q + 2 < n && s[q] == '%' && s[q + 1] == '3' && (s[q + 2] == 'd' || s[q + 2] == 'D'))
                ends[units + 1] = q + 3;
            else
                break;
            units++;
        }
        for (int j = units; j >= 0; j--) {
            Py_ssize_t t = ends[j];
            if (t < n && s[t] == '"' && terminator(s, n, t + 1))
                return 1;
            if (terminator(s, n, t))
                return 1;
        }
    }
    return 0;
}

static inline Py_UCS1
lower(Py_UCS1 c)
{
    return (c >= 'A' && c <= 'Z') ? (Py_UCS1)(c | 0x20) : c;
}

/* Does s[i-len..i) spell word (lower case), in any case when fold is set? */
static inline int
before(const Py_UCS1 *s, Py_ssize_t i, const char *word, Py_ssize_t len, int fold)
{
    if (i < len)
        return 0;
    for (Py_ssize_t k = 0; k < len; k++) {
        Py_UCS1 c = s[i - len + k];
        if ((fold ? lower(c) : c) != (Py_UCS1)word[k])
            return 0;
    }
    return 1;
}

/* Does s[0..n) contain word (len bytes, lower case) in any case? */
static int
contains_fold(const Py_UCS1 *s, Py_ssize_t n, const char *word, Py_ssize_t len)
{
    for (Py_ssize_t i = len; i <= n; i++)
        if (before(s, i, word, len, 1))
            return 1;
    return 0;
}

/* Does s[..i) end with tel, sip or sips, in any case? (_URI_SCHEME and _URI_PCT
 * before their ':' or "%3".) The same as before() of each, from the last byte. */
static inline int
scheme_before(const Py_UCS1 *s, Py_ssize_t i)
{
    if (i < 3)
        return 0;
    switch (lower(s[i - 1])) {
    case 'l':
        return lower(s[i - 2]) == 'e' && lower(s[i - 3]) == 't';
    case 'p':
        return lower(s[i - 2]) == 'i' && lower(s[i - 3]) == 's';
    case 's':
        return i >= 4 && lower(s[i - 2]) == 'p' && lower(s[i - 3]) == 'i' && lower(s[i - 4]) == 's';
    default:
        return 0;
    }
}

/* One value test of _may_matter_py at s[i], a byte that may start one ('@', '%', '+',
 * ':' or '='). */
static int
value_test_at(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t i)
{
    Py_UCS1 c = s[i];
    switch (c) {
    case '@':
        return 1;
    case '%':
        /* _PCT_WRAPPED: %(?:25)?(?:2[bB]|40|3[0-9]) ("%25": encoded twice); and
         * _URI_PCT: (?i:tel|sips?)%3 (a URI scheme with its ':' encoded). */
        for (Py_ssize_t k = i + 1; k <= i + 3 && k + 1 < n; k += 2) {
            Py_UCS1 a = s[k], b = s[k + 1];
            if ((a == '2' && (b == 'b' || b == 'B')) || (a == '4' && b == '0') ||
                (a == '3' && is_digit(b)))
                return 1;
            if (a != '2' || b != '5')
                break;
        }
        return i + 1 < n && s[i + 1] == '3' && scheme_before(s, i);
    case '+':
        return i + 1 < n && is_digit(s[i + 1]);
    case ':':
        /* _URI_SCHEME: (?i:tel|sips?): */
        return scheme_before(s, i);
    case '=':
        return wrapped_at(s, n, i);
    default:
        return 0;
    }
}

/* value_test_at at the '%' at s[i], with no call for what follows nearly every '%'
 * ("%2F", "%20", "%26" of an encoded URL; "%3A" of "https%3A"): value_test_at's loop
 * matches a '3' and a digit, a '4' and a '0', or a '2' and a 'b' or 'B' after the '%'
 * (only "%25" reads on, and goes to value_test_at), and else "%3" after a scheme. */
static inline int
pct_test(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t i)
{
    if (i + 1 >= n)
        return 0;
    Py_UCS1 a = s[i + 1];
    if (a == '3')
        return (i + 2 < n && is_digit(s[i + 2])) || scheme_before(s, i);
    if (i + 2 >= n)
        return 0;
    Py_UCS1 b = s[i + 2];
    if (a == '4')
        return b == '0';
    if (a != '2')
        return 0;
    if (b == 'b' || b == 'B')
        return 1;
    return b == '5' && value_test_at(s, n, i);
}

/* The value tests of _may_matter_py, on the whole text. */
static int
values_matter(const Py_UCS1 *s, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++)
        if (value_test_at(s, n, i))
            return 1;
    return 0;
}

/* The anchor words, indexed for a search of every word at once: the tuple the index
 * was built for (a reference is held, and a tuple does not change), the words sorted
 * by first byte, and a bitmap of the first two bytes of each. A detector passes the
 * same tuple every time, so the index is built once. */
typedef struct {
    const Py_UCS1 *p;
    Py_ssize_t n;
} word;

static PyObject *indexed = NULL;
static word *words = NULL;
static Py_ssize_t first_at[257];
static unsigned char bigrams[65536 / 8];
static unsigned char singles[256];
/* The same two tables for text as sent, for the names of may_matter_one_pass: every
 * case of a word's one byte, and of its first two bytes a byte per pair (a load and a
 * test: a bitmap takes four more instructions a byte of every name). And one class
 * per byte for what a name's byte may be besides a plain one. */
static unsigned char raw_singles[256];
static unsigned char name_class[256];
#define NAME_END 1    /* '=' */
#define NAME_VALUE 2  /* '@', '%', '+', ':': a value test may start here */
#define NAME_SINGLE 4 /* a one-byte anchor word, in any case */
#define NAME_CLASS 7
/* name_step[pair_at(p)] for the bytes a = p[0], b = p[1]: name_class[a], and above
 * its three bits the bucket of the words of two bytes or more that start with a and b
 * read lower-cased (0: none): one 16-bit load of the text and one of the table a byte
 * of every name. Bucket k is the run words[bucket_lo[k] .. bucket_hi[k]) (words are
 * sorted by their first two bytes). More buckets than MAX_BUCKETS (a user's
 * configuration of thousands of header names) leave the one pass to the cut of names
 * (many_buckets). */
#define MAX_BUCKETS 8191
static uint16_t name_step[65536];
static Py_ssize_t bucket_lo[MAX_BUCKETS + 1], bucket_hi[MAX_BUCKETS + 1];
static int many_buckets;
/* bucket_third[k]: the third bytes of bucket k's words, a bit each (all 256 when the
 * bucket holds a word of two bytes). Two bytes alone are a weak test in the names of
 * ad and analytics traffic: "id" of "cid" or "_pk_id_", "ga" of "_ga", "am" of "AMCV_",
 * "ad"/"ca"/"de"/"fc" of random hex suffixes start a bucket at one byte in eight;
 * with the third byte, at one in a thousand. Allocated with the index. */
typedef struct {
    unsigned char bits[32];
} byte_set;
static byte_set *bucket_third = NULL;

/* The two bytes at p as one 16-bit number (the host's byte order): name_step's index. */
static inline unsigned
pair_at(const Py_UCS1 *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline unsigned
pair_of(Py_UCS1 a, Py_UCS1 b)
{
    const Py_UCS1 two[2] = {a, b};
    return pair_at(two);
}

/* qsort's order of words: by first byte, then by second (a one-byte word first). */
static int
by_first_two(const void *a, const void *b)
{
    const word *x = a, *y = b;
    if (x->p[0] != y->p[0])
        return x->p[0] < y->p[0] ? -1 : 1;
    int sx = x->n > 1 ? x->p[1] : -1, sy = y->n > 1 ? y->p[1] : -1;
    return sx < sy ? -1 : sx > sy;
}
static int empty_word;

/* The bytes that lower() makes c, into out: none for a capital (lower() makes none
 * of them one), c and its capital for a small letter, c alone for any other. */
static int
cases_of(Py_UCS1 c, Py_UCS1 out[2])
{
    if (c >= 'A' && c <= 'Z')
        return 0;
    out[0] = c;
    if (c >= 'a' && c <= 'z') {
        out[1] = (Py_UCS1)(c - 0x20);
        return 2;
    }
    return 1;
}
/* Set when a word holds '=', ';' or '&': then it could straddle a cut in the names
 * (or never be found there), and may_matter cuts the names out as the reference does. */
static int straddling_word;

static int
index_anchors(PyObject *anchors)
{
    if (anchors == indexed)
        return 0;
    Py_ssize_t count = PyTuple_GET_SIZE(anchors);
    word *sorted = PyMem_Malloc(sizeof(word) * (size_t)(count ? count : 1));
    /* At most one bucket a word (and MAX_BUCKETS), bucket 0 unused. */
    size_t sets = (size_t)(count < MAX_BUCKETS ? count : MAX_BUCKETS) + 1;
    byte_set *third = PyMem_Calloc(sets, sizeof(byte_set));
    if (sorted == NULL || third == NULL) {
        PyMem_Free(sorted);
        PyMem_Free(third);
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t per_first[256] = {0};
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *anchor = PyTuple_GET_ITEM(anchors, k);
        if (!PyUnicode_Check(anchor)) {
            PyMem_Free(sorted);
            PyMem_Free(third);
            PyErr_SetString(PyExc_TypeError, "anchors must be str");
            return -1;
        }
        if (PyUnicode_IS_ASCII(anchor) && PyUnicode_GET_LENGTH(anchor) > 0)
            per_first[PyUnicode_1BYTE_DATA(anchor)[0]]++;
    }
    first_at[0] = 0;
    for (int c = 0; c < 256; c++)
        first_at[c + 1] = first_at[c] + per_first[c];
    Py_ssize_t fill[256];
    memcpy(fill, first_at, sizeof(fill));
    memset(bigrams, 0, sizeof(bigrams));
    memset(singles, 0, sizeof(singles));
    memset(raw_singles, 0, sizeof(raw_singles));
    memset(name_step, 0, sizeof(name_step));
    empty_word = 0;
    straddling_word = 0;
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *anchor = PyTuple_GET_ITEM(anchors, k);
        /* A word with a character past ASCII cannot be in ASCII names. */
        if (!PyUnicode_IS_ASCII(anchor))
            continue;
        Py_ssize_t n = PyUnicode_GET_LENGTH(anchor);
        const Py_UCS1 *p = PyUnicode_1BYTE_DATA(anchor);
        if (n == 0) {
            empty_word = 1;
            continue;
        }
        if (memchr(p, '=', (size_t)n) || memchr(p, ';', (size_t)n) || memchr(p, '&', (size_t)n))
            straddling_word = 1;
        sorted[fill[p[0]]++] = (word){p, n};
        if (n == 1) {
            singles[p[0]] = 1;
            for (int c = 0; c < 256; c++)
                if (lower((Py_UCS1)c) == p[0])
                    raw_singles[c] = 1;
        } else {
            unsigned pair = (unsigned)p[0] << 8 | p[1];
            bigrams[pair >> 3] |= (unsigned char)(1u << (pair & 7));
        }
    }
    /* Sorted by their first two bytes (a one-byte word first), which keeps first_at's
     * runs by first byte: then the words of a bucket are one run. */
    Py_ssize_t placed = first_at[256];
    qsort(sorted, (size_t)placed, sizeof(word), by_first_two);
    Py_ssize_t buckets = 0;
    many_buckets = 0;
    for (Py_ssize_t k = 0; k < placed;) {
        const Py_UCS1 *p = sorted[k].p;
        Py_ssize_t end = k + 1;
        if (sorted[k].n < 2) {
            k = end;
            continue;
        }
        while (end < placed && sorted[end].p[0] == p[0] && sorted[end].p[1] == p[1])
            end++; /* sorted: past a word of two bytes, none of one with its first byte */
        if (buckets == MAX_BUCKETS) {
            many_buckets = 1;
            break;
        }
        buckets++;
        bucket_lo[buckets] = k;
        bucket_hi[buckets] = end;
        for (Py_ssize_t w = k; w < end; w++) {
            if (sorted[w].n == 2)
                memset(third[buckets].bits, 0xff, sizeof(third[buckets].bits));
            else
                third[buckets].bits[sorted[w].p[2] >> 3] |= (unsigned char)(1u << (sorted[w].p[2] & 7));
        }
        /* Every a and b that read lower-cased are p[0] and p[1]: a word's byte, and
         * its capital when it is a small letter. */
        Py_UCS1 as[2], bs[2];
        int na = cases_of(p[0], as), nb = cases_of(p[1], bs);
        for (int x = 0; x < na; x++)
            for (int y = 0; y < nb; y++)
                name_step[pair_of(as[x], bs[y])] = (uint16_t)(buckets << 3);
        k = end;
    }
    for (int c = 0; c < 256; c++)
        name_class[c] = (unsigned char)((c == '=' ? NAME_END : 0) |
                                        (c == '@' || c == '%' || c == '+' || c == ':' ? NAME_VALUE : 0) |
                                        (raw_singles[c] ? NAME_SINGLE : 0));
    /* A row of 256 for each byte with a class (a handful: '=', '@', '%', '+', ':',
     * and the one-byte words), not all 65,536: built at first use in a scan. */
    for (int a = 0; a < 256; a++)
        if (name_class[a])
            for (int b = 0; b < 256; b++)
                name_step[pair_of((Py_UCS1)a, (Py_UCS1)b)] |= name_class[a];
    PyMem_Free(words);
    words = sorted;
    PyMem_Free(bucket_third);
    bucket_third = third;
    Py_INCREF(anchors);
    Py_XSETREF(indexed, anchors);
    return 0;
}

/* Does any anchor word occur in names[0..m)? */
static int
has_anchor(const Py_UCS1 *names, Py_ssize_t m)
{
    if (empty_word)
        return 1;
    for (Py_ssize_t i = 0; i < m; i++) {
        Py_UCS1 c = names[i];
        if (singles[c])
            return 1;
        if (i + 1 >= m)
            break;
        unsigned pair = (unsigned)c << 8 | names[i + 1];
        if (!(bigrams[pair >> 3] & (1u << (pair & 7))))
            continue;
        for (Py_ssize_t k = first_at[c]; k < first_at[c + 1]; k++) {
            if (words[k].n <= m - i && memcmp(names + i, words[k].p, (size_t)words[k].n) == 0)
                return 1;
        }
    }
    return 0;
}


/* Is "%" and the two bytes a, b (either case of a letter) at v[i] of v[0..n)? */
static inline int
escape_at(const Py_UCS1 *v, Py_ssize_t n, Py_ssize_t i, Py_UCS1 a, Py_UCS1 b)
{
    return v[i] == '%' && i + 2 < n && v[i + 1] == a && lower(v[i + 2]) == b;
}

/* The first i' >= i with v[i'] a '?' or a '%' in v[0..n), n if none: where a carried
 * query may start. Sixteen bytes at a time where SSE2 is there (the last bytes of a
 * text of 16 or more as its last 16, the bytes before i shifted out of the mask):
 * nearly every value carries none, and one by one its search was most of the cost of
 * pick and of a JSON body's test on ad and analytics traffic. */
#if defined(__SSE2__)
/* The bytes of v that are '?' or '%', a bit each. */
static inline unsigned
mark_mask(__m128i v)
{
    return (unsigned)_mm_movemask_epi8(
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('?')), _mm_cmpeq_epi8(v, _mm_set1_epi8('%'))));
}
#endif

static inline Py_ssize_t
next_mark(const Py_UCS1 *v, Py_ssize_t n, Py_ssize_t i)
{
#if defined(__SSE2__)
    if (n >= 16) {
        for (; i + 16 <= n; i += 16) {
            unsigned mask = mark_mask(_mm_loadu_si128((const __m128i *)(v + i)));
            if (mask)
                return i + __builtin_ctz(mask);
        }
        if (i >= n)
            return n;
        unsigned mask = mark_mask(_mm_loadu_si128((const __m128i *)(v + n - 16))) >> (i - (n - 16));
        return mask ? i + __builtin_ctz(mask) : n;
    }
#endif
    for (; i < n; i++)
        if (v[i] == '?' || v[i] == '%')
            return i;
    return n;
}

/* detector._carried_names of the ASCII value v[0..n) holds an anchor word: the names of
 * the query the value may carry (a page's address under Google Analytics' dl=), after
 * its first '?' or "%3F", each piece between '&' or "%26" up to its first '=' or
 * "%3D" (either case), lower-cased and looked for anchors as has_anchor looks in the
 * names of a text (joined by '&', which no word holds). 0 where the value has no '?'
 * nor "%3F"; 1, 0, or -1 on an error (no memory). */
static int
carried_anchored(const Py_UCS1 *v, Py_ssize_t n)
{
    Py_ssize_t i = 0;
    for (;; i++) {
        /* Only a '?' or the '%' of "%3F" starts the query. */
        i = next_mark(v, n, i);
        if (i >= n)
            return 0;
        if (v[i] == '?') {
            i += 1;
            break;
        }
        if (escape_at(v, n, i, '3', 'f')) {
            i += 3;
            break;
        }
    }
    Py_UCS1 small[256];
    Py_ssize_t size = n - i;
    Py_UCS1 *names = size <= (Py_ssize_t)sizeof(small) ? small : PyMem_Malloc((size_t)size);
    if (names == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t m = 0;
    int in_name = 1;
    while (i < n) {
        Py_UCS1 c = v[i];
        if (c == '&' || escape_at(v, n, i, '2', '6')) {
            names[m++] = '&';
            in_name = 1;
            i += c == '&' ? 1 : 3;
        } else if (in_name && (c == '=' || escape_at(v, n, i, '3', 'd'))) {
            in_name = 0;
            i += c == '=' ? 1 : 3;
        } else {
            if (in_name)
                names[m++] = lower(c);
            i++;
        }
    }
    int found = has_anchor(names, m);
    if (names != small)
        PyMem_Free(names);
    return found;
}

/* Does an anchor word of two bytes or more start at s[i], read lower-cased (s[0..n))?
 * Asked where name_step says one may: each word of that bucket (its first two bytes
 * are those of s[i..i+2) lower-cased), from its third byte. */
static int
anchor_word_at(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t i, unsigned bucket)
{
    for (Py_ssize_t k = bucket_lo[bucket]; k < bucket_hi[bucket]; k++) {
        Py_ssize_t len = words[k].n;
        if (len > n - i)
            continue;
        const Py_UCS1 *w = words[k].p;
        Py_ssize_t j = 2;
        while (j < len && lower(s[i + j]) == w[j])
            j++;
        if (j == len)
            return 1;
    }
    return 0;
}

/* anchor_word_at, asked only when the third byte of s[i..) read lower-cased is one a
 * word of the bucket has there (or no third byte follows: then only a word of two
 * bytes can be there, which anchor_word_at alone decides). */
static inline int
anchor_may_start(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t i, unsigned bucket)
{
    if (i + 2 < n) {
        Py_UCS1 c = lower(s[i + 2]);
        if (!(bucket_third[bucket].bits[c >> 3] & (1u << (c & 7))))
            return 0;
    }
    return anchor_word_at(s, n, i, bucket);
}

/* The bytes a value's pass stops at besides sep: where a value test may start, or
 * ('?') a query the value carries. */
static const unsigned char value_stop[256] = {
    ['@'] = 1, ['%'] = 1, ['+'] = 1, [':'] = 1, ['='] = 1, ['?'] = 1,
};

#if defined(__SSE2__)
/* The bytes of v in 0x25..0x2b ('%' to '+') or 0x3a..0x40 (':' to '@'), a bit each,
 * and those equal to cut: all of value_stop's, ';' and '&', and a few a value rarely
 * holds ("'()*<>?"), which next_stop passes over one by one. Two range tests (an add
 * and a signed compare each: the range moved to -128..) where six compares were. */
static inline unsigned
stop_mask(__m128i v, __m128i cut)
{
    __m128i r1 = _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8((char)(0x80 - 0x25))),
                                _mm_set1_epi8((char)(-128 + 7)));
    __m128i r2 = _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8((char)(0x80 - 0x3a))),
                                _mm_set1_epi8((char)(-128 + 7)));
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(r1, r2), _mm_cmpeq_epi8(v, cut)));
}
#endif

/* The first i' >= i with s[i'] one of '@', '%', '+', ':', '=' or sep, or (where
 * SSE2 is there) one of the few other bytes of stop_mask's ranges; n if none. The
 * caller looks at the byte anyway, and passes over one of those. Sixteen bytes at a
 * time (cut: sep in every byte): the long opaque values of ad and analytics traffic
 * hold none of them. The last bytes of a text of 16 or more are read as its last 16
 * (the bytes before i shifted out of the mask), not one by one. */
#if defined(__SSE2__)
static inline Py_ssize_t
next_stop(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t i, Py_UCS1 sep, __m128i cut)
{
    for (; i + 16 <= n; i += 16) {
        unsigned mask = stop_mask(_mm_loadu_si128((const __m128i *)(s + i)), cut);
        if (mask)
            return i + __builtin_ctz(mask);
    }
    if (i >= n)
        return n;
    if (n >= 16) {
        /* s[n-16..n) holds s[i..n) (i > n - 16), and i - (n - 16) < 16 bytes before. */
        unsigned mask = stop_mask(_mm_loadu_si128((const __m128i *)(s + n - 16)), cut) >> (i - (n - 16));
        return mask ? i + __builtin_ctz(mask) : n;
    }
    for (; i < n; i++)
        if (s[i] == sep || value_stop[s[i]])
            return i;
    return n;
}
#else
static inline Py_ssize_t
next_stop(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t i, Py_UCS1 sep)
{
    for (; i < n; i++)
        if (s[i] == sep || value_stop[s[i]])
            return i;
    return n;
}
#endif

/* carried_anchored of the value that starts at s[at] of the text s[0..n) and runs to
 * its next sep. */
static inline int
carried_in(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t at, Py_UCS1 sep)
{
    const Py_UCS1 *end = memchr(s + at, sep, (size_t)(n - at));
    return carried_anchored(s + at, (end == NULL ? s + n : end) - (s + at));
}

/* _may_matter_py in one pass (the words hold no '=', ';' or '&'): the value tests at
 * every byte that may start one, and the anchor words looked for at every byte of a
 * name. A word found in the names the reference cuts out holds no '=' nor sep, so it
 * lies in one name of the text, and one found in a name is found there: the two
 * searches agree. */
static int
may_matter_one_pass(const Py_UCS1 *s, Py_ssize_t n, Py_UCS1 sep)
{
    if (empty_word)
        return 1;
#if defined(__SSE2__)
    const __m128i cut = _mm_set1_epi8((char)sep);
#endif
    Py_ssize_t i = 0;
    while (i < n) {
        /* A name, up to its '=': at each byte, the value tests where one may start
         * and the anchor words (one byte long, then longer). */
        for (;;) {
            unsigned k;
            if (i < n - 4) {
                /* Four bytes a round while a fifth follows (the fourth's pair): most
                 * bytes of a name are none of these, and one test passes four. */
                unsigned k0, k1, k2, k3;
                for (;;) {
                    k0 = name_step[pair_at(s + i)];
                    k1 = name_step[pair_at(s + i + 1)];
                    k2 = name_step[pair_at(s + i + 2)];
                    k3 = name_step[pair_at(s + i + 3)];
                    if (k0 | k1 | k2 | k3)
                        break;
                    i += 4;
                    if (i >= n - 4)
                        break;
                }
                if (!(k0 | k1 | k2 | k3))
                    continue; /* the last bytes, one by one */
                /* The first of them that is something; past it, the next round. */
                if (k0) {
                    k = k0;
                } else if (k1) {
                    k = k1;
                    i += 1;
                } else if (k2) {
                    k = k2;
                    i += 2;
                } else {
                    k = k3;
                    i += 3;
                }
            } else {
                if (i >= n)
                    return 0;
                /* The last byte starts no word of two bytes: its class alone. */
                k = i + 1 < n ? name_step[pair_at(s + i)] : name_class[s[i]];
                if (!k) {
                    i++;
                    continue;
                }
            }
            if (k & NAME_END)
                break;
            if (k & NAME_SINGLE)
                return 1;
            if ((k & NAME_VALUE) && value_test_at(s, n, i))
                return 1;
            if ((k >> 3) && anchor_may_start(s, n, i, k >> 3))
                return 1;
            i++;
        }
        /* Its value, up to the next sep: only the value tests, and at its first '?' or
         * "%3F" the names of the query it may carry (carried_anchored, once a value). */
        Py_ssize_t value_at = i + 1;
        int carried = 0;
        for (;;) {
            if (s[i] == sep)
                break;
            /* At a value's '=' (every value has one), the first byte of wrapped_at
             * here: no call for nearly every value. */
            Py_UCS1 c = s[i];
            if (c == '=') {
                if (i + 1 < n && opens_wrapped[s[i + 1]] && wrapped_at(s, n, i))
                    return 1;
            } else if (c == '%') {
                if (pct_test(s, n, i))
                    return 1;
                if (!carried && escape_at(s, n, i, '3', 'f')) {
                    carried = 1;
                    int found = carried_in(s, n, value_at, sep);
                    if (found != 0)
                        return found < 0 ? -2 : 1;
                }
            } else if (c == '?') {
                if (!carried) {
                    carried = 1;
                    int found = carried_in(s, n, value_at, sep);
                    if (found != 0)
                        return found < 0 ? -2 : 1;
                }
            } else if (value_stop[c] && value_test_at(s, n, i)) {
                return 1; /* '@', '+' or ':' (not a byte next_stop's ranges let by) */
            }
#if defined(__SSE2__)
            i = next_stop(s, n, i + 1, sep, cut);
#else
            i = next_stop(s, n, i + 1, sep);
#endif
            if (i >= n)
                return 0;
        }
    }
    return 0;
}

/* The answer of may_matter for a str (the anchors indexed): 1 or 0; -1 where Python
 * decides (text not ASCII, sep past ASCII); -2 on an error (no memory). */
static int may_matter_ascii(const Py_UCS1 *s, Py_ssize_t n, Py_UCS1 sep);

static int
may_matter_text(PyObject *text, int sep)
{
    if (!PyUnicode_IS_ASCII(text) || sep > 0x7f)
        return -1;
    return may_matter_ascii(PyUnicode_1BYTE_DATA(text), PyUnicode_GET_LENGTH(text), (Py_UCS1)sep);
}

/* may_matter_text of the ASCII s[0..n): 1, 0, or -2 on an error (no memory). */
static int
may_matter_ascii(const Py_UCS1 *s, Py_ssize_t n, Py_UCS1 sep)
{
    if (!straddling_word && !many_buckets && sep != '=')
        return may_matter_one_pass(s, n, (Py_UCS1)sep);
    if (values_matter(s, n))
        return 1;

    /* The names: the text with "=[^sep]*" cut out, lower-cased; and the names of the
     * query each value may carry (carried_anchored). */
    Py_UCS1 small[1024];
    Py_UCS1 *names = n <= (Py_ssize_t)sizeof(small) ? small : PyMem_Malloc((size_t)n);
    if (names == NULL) {
        PyErr_NoMemory();
        return -2;
    }
    Py_ssize_t m = 0;
    int carried = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS1 c = s[i];
        if (c == '=') {
            Py_ssize_t at = i + 1;
            while (i + 1 < n && s[i + 1] != (Py_UCS1)sep)
                i++;
            if (!carried)
                carried = carried_anchored(s + at, i + 1 - at);
            if (carried < 0)
                break;
            continue;
        }
        names[m++] = lower(c);
    }

    int found = carried < 0 ? -2 : carried ? 1 : has_anchor(names, m);
    if (names != small)
        PyMem_Free(names);
    return found;
}

/* may_matter(text, sep, anchors), called once or twice a request: its arguments are
 * checked here rather than by PyArg_ParseTuple, which costs as much as the test on a
 * short text. */
static PyObject *
may_matter(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "may_matter() takes 3 arguments");
        return NULL;
    }
    PyObject *text = args[0], *sep_text = args[1], *anchors = args[2];
    if (!PyUnicode_Check(text) || !PyUnicode_Check(sep_text) ||
        PyUnicode_GET_LENGTH(sep_text) != 1 || !PyTuple_Check(anchors)) {
        PyErr_SetString(PyExc_TypeError, "may_matter(text: str, sep: one character, anchors: tuple)");
        return NULL;
    }
    if (index_anchors(anchors) < 0)
        return NULL;
    int answer = may_matter_text(text, (int)PyUnicode_READ_CHAR(sep_text, 0));
    if (answer == -2)
        return NULL;
    if (answer < 0)
        Py_RETURN_NONE;
    return PyBool_FromLong(answer);
}

/* What IdentityDetector does with a header name (detector._SKIP, _COOKIE, _URL): the
 * kinds triage drops headers of. */
#define KIND_SKIP 0
#define KIND_COOKIE 1
#define KIND_URL 4

/* Is pair a (name, value) tuple of two str, as triage and pick take? */
static inline int
str_pair(PyObject *pair)
{
    return PyTuple_Check(pair) && PyTuple_GET_SIZE(pair) == 2 &&
           PyUnicode_Check(PyTuple_GET_ITEM(pair, 0)) && PyUnicode_Check(PyTuple_GET_ITEM(pair, 1));
}

/* Triage (request's first step) is detector._triage_py: the (name, value) pairs of
 * headers that IdentityDetector.detect must look at, in order. kinds maps a name as
 * sent to what is done with it; a pair is dropped when its name is skipped, when it
 * is a Cookie header no pair of which may matter (may_matter, ';'), or when it is a
 * URL-valued header without a '?'. A name not in kinds, and a Cookie header that is
 * not ASCII, are kept: Python decides. One call a request, in place of a loop in
 * Python over half a dozen headers that are nearly all dropped. */
/* The index of the first '?' in text, -1 if none (-2 on an error): memchr for a str
 * of one-byte characters (every target and header value the parser makes), where
 * PyUnicode_FindChar costs some 80 instructions a call. */
static inline Py_ssize_t
question_mark(PyObject *text)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (PyUnicode_KIND(text) != PyUnicode_1BYTE_KIND)
        return PyUnicode_FindChar(text, '?', 0, n, 1);
    const Py_UCS1 *s = PyUnicode_1BYTE_DATA(text);
    const Py_UCS1 *mark = n > 0 ? memchr(s, '?', (size_t)n) : NULL;
    return mark == NULL ? -1 : mark - s;
}

/* The kind of a header name found in kinds before, by the name's object: a dict
 * lookup costs some 130 instructions (the name compared byte by byte where it is
 * not the key's object, hashed where it is new), this a dozen, and the parser gives
 * the same object for a name it saw before (capture/http/_headsplit.c). An entry
 * holds its name (so no other object can have its address while it is there) and
 * the version tag of the dict it was read from, which CPython 3.11 takes from one
 * counter for every dict made or changed: the entry answers only for that dict,
 * unchanged since. Where the tag is not there (3.12 deprecates it) every name is
 * looked up. */
#if PY_VERSION_HEX < 0x030C0000
#define KIND_SLOTS 256 /* the top 8 bits of the hash */
static struct {
    PyObject *name;
    uint64_t tag;
    long code;
} kind_cache[KIND_SLOTS];
#endif

/* The kind of name in kinds: 1 and *code set, 0 where it is not there (or not an
 * exact int), -1 on an error. */
static int
kind_of(PyObject *kinds, PyObject *name, long *code)
{
#if PY_VERSION_HEX < 0x030C0000
    uint64_t tag = ((PyDictObject *)kinds)->ma_version_tag;
    /* The address's bits mixed (Fibonacci hashing): objects of one size class lie a
     * fixed stride apart, so its low bits alone would leave most slots unused. */
    size_t slot = (size_t)(((uint64_t)(uintptr_t)name * 0x9E3779B97F4A7C15u) >> 56);
    /* Two ways: a name is in its slot or the one paired with it (slot ^ 1), so that
     * two names a request sends that share a slot do not put each other out. */
    if (kind_cache[slot].name == name && kind_cache[slot].tag == tag) {
        *code = kind_cache[slot].code;
        return 1;
    }
    if (kind_cache[slot ^ 1].name == name && kind_cache[slot ^ 1].tag == tag) {
        *code = kind_cache[slot ^ 1].code;
        return 1;
    }
#endif
    PyObject *kind = PyDict_GetItemWithError(kinds, name);
    if (kind == NULL)
        return PyErr_Occurred() ? -1 : 0;
    if (!PyLong_CheckExact(kind))
        return 0;
    long value = PyLong_AsLong(kind);
    if (value == -1 && PyErr_Occurred())
        return -1;
    *code = value;
#if PY_VERSION_HEX < 0x030C0000
    /* The lookup ran no Python code (name is an exact str): the tag is the dict's.
     * The slot's entry moves to the other way, whose own entry is dropped. */
    Py_XSETREF(kind_cache[slot ^ 1].name, kind_cache[slot].name);
    kind_cache[slot ^ 1].tag = kind_cache[slot].tag;
    kind_cache[slot ^ 1].code = kind_cache[slot].code;
    kind_cache[slot].name = Py_NewRef(name);
    kind_cache[slot].tag = tag;
    kind_cache[slot].code = value;
#endif
    return 1;
}

static int worth_reading(const Py_UCS1 *s, Py_ssize_t n, Py_UCS1 sep, PyObject *plain);

/* The kept pairs of items[0..count) appended to kept (see triage): 0, or -1 on an
 * error. plain: see named. */
static int
triage_items(PyObject **items, Py_ssize_t count, PyObject *kinds, PyObject *kept,
             PyObject *plain)
{
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *pair = items[k];
        if (!str_pair(pair)) {
            PyErr_SetString(PyExc_TypeError, "headers must be (name, value) pairs of str");
            return -1;
        }
        PyObject *name = PyTuple_GET_ITEM(pair, 0), *value = PyTuple_GET_ITEM(pair, 1);
        /* Only an exact str is looked up: a subclass's __eq__ could run Python code
         * that changes the headers under this loop. Kept, for Python to decide. */
        long code = 0;
        int known = 0;
        if (PyUnicode_CheckExact(name)) {
            known = kind_of(kinds, name, &code);
            if (known < 0)
                return -1;
        }
        if (known) {
            if (code == KIND_SKIP)
                continue;
            if (code == KIND_COOKIE && PyUnicode_IS_ASCII(value)) {
                int answer = worth_reading(PyUnicode_1BYTE_DATA(value),
                                           PyUnicode_GET_LENGTH(value), ';', plain);
                if (answer == -2)
                    return -1;
                if (answer == 0)
                    continue;
            }
            if (code == KIND_URL) {
                /* A Referer with a query is tested as the target's is (may_matter,
                 * '&'): real pages' addresses carry their own tracking parameters. */
                Py_ssize_t mark = question_mark(value);
                if (mark == -2)
                    return -1;
                if (mark == -1)
                    continue;
                if (PyUnicode_IS_ASCII(value)) {
                    int answer = worth_reading(PyUnicode_1BYTE_DATA(value) + mark + 1,
                                               PyUnicode_GET_LENGTH(value) - mark - 1, '&', plain);
                    if (answer == -2)
                        return -1;
                    if (answer == 0)
                        continue;
                }
            }
        }
        if (PyList_Append(kept, pair) < 0)
            return -1;
    }
    return 0;
}

/* Is s[0..n) whole encodings._HEX_DIGITS, (?:2[bB])?(?:3[0-9]){7,16}: hex-ASCII of
 * 7 to 16 digits, "+"-led or not? */
static int
hex_digits_shaped(const Py_UCS1 *s, Py_ssize_t n)
{
    Py_ssize_t i = n >= 2 && s[0] == '2' && (s[1] == 'b' || s[1] == 'B') ? 2 : 0;
    if ((n - i) % 2 != 0 || n - i < 14 || n - i > 32)
        return 0;
    for (; i < n; i += 2)
        if (s[i] != '3' || !is_digit(s[i + 1]))
            return 0;
    return 1;
}

/* detector._worth_param of the ASCII value s[0..n). Only the bytes '@', '+', '%' and
 * ':' start a test, and all four stop next_stop (sep '@': one of them): the rest of a
 * value, nearly all of an opaque token, is passed sixteen bytes at a time. The
 * schemes of _has_scheme (tel:, sip:, sips:, or with their ':' encoded, "%3a" in any
 * case) are looked for at each ':' and "%3a", back from it (scheme_before): the
 * same answer as a search of the value lower-cased for each, where those searches
 * read the whole value six times over (the "https%3A" of every encoded URL made the
 * first of them run). */
static int
worth_param(const Py_UCS1 *s, Py_ssize_t n)
{
#if defined(__SSE2__)
    const __m128i cut = _mm_set1_epi8('@');
#endif
    for (Py_ssize_t i = 0;; i++) {
#if defined(__SSE2__)
        i = next_stop(s, n, i, '@', cut);
#else
        i = next_stop(s, n, i, '@');
#endif
        if (i >= n)
            break;
        Py_UCS1 c = s[i];
        if (c == '@')
            return 1;
        if (c == '+' && i + 1 < n && is_digit(s[i + 1]))
            return 1; /* _PLUS_DIGIT */
        if (c == '%') {
            /* _PCT_WRAPPED: %(?:25)?(?:2[bB]|40|3[0-9]) */
            for (Py_ssize_t k = i + 1; k <= i + 3 && k + 1 < n; k += 2) {
                Py_UCS1 a = s[k], b = s[k + 1];
                if ((a == '2' && (b == 'b' || b == 'B')) || (a == '4' && b == '0') ||
                    (a == '3' && is_digit(b)))
                    return 1;
                if (a != '2' || b != '5')
                    break;
            }
            /* _pct_identity's second half: "tel%3a", "sip%3a" or "sips%3a". */
            if (i + 2 < n && s[i + 1] == '3' && lower(s[i + 2]) == 'a' && scheme_before(s, i))
                return 1;
        }
        if (c == ':' && scheme_before(s, i))
            return 1; /* _URI_SCHEME: "tel:", "sip:" or "sips:" */
    }
    if (n >= 10 && n <= 30 && (s[0] == 'K' || s[0] == 'M' || s[0] == 'N' || s[0] == 'O'))
        return 1;
    /* Base64 of a JSON object or list (encodings.base64_json_shaped, B64_JSON_MIN 16). */
    if (n >= 16 && b64_json_start(s, n))
        return 1;
    if (json_start(s, n))
        return 1;
    return (s[0] == '2' || s[0] == '3') && hex_digits_shaped(s, n);
}

/* _anchored_py of the ASCII name s[0..n) (the anchors indexed): 1, 0, -1 on an error. */
static int
anchored_ascii(const Py_UCS1 *s, Py_ssize_t n)
{
    Py_UCS1 small[256];
    Py_UCS1 *lowered = n <= (Py_ssize_t)sizeof(small) ? small : PyMem_Malloc((size_t)n);
    if (lowered == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        lowered[i] = lower(s[i]);
    int found = has_anchor(lowered, n);
    if (lowered != small)
        PyMem_Free(lowered);
    return found;
}

/* Is the ASCII value s[0..n) an opaque token that only starts like base64-wrapped
 * digits: [KMNO][A-Za-z0-9_-]* and not encodings.base64_shaped (with no '=' it can
 * have no padding, and every byte is base64)? */
static int
opaque_token(const Py_UCS1 *s, Py_ssize_t n)
{
    if (n == 0 || (s[0] != 'K' && s[0] != 'M' && s[0] != 'N' && s[0] != 'O'))
        return 0;
    for (Py_ssize_t i = 1; i < n; i++)
        if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '-')
            return 0;
    return !b64_digits_shaped(s, n);
}

static int json_fruitless(const Py_UCS1 *v, Py_ssize_t n);
static inline PyObject *ascii_str(const Py_UCS1 *s, Py_ssize_t n);

/* Does the ASCII name s[0..nn) have an anchor word, and is it not in plain (a set of
 * names known to have no hint nor catalog entry, or NULL)? 1, 0, -1 on an error. */
static int
named(const Py_UCS1 *s, Py_ssize_t nn, PyObject *plain)
{
    int found = anchored_ascii(s, nn);
    if (found != 1 || plain == NULL || PySet_GET_SIZE(plain) == 0)
        return found;
    PyObject *name = ascii_str(s, nn);
    if (name == NULL)
        return -1;
    int known = PySet_Contains(plain, name);
    Py_DECREF(name);
    return known < 0 ? -1 : !known;
}

/* Does pick keep the ASCII pair (name s[0..nn), value v[0..vn))? 1, 0, -1 on an error,
 * -2 where Python decides (JSON whose reading only orjson can tell). opens: the pair's
 * JSON is opened field by field (not in the query of a page's address, read once),
 * so a value that is JSON with nothing to find in it is passed over too. plain: see
 * named. */
static int
picks(const Py_UCS1 *s, Py_ssize_t nn, const Py_UCS1 *v, Py_ssize_t vn, int opens,
      PyObject *plain)
{
    if (worth_param(v, vn)) {
        int opaque = opaque_token(v, vn), json = opens && json_start(v, vn);
        if (!opaque && !json)
            return 1;
        int found = named(s, nn, plain);
        if (found != 0)
            return found;
        if (opaque)
            return 0;
        int fruitless = json_fruitless(v, vn);
        return fruitless == 1 ? 0 : fruitless == 0 ? 1 : fruitless;
    }
    /* Not worth a look: only under a name with an anchor, or carrying a query with
     * one in its names. */
    int found = named(s, nn, plain);
    return found != 0 ? found : carried_anchored(v, vn);
}

/* The plain argument of pick, pick_query or pick_cookies (args[at], if given): a set,
 * or NULL for None or none given (*plain set), 0; or -1 with a TypeError. */
static int
plain_argument(PyObject *const *args, Py_ssize_t nargs, Py_ssize_t at, PyObject **plain)
{
    *plain = NULL;
    if (nargs <= at || args[at] == Py_None)
        return 0;
    if (!PyAnySet_Check(args[at])) {
        PyErr_SetString(PyExc_TypeError, "plain must be a set of names");
        return -1;
    }
    *plain = args[at];
    return 0;
}

/* pick(pairs, anchors, opens=True, plain=None) is detector._picked_py: the (name, value)
 * pairs of a cookie header, query or form that IdentityDetector._params must look at, in order.
 * None when a name or value is not ASCII, or a value JSON only orjson can judge
 * (Python decides). One call for the pairs of a
 * request that may_matter let through, in place of two Python calls a pair. */
static PyObject *
pick(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 2 || nargs > 4 || !PyTuple_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError,
                        "pick(pairs, anchors: tuple, opens: bool = True, plain: set | None = None)");
        return NULL;
    }
    int opens = nargs < 3 ? 1 : PyObject_IsTrue(args[2]);
    PyObject *plain;
    if (opens < 0 || plain_argument(args, nargs, 3, &plain) < 0)
        return NULL;
    if (index_anchors(args[1]) < 0)
        return NULL;
    PyObject *fast = PySequence_Fast(args[0], "pairs must be a sequence of (name, value)");
    if (fast == NULL)
        return NULL;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(fast);
    PyObject **items = PySequence_Fast_ITEMS(fast);
    PyObject *kept = PyList_New(0);
    if (kept == NULL)
        goto fail;
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *pair = items[k];
        if (!str_pair(pair)) {
            PyErr_SetString(PyExc_TypeError, "pairs must be (name, value) pairs of str");
            goto fail;
        }
        PyObject *name = PyTuple_GET_ITEM(pair, 0), *value = PyTuple_GET_ITEM(pair, 1);
        if (!PyUnicode_IS_ASCII(name) || !PyUnicode_IS_ASCII(value)) {
            Py_DECREF(fast);
            Py_DECREF(kept);
            Py_RETURN_NONE;
        }
        int look = picks(PyUnicode_1BYTE_DATA(name), PyUnicode_GET_LENGTH(name),
                         PyUnicode_1BYTE_DATA(value), PyUnicode_GET_LENGTH(value), opens,
                         plain);
        if (look == -2) {
            Py_DECREF(fast);
            Py_DECREF(kept);
            Py_RETURN_NONE;
        }
        if (look < 0 || (look && PyList_Append(kept, pair) < 0))
            goto fail;
    }
    Py_DECREF(fast);
    return kept;
fail:
    Py_DECREF(fast);
    Py_XDECREF(kept);
    return NULL;
}

/* The str of the ASCII s[0..n), a new reference. */
static inline PyObject *
ascii_str(const Py_UCS1 *s, Py_ssize_t n)
{
    PyObject *out = PyUnicode_New(n, 127);
    if (out != NULL && n > 0)
        memcpy(PyUnicode_1BYTE_DATA(out), s, (size_t)n);
    return out;
}

/* (name, value) of two ASCII runs appended to kept: 0, or -1 on an error. */
static int
append_pair(PyObject *kept, const Py_UCS1 *s, Py_ssize_t nn, const Py_UCS1 *v, Py_ssize_t vn)
{
    PyObject *name = ascii_str(s, nn);
    PyObject *value = name == NULL ? NULL : ascii_str(v, vn);
    PyObject *pair = value == NULL ? NULL : PyTuple_Pack(2, name, value);
    Py_XDECREF(name);
    Py_XDECREF(value);
    if (pair == NULL)
        return -1;
    int failed = PyList_Append(kept, pair);
    Py_DECREF(pair);
    return failed;
}

/* The start of pick_query and pick_cookies: the arguments checked, the anchors
 * indexed, the ASCII text in *s[0..*n), the plain names in *plain (plain_argument),
 * and a new empty list for the kept pairs. Or
 * their answer already: None (a text not ASCII: Python decides), or NULL with an
 * exception. */
static PyObject *
picking(PyObject *const *args, Py_ssize_t nargs, const char *usage, const Py_UCS1 **s,
        Py_ssize_t *n, PyObject **plain)
{
    if (nargs < 2 || nargs > 3 || !PyUnicode_Check(args[0]) || !PyTuple_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, usage);
        return NULL;
    }
    if (plain_argument(args, nargs, 2, plain) < 0 || index_anchors(args[1]) < 0)
        return NULL;
    if (!PyUnicode_IS_ASCII(args[0]))
        Py_RETURN_NONE;
    *s = PyUnicode_1BYTE_DATA(args[0]);
    *n = PyUnicode_GET_LENGTH(args[0]);
    return PyList_New(0);
}

/* One pair of a query or a Cookie header: its name and its value, spans of the text. */
typedef struct {
    const Py_UCS1 *name, *value;
    Py_ssize_t name_len, value_len;
} pair_span;

/* q[0..n), a query after its '?', up to its first '#': its length. */
static inline Py_ssize_t
before_fragment(const Py_UCS1 *q, Py_ssize_t n)
{
    const Py_UCS1 *hash = memchr(q, '#', (size_t)n);
    return hash == NULL ? n : hash - q;
}

/* The next pair from *at of the query q[0..n) (after its '?', cut at its '#'), as
 * detector._query_pairs cuts it: at each '&', then at the first '='; a pair whose name
 * or value is empty is passed over. 1 with *pair set and *at past it, 0 at the end. */
static int
next_query_pair(const Py_UCS1 *q, Py_ssize_t n, Py_ssize_t *at, pair_span *pair)
{
    while (*at <= n) {
        Py_ssize_t i = *at;
        const Py_UCS1 *amp = memchr(q + i, '&', (size_t)(n - i));
        Py_ssize_t j = amp == NULL ? n : amp - q;
        const Py_UCS1 *eq = memchr(q + i, '=', (size_t)(j - i));
        *at = j + 1;
        if (eq != NULL && eq - q > i && eq - q + 1 < j) {
            pair->name = q + i;
            pair->name_len = eq - q - i;
            pair->value = eq + 1;
            pair->value_len = j - (eq - q + 1);
            return 1;
        }
    }
    return 0;
}

/* The next pair from *at of the ASCII Cookie header s[0..n), as
 * detector._cookie_pairs cuts it: at each ';', then at the first '='; the name
 * stripped, the value stripped and then stripped of '"' (str.strip()'s whitespace is
 * Py_UNICODE_ISSPACE); a pair whose name or value is then empty is passed over. 1 with
 * *pair set and *at past it, 0 at the end. */
static int
next_cookie_pair(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t *at, pair_span *pair)
{
    while (*at <= n) {
        Py_ssize_t i = *at;
        const Py_UCS1 *semi = memchr(s + i, ';', (size_t)(n - i));
        Py_ssize_t j = semi == NULL ? n : semi - s;
        const Py_UCS1 *eq = memchr(s + i, '=', (size_t)(j - i));
        *at = j + 1;
        if (eq == NULL)
            continue;
        Py_ssize_t a = i, b = eq - s, c = b + 1, d = j;
        while (a < b && Py_UNICODE_ISSPACE(s[a]))
            a++;
        while (b > a && Py_UNICODE_ISSPACE(s[b - 1]))
            b--;
        while (c < d && Py_UNICODE_ISSPACE(s[c]))
            c++;
        while (d > c && Py_UNICODE_ISSPACE(s[d - 1]))
            d--;
        while (c < d && s[c] == '"')
            c++;
        while (d > c && s[d - 1] == '"')
            d--;
        if (a < b && c < d) {
            pair->name = s + a;
            pair->name_len = b - a;
            pair->value = s + c;
            pair->value_len = d - c;
            return 1;
        }
    }
    return 0;
}

static Py_ssize_t unquote(const Py_UCS1 *s, Py_ssize_t n, Py_UCS1 *out, int plus);

/* The pairs of the ASCII text s[0..n) pick keeps, appended to kept as (name, value)
 * tuples of str, in order: a query after its '?' (sep '&', cut at its '#', as
 * detector._query_pairs cuts it, a name that holds '%' or '+' decoded as it decodes
 * it) or a Cookie header (sep ';', as detector._cookie_pairs cuts it). With kept NULL,
 * whether it keeps any. 1 (kept NULL) or 0; -2 where Python decides (a name decoded
 * past ASCII or past this buffer, JSON only orjson can judge: see picks); -1 on an
 * error. plain: see named. */
static int
walk_pairs(const Py_UCS1 *s, Py_ssize_t n, Py_UCS1 sep, PyObject *plain, PyObject *kept)
{
    Py_ssize_t at = 0;
    pair_span pair;
    Py_UCS1 decoded[256];
    if (sep == '&')
        n = before_fragment(s, n);
    while (sep == '&' ? next_query_pair(s, n, &at, &pair) : next_cookie_pair(s, n, &at, &pair)) {
        Py_ssize_t nn = pair.name_len;
        if (sep == '&' && (memchr(pair.name, '%', (size_t)nn) != NULL ||
                           memchr(pair.name, '+', (size_t)nn) != NULL)) {
            /* A name sent encoded (PHP's "imps%5B%5D" for imps[], as ad servers
             * send lists): decoded as _query_pairs decodes it, '+' a space and then
             * the escapes; where that is not ASCII (or the name is long), Python. */
            Py_ssize_t m = -1;
            if (nn <= (Py_ssize_t)sizeof(decoded))
                m = unquote(pair.name, nn, decoded, 1);
            if (m < 0)
                return -2;
            pair.name = decoded;
            pair.name_len = m;
        }
        int look = picks(pair.name, pair.name_len, pair.value, pair.value_len, 1, plain);
        if (look < 0)
            return look;
        if (look && kept == NULL)
            return 1;
        if (look && append_pair(kept, pair.name, pair.name_len, pair.value, pair.value_len) < 0)
            return -1;
    }
    return 0;
}

/* may_matter of the ASCII s[0..n) (a query after its '?', sep '&', or a Cookie header,
 * sep ';'), and then, where it says yes, whether pick keeps any of its pairs: 1, 0,
 * or -2 on an error. A text only Python can pick is 1 (read). The first look's test
 * (detector.IdentityDetector._worth_reading_py): may_matter, one pass, says yes to a
 * cookie header with one value of percent-encoded JSON in it, which pick then passes
 * over; the request then costs the first look alone. */
static int
worth_reading(const Py_UCS1 *s, Py_ssize_t n, Py_UCS1 sep, PyObject *plain)
{
    int found = may_matter_ascii(s, n, sep);
    if (found != 1)
        return found;
    found = walk_pairs(s, n, sep, plain, NULL);
    return found == -1 ? -2 : found != 0;
}

/* The answer of pick_query or pick_cookies once walk_pairs (rc) filled kept: kept; or
 * None where Python decides (rc -2), NULL on an error (rc -1), kept let go. */
static PyObject *
walked(PyObject *kept, int rc)
{
    if (rc >= 0)
        return kept;
    Py_DECREF(kept);
    if (rc == -2)
        Py_RETURN_NONE;
    return NULL;
}

/* pick_query(uri, anchors, plain=None) is pick(detector._query_pairs(uri), anchors, True,
 * plain): the query's pairs cut as _query_pairs cuts them (after the first '?', up to
 * the first '#', at each '&' and then the first '='; name and value not empty), only
 * those pick keeps made str, a name that holds '%' or '+' decoded as _query_pairs
 * decodes it (None where it decodes past ASCII: Python does). None for a target that
 * is not ASCII, or JSON only orjson can judge. */
static PyObject *
pick_query(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    const Py_UCS1 *s = NULL;
    Py_ssize_t n = 0;
    PyObject *plain;
    PyObject *kept = picking(args, nargs, "pick_query(uri: str, anchors: tuple, plain=None)", &s,
                             &n, &plain);
    if (kept == NULL || kept == Py_None)
        return kept;
    const Py_UCS1 *mark = memchr(s, '?', (size_t)n);
    if (mark == NULL)
        return kept;
    return walked(kept, walk_pairs(mark + 1, n - (mark + 1 - s), '&', plain, kept));
}

/* pick_cookies(header, anchors, plain=None) is pick(list(detector._cookie_pairs(header)),
 * anchors, True, plain): the pairs cut at each ';' and then the first '=', the name
 * stripped, the value stripped and then stripped of '"' (name and value not empty),
 * only those pick keeps made str. None for a header that is not ASCII, or JSON only
 * orjson can judge. */
static PyObject *
pick_cookies(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    const Py_UCS1 *s = NULL;
    Py_ssize_t n = 0;
    PyObject *plain;
    PyObject *kept =
        picking(args, nargs, "pick_cookies(header: str, anchors: tuple, plain=None)", &s, &n, &plain);
    if (kept == NULL || kept == Py_None)
        return kept;
    return walked(kept, walk_pairs(s, n, ';', plain, kept));
}

/* The gate of canary.run_gate: can a run of this length and first byte be a key? */
#define GATE_LENGTHS 64
#define GATE_SIZE (GATE_LENGTHS * 128)

static PyObject *
anchored(PyObject *self, PyObject *args)
{
    PyObject *text, *anchors;
    if (!PyArg_ParseTuple(args, "UO!", &text, &PyTuple_Type, &anchors))
        return NULL;
    if (index_anchors(anchors) < 0)
        return NULL;
    if (!PyUnicode_IS_ASCII(text))
        Py_RETURN_NONE;
    const Py_UCS1 *s = PyUnicode_1BYTE_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    Py_UCS1 small[256];
    Py_UCS1 *lowered = n <= (Py_ssize_t)sizeof(small) ? small : PyMem_Malloc((size_t)n);
    if (lowered == NULL)
        return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < n; i++)
        lowered[i] = lower(s[i]);
    int found = has_anchor(lowered, n);
    if (lowered != small)
        PyMem_Free(lowered);
    return PyBool_FromLong(found);
}

/* One run of text[start:start+len] into the lists, as canary._runs_py does. A run
 * that the gate rules out as a key and that is not all hex digits is not made a str. */
static int
take_run(const Py_UCS1 *s, Py_ssize_t len, PyObject *keys, PyObject *sizes, const char *gate,
         PyObject *hits, PyObject *hexes)
{
    int key = gate[(len < GATE_LENGTHS ? len : GATE_LENGTHS - 1) * 128 + s[0]] != 0;
    int hex = 1;
    for (Py_ssize_t k = 0; k < len && hex; k++)
        hex = hex_value(s[k]) >= 0;
    if (!key && !hex)
        return 0;
    PyObject *run = PyUnicode_DecodeASCII((const char *)s, len, NULL);
    if (run == NULL)
        return -1;
    int in = key ? PySequence_Contains(keys, run) : 0;
    if (in < 0 || (in && PyList_Append(hits, run) < 0)) {
        Py_DECREF(run);
        return -1;
    }
    if (hex) {
        PyObject *size = PyLong_FromSsize_t(len);
        if (size == NULL) {
            Py_DECREF(run);
            return -1;
        }
        int sized = PySequence_Contains(sizes, size);
        Py_DECREF(size);
        if (sized < 0 || (sized && PyList_Append(hexes, run) < 0)) {
            Py_DECREF(run);
            return -1;
        }
    }
    Py_DECREF(run);
    return 0;
}

/* The runs of s[0..n) of min_len or more into the lists (see take_run). */
static int
cut(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t min_len, PyObject *keys, PyObject *sizes,
    const char *gate, PyObject *hits, PyObject *hexes)
{
    for (Py_ssize_t i = 0; i < n;) {
        if (!is_alnum(s[i])) {
            i++;
            continue;
        }
        Py_ssize_t j = i + 1;
        while (j < n && is_alnum(s[j]))
            j++;
        if (j - i >= min_len && take_run(s + i, j - i, keys, sizes, gate, hits, hexes) < 0)
            return -1;
        i = j;
    }
    return 0;
}

/* urllib.parse.unquote of ASCII s[0..n) into out (n bytes at least), after '+' made
 * ' ' where plus is set (a query's name, as detector._query_pairs decodes it): "%XX"
 * (either case) is the byte XX; a '%' without two hex digits stays. The length
 * written, or -1 for an escape of a byte past 0x7f (Python's to decode). */
static Py_ssize_t
unquote(const Py_UCS1 *s, Py_ssize_t n, Py_UCS1 *out, int plus)
{
    Py_ssize_t m = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hex_value(s[i + 1])) >= 0 &&
            (lo = hex_value(s[i + 2])) >= 0) {
            int byte = hi << 4 | lo;
            if (byte > 0x7f)
                return -1;
            out[m++] = (Py_UCS1)byte;
            i += 2;
        } else {
            out[m++] = plus && s[i] == '+' ? ' ' : s[i];
        }
    }
    return m;
}

static PyObject *
runs(PyObject *self, PyObject *args)
{
    PyObject *text, *keys, *sizes;
    Py_ssize_t min_len, gate_size, decode_from;
    const char *gate;
    if (!PyArg_ParseTuple(args, "UnOOy#n", &text, &min_len, &keys, &sizes, &gate, &gate_size,
                          &decode_from))
        return NULL;
    if (gate_size != GATE_SIZE) {
        PyErr_SetString(PyExc_ValueError, "gate must be canary.run_gate(keys)");
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(text))
        Py_RETURN_NONE;
    const Py_UCS1 *s = PyUnicode_1BYTE_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    Py_UCS1 *decoded = NULL;
    Py_ssize_t m = 0;
    if (decode_from >= 0 && decode_from <= n &&
        memchr(s + decode_from, '%', (size_t)(n - decode_from)) != NULL) {
        decoded = PyMem_Malloc((size_t)(n - decode_from));
        if (decoded == NULL)
            return PyErr_NoMemory();
        m = unquote(s + decode_from, n - decode_from, decoded, 0);
        if (m < 0) {
            PyMem_Free(decoded);
            Py_RETURN_NONE;
        }
    }
    PyObject *hits = PyList_New(0), *hexes = PyList_New(0);
    if (hits == NULL || hexes == NULL)
        goto fail;
    if (cut(s, n, min_len, keys, sizes, gate, hits, hexes) < 0)
        goto fail;
    if (decoded != NULL && cut(decoded, m, min_len, keys, sizes, gate, hits, hexes) < 0)
        goto fail;
    PyMem_Free(decoded);
    return Py_BuildValue("(NN)", hits, hexes);
fail:
    PyMem_Free(decoded);
    Py_XDECREF(hits);
    Py_XDECREF(hexes);
    return NULL;
}

/* The needles of canary._needles_py, indexed for one pass over a text, in one of two
 * ways.
 *
 * Generic: A = min(4, the shortest needle's length) bytes make a window; S = shortest -
 * A + 1. Any occurrence of a needle spans S consecutive window starts, one of them a
 * multiple of S, so only windows at multiples of S are looked at: each needle is
 * entered under its windows at offsets 0..S-1 (its "anchors"), sorted by window value,
 * with a byte map of the windows' hashes in front. A window whose hash is marked is
 * looked up by bisection and each needle under it compared whole (memcmp).
 *
 * Split, when the shortest needle has 5 to 7 bytes (S of 2 to 4: every second byte
 * hashed, where most needles, the hex and digest forms of 32 to 64, would allow far
 * fewer) and the short ones are few: needles of SPLIT_LONG bytes or more are anchored
 * as above at offsets 0..7 and looked up at multiples of 8; the shorter ones (5 to 10
 * bytes) are entered under 4 consecutive pairs of their bytes in a table of all
 * 65,536 pairs, looked up at multiples of 4 (a needle of 5 bytes or more spans 4
 * consecutive pair starts). One load of 8 bytes, two pair lookups and one hash a step
 * of 8 bytes, where the generic way hashes 4 windows. A short needle that holds another
 * needle is left out (a text that holds it holds the other), and so is a long one that
 * holds a short one: "20900123" and "00447700900123" go, "900123" finds them.
 *
 * The tuple the index was built for is kept (a reference is held): a matcher passes
 * the same tuple every time, so the index is built once. */
typedef struct {
    uint32_t window;
    uint32_t next; /* the next anchor of its slot of the map, or NO_ANCHOR */
    Py_ssize_t offset;
    const char *p;
    Py_ssize_t n;
} anchor;

static PyObject *needles_of = NULL;
static anchor *anchor_list = NULL;
static Py_ssize_t anchor_count;
static int window_len; /* A */
static Py_ssize_t stride; /* S */
static int needle_empty;
/* A byte a hash, not a bit: the scan's test of a window is then one load and a compare
 * instead of a shift, a mask and a bit test (5 instructions of 13 a window; 32 KB: the
 * map stays in a first-level cache). A marked slot's byte is the fingerprint of its
 * windows (window_fp, odd), or MANY_WINDOWS where they have more than one: the scan
 * only tests it for non-zero, and a window whose fingerprint is not its slot's is
 * turned down before its anchors are read (most marked slots met are another window's,
 * and slot_first, 128 KB read at random, costs cache misses). */
#define MAP_BITS 15
#define MANY_WINDOWS 0xFE
static unsigned char window_map[1 << MAP_BITS];

/* The split way (split_mode set): the short needles' pairs, sorted by pair, and for
 * each pair of bytes (as memcpy reads two bytes into a uint16_t) 1 + the index of its
 * first entry, or 0. */
#define SPLIT_LONG 11 /* 8 window starts of 4 bytes in the shortest long needle */
#define SPLIT_STEP 8
#define PAIR_SPAN 4   /* pair starts a short needle is entered under: SPLIT_STEP / 2 */
#define SHORT_MAX 16  /* short needles, left out ones not counted */
typedef struct {
    uint16_t pair;
    uint16_t more; /* another entry with this pair follows */
    uint32_t head; /* the needle's first 4 bytes (it has 5 or more) */
    Py_ssize_t offset;
    const char *p;
    Py_ssize_t n;
} pair_entry;
static int split_mode;
/* Made at the first index (as slot_first): a process without canaries keeps the
 * module's static data as small as it was. */
#define PAIR_TABLE_SIZE (1 << 16)
static unsigned char *pair_table;
static pair_entry pair_list[SHORT_MAX * PAIR_SPAN];
static int pair_count;

static inline uint32_t
window_at(const unsigned char *p)
{
    uint32_t w = 0;
    if (window_len == 4) {
        memcpy(&w, p, 4);
        return w;
    }
    for (int j = 0; j < window_len; j++)
        w = w << 8 | p[j];
    return w;
}

static inline unsigned
window_hash(uint32_t w)
{
    return (unsigned)((w * 0x9E3779B1u) >> (32 - MAP_BITS));
}

/* 7 bits of another hash of w than window_hash, made odd (never 0 nor MANY_WINDOWS). */
static inline unsigned char
window_fp(uint32_t w)
{
    return (unsigned char)((w * 0x85EBCA77u) >> 24 | 1);
}

/* May a needle's window be w, its slot's byte mark (non-zero)? */
static inline int
window_may_be(unsigned char mark, uint32_t w)
{
    return mark == MANY_WINDOWS || mark == window_fp(w);
}

/* The anchors of each marked slot of the map, chained: the first in slot_first, the
 * others by their next. A window whose slot is marked goes straight to its few anchors
 * (one, as a rule), where a bisection of the whole list cost ~180 instructions; most
 * marked slots met are another window's. Read for marked slots only. */
#define NO_ANCHOR UINT32_MAX
static uint32_t *slot_first; /* 1 << MAP_BITS of them */

/* Makes list[0..kept) (PyMem_Malloc'd) the anchors, marked in the map, stride step. */
static void
set_anchors(anchor *list, Py_ssize_t kept, Py_ssize_t step)
{
    memset(window_map, 0, sizeof(window_map));
    for (Py_ssize_t k = 0; k < kept; k++) {
        unsigned h = window_hash(list[k].window);
        unsigned char fp = window_fp(list[k].window);
        list[k].next = window_map[h] ? slot_first[h] : NO_ANCHOR;
        slot_first[h] = (uint32_t)k;
        window_map[h] = window_map[h] == 0 || window_map[h] == fp ? fp : MANY_WINDOWS;
    }
    PyMem_Free(anchor_list);
    anchor_list = list;
    anchor_count = kept;
    stride = step;
}

static int
by_pair(const void *a, const void *b)
{
    unsigned x = ((const pair_entry *)a)->pair, y = ((const pair_entry *)b)->pair;
    return x < y ? -1 : x > y;
}

/* Does needle[0..m) occur in text[0..n)? (Index time only.) */
static int
holds(const char *text, Py_ssize_t n, const char *needle, Py_ssize_t m)
{
    for (Py_ssize_t i = 0; i + m <= n; i++) {
        if (text[i] == needle[0] && memcmp(text + i, needle, (size_t)m) == 0)
            return 1;
    }
    return 0;
}

/* Does text[0..n) hold one of the short needles shorts[0..count)? Then a needle
 * found by that one need not be entered. (Index time only.) */
static int
holds_short(const char *text, Py_ssize_t n, const char *const *shorts,
            const Py_ssize_t *short_len, int count)
{
    for (int j = 0; j < count; j++)
        if (holds(text, n, shorts[j], short_len[j]))
            return 1;
    return 0;
}

/* How often a pair of bytes may be expected in traffic, roughly: digits together
 * (timestamps, ids) most, then lower-case letters (words, host names), then upper-case
 * ones; a digit beside a letter least. Which 4 pairs of a short needle to enter. */
static int
pair_weight(const char *p)
{
    Py_UCS1 a = (Py_UCS1)p[0], b = (Py_UCS1)p[1];
    if (is_digit(a) && is_digit(b))
        return 4;
    if (a >= 'a' && a <= 'z' && b >= 'a' && b <= 'z')
        return 3;
    if (a >= 'A' && a <= 'Z' && b >= 'A' && b <= 'Z')
        return 2;
    return 1;
}

/* The split index of count needles (ASCII str, 5 bytes or more, the shortest 5 to 7);
 * 1 when built, 0 when the needles do not suit it (too many short ones or long ones:
 * the generic index then), -1 on an error (no memory). */
static int
index_split(PyObject *tuple, Py_ssize_t count)
{
    if (pair_table == NULL && (pair_table = PyMem_Malloc(PAIR_TABLE_SIZE)) == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    const char *shorts[SHORT_MAX];
    Py_ssize_t short_len[SHORT_MAX];
    int kept_short = 0;
    /* The short needles, shortest first, each unless it holds one kept already (or is
     * one): a needle held in another is shorter or as long, so kept before it. */
    for (Py_ssize_t len = 5; len < SPLIT_LONG; len++) {
        for (Py_ssize_t k = 0; k < count; k++) {
            PyObject *item = PyTuple_GET_ITEM(tuple, k);
            if (PyUnicode_GET_LENGTH(item) != len)
                continue;
            const char *p = (const char *)PyUnicode_1BYTE_DATA(item);
            if (holds_short(p, len, shorts, short_len, kept_short))
                continue;
            if (kept_short == SHORT_MAX)
                return 0;
            shorts[kept_short] = p;
            short_len[kept_short++] = len;
        }
    }
    /* The long needles that hold no short one, each under its windows at offsets
     * 0..SPLIT_STEP-1. More anchors than 2,048 fill the map past ~6%: as many windows
     * would be looked up, and the single stride does better. */
    anchor *list = PyMem_Malloc(sizeof(anchor) * (2048 + 1));
    if (list == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    window_len = 4; /* window_at's (the single stride sets its own) */
    Py_ssize_t kept = 0;
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *item = PyTuple_GET_ITEM(tuple, k);
        Py_ssize_t n = PyUnicode_GET_LENGTH(item);
        if (n < SPLIT_LONG)
            continue;
        const char *p = (const char *)PyUnicode_1BYTE_DATA(item);
        if (holds_short(p, n, shorts, short_len, kept_short))
            continue;
        if (kept + SPLIT_STEP > 2048) {
            PyMem_Free(list);
            return 0;
        }
        for (Py_ssize_t o = 0; o < SPLIT_STEP; o++)
            list[kept++] = (anchor){window_at((const unsigned char *)p + o), NO_ANCHOR, o, p, n};
    }
    set_anchors(list, kept, SPLIT_STEP);
    /* Each short needle under the 4 consecutive pairs (of its len - 1) least likely
     * to be met elsewhere. */
    memset(pair_table, 0, PAIR_TABLE_SIZE);
    pair_count = 0;
    for (int j = 0; j < kept_short; j++) {
        const char *p = shorts[j];
        Py_ssize_t best = 0;
        int best_weight = INT_MAX;
        for (Py_ssize_t o = 0; o + PAIR_SPAN + 1 <= short_len[j]; o++) {
            int weight = 0;
            for (int q = 0; q < PAIR_SPAN; q++)
                weight += pair_weight(p + o + q);
            if (weight < best_weight) {
                best_weight = weight;
                best = o;
            }
        }
        for (int q = 0; q < PAIR_SPAN; q++)
            pair_list[pair_count++] = (pair_entry){
                pair_at((const unsigned char *)p + best + q), 0,
                window_at((const unsigned char *)p), best + q, p, short_len[j]};
    }
    qsort(pair_list, (size_t)pair_count, sizeof(pair_entry), by_pair);
    for (int k = 0; k + 1 < pair_count; k++)
        pair_list[k].more = pair_list[k].pair == pair_list[k + 1].pair;
    for (int k = pair_count - 1; k >= 0; k--)
        pair_table[pair_list[k].pair] = (unsigned char)(k + 1);
    return 1;
}

/* Header values already looked at for the needles (needles_items), by identity: the
 * first test of a request found in a few lookups what it found before for a header
 * line the client repeats (User-Agent, Accept, Connection, Content-Type): the header
 * splitter (capture/http/_headsplit.c) hands out the same pair, and so the same str,
 * for a line it has seen, and those values were a fifth of the bytes this test read on
 * the ad mix. A reference is held to each value kept, so that its address names it
 * (it cannot be freed and another str made there); values longer than SEEN_VALUE_MAX
 * are not kept (at most SEEN_SLOTS * SEEN_VALUE_MAX bytes held). Direct-mapped by
 * address; emptied when other needles are indexed. */
#define SEEN_SLOTS 256
#define SEEN_VALUE_MAX 256
static struct {
    PyObject *text; /* a str, or NULL */
    int found;      /* has_needle's answer for it */
} seen_values[SEEN_SLOTS];

static inline size_t
seen_slot(PyObject *text)
{
    /* Objects are 16-byte aligned: the low bits say nothing. */
    return (size_t)(((uintptr_t)text >> 4) * 0x9E3779B1u >> 8) % SEEN_SLOTS;
}

static void
forget_seen_values(void)
{
    for (size_t k = 0; k < SEEN_SLOTS; k++)
        Py_CLEAR(seen_values[k].text);
}

static int
index_needles(PyObject *tuple)
{
    if (tuple == needles_of)
        return 0;
    /* What was found in a value held for other needles. */
    forget_seen_values();
    Py_ssize_t count = PyTuple_GET_SIZE(tuple);
    Py_ssize_t shortest = PY_SSIZE_T_MAX;
    int empty = 0;
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *item = PyTuple_GET_ITEM(tuple, k);
        if (!PyUnicode_Check(item) || !PyUnicode_IS_ASCII(item)) {
            PyErr_SetString(PyExc_TypeError, "needles must be ASCII str");
            return -1;
        }
        Py_ssize_t n = PyUnicode_GET_LENGTH(item);
        if (n == 0)
            empty = 1;
        else if (n < shortest)
            shortest = n;
    }
    if (shortest == PY_SSIZE_T_MAX)
        shortest = 1;
    /* From here the index is rebuilt in place: should that fail (no memory), no
     * tuple is taken for indexed, so the next call builds it again. */
    Py_CLEAR(needles_of);
    if (slot_first == NULL &&
        (slot_first = PyMem_Malloc(sizeof(uint32_t) << MAP_BITS)) == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    int split = 0;
    if (!empty && shortest >= 5 && shortest <= 7) {
        split = index_split(tuple, count);
        if (split < 0)
            return -1;
    }
    if (!split) {
        int a = shortest < 4 ? (int)shortest : 4;
        Py_ssize_t step = shortest - a + 1;
        if (count > (Py_ssize_t)(UINT32_MAX / 2) / step) { /* slot_first's indices */
            PyErr_NoMemory();
            return -1;
        }
        anchor *list = PyMem_Malloc(sizeof(anchor) * (size_t)(count * step + 1));
        if (list == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        window_len = a;
        Py_ssize_t kept = 0;
        for (Py_ssize_t k = 0; k < count; k++) {
            PyObject *item = PyTuple_GET_ITEM(tuple, k);
            Py_ssize_t n = PyUnicode_GET_LENGTH(item);
            if (n == 0)
                continue;
            const unsigned char *p = PyUnicode_1BYTE_DATA(item);
            for (Py_ssize_t o = 0; o < step; o++)
                list[kept++] = (anchor){window_at(p + o), NO_ANCHOR, o, (const char *)p, n};
        }
        set_anchors(list, kept, step);
    }
    split_mode = split;
    needle_empty = empty;
    Py_INCREF(tuple);
    Py_XSETREF(needles_of, tuple);
    return 0;
}

/* Does a needle whose window at its offset is w start where s[i..i+A) is that window?
 * (w's hash is marked in the map.) Out of line: it is rarely reached, and the scan's
 * loop keeps its values in registers. */
static Py_NO_INLINE int
confirm_window(const unsigned char *s, Py_ssize_t n, Py_ssize_t i, uint32_t w)
{
    if (!window_may_be(window_map[window_hash(w)], w))
        return 0;
    for (uint32_t k = slot_first[window_hash(w)]; k != NO_ANCHOR; k = anchor_list[k].next) {
        const anchor *e = &anchor_list[k];
        Py_ssize_t start = i - e->offset;
        if (e->window == w && start >= 0 && e->n <= n - start &&
            memcmp(s + start, e->p, (size_t)e->n) == 0)
            return 1;
    }
    return 0;
}

/* Does a short needle entered under the pair at s[i..i+2) start where that pair is at
 * its offset? (i + 2 <= n; first: pair_table's entry for the pair, 1 + the index of its
 * first entry.) */
static Py_NO_INLINE int
confirm_pair(const unsigned char *s, Py_ssize_t n, Py_ssize_t i, unsigned first)
{
    const pair_entry *e = &pair_list[first - 1];
    for (;;) {
        Py_ssize_t start = i - e->offset;
        if (start >= 0 && e->n <= n - start && memcmp(s + start, e->p, (size_t)e->n) == 0)
            return 1;
        if (!e->more)
            return 0;
        e++;
    }
}

/* confirm_pair's most common answer, with no call: most pairs met are no needle's
 * ("00" of a timestamp, "li" of "like Gecko"); 0 for a pair of one entry whose needle's
 * first 4 bytes are not there, else 1 (confirm_pair answers). */
static inline Py_ALWAYS_INLINE int
pair_may_be(const unsigned char *s, Py_ssize_t n, Py_ssize_t i, unsigned first)
{
    const pair_entry *e = &pair_list[first - 1];
    if (e->more)
        return 1;
    Py_ssize_t start = i - e->offset;
    uint32_t head;
    if (start < 0 || e->n > n - start)
        return 0;
    memcpy(&head, s + start, 4);
    return head == e->head;
}

/* confirm_pair, its most common answer first (pair_may_be), inlined. */
static inline Py_ALWAYS_INLINE int
pair_marked(const unsigned char *s, Py_ssize_t n, Py_ssize_t i, unsigned first)
{
    return pair_may_be(s, n, i, first) && confirm_pair(s, n, i, first);
}

/* The split way's marks at a step of 8 bytes at i (i + 8 <= n): non-zero when the
 * pair at i, the pair at i + 4 or the window at i is marked. */
static inline Py_ALWAYS_INLINE unsigned
step_marks(const unsigned char *s, Py_ssize_t i)
{
    uint32_t w;
    memcpy(&w, s + i, 4);
    return pair_table[pair_at(s + i)] | pair_table[pair_at(s + i + 4)] |
           window_map[window_hash(w)];
}

/* Does a needle start where the split way looks at the step at i: the pair at i, the
 * pair at i + 4 and the window at i, each where it lies in s[0..n)? (confirm_step
 * where one of them may be a needle's.) */
static Py_NO_INLINE int
confirm_marks(const unsigned char *s, Py_ssize_t n, Py_ssize_t i)
{
    unsigned a;
    uint32_t w;
    if (i + 2 <= n && (a = pair_table[pair_at(s + i)]) && pair_marked(s, n, i, a))
        return 1;
    if (i + 6 <= n && (a = pair_table[pair_at(s + i + 4)]) && pair_marked(s, n, i + 4, a))
        return 1;
    if (i + 4 > n)
        return 0;
    memcpy(&w, s + i, 4);
    unsigned char mark = window_map[window_hash(w)];
    return mark && window_may_be(mark, w) && confirm_window(s, n, i, w);
}

/* confirm_marks, out of line (reached every ~70 bytes of the ad mix: digit pairs of
 * the short needles meet those of timestamps, ".example" those of "40example"): the
 * scan's loop keeps its registers. Most steps are turned down here with no call, and
 * so with no register to save; confirm_marks, a tail call, looks again at the few
 * left (~1 in 10). */
static Py_NO_INLINE int
confirm_step(const unsigned char *s, Py_ssize_t n, Py_ssize_t i)
{
    unsigned a;
    uint32_t w;
    if (i + 2 <= n && (a = pair_table[pair_at(s + i)]) && pair_may_be(s, n, i, a))
        return confirm_marks(s, n, i);
    if (i + 6 <= n && (a = pair_table[pair_at(s + i + 4)]) && pair_may_be(s, n, i + 4, a))
        return confirm_marks(s, n, i);
    if (i + 4 > n)
        return 0;
    memcpy(&w, s + i, 4);
    unsigned char mark = window_map[window_hash(w)];
    if (mark && window_may_be(mark, w))
        return confirm_marks(s, n, i);
    return 0;
}

/* Does a needle occur in s[0..n)? Every byte of every request passes here when
 * canaries are set: the split way and windows of 4 bytes (the common cases) have loops
 * of their own. Inlined where it is called: a request's header values are short, and a
 * call's entry and exit were a sixth of the cost of one. */
static inline Py_ALWAYS_INLINE int
has_needle(const unsigned char *s, Py_ssize_t n)
{
    if (needle_empty)
        return 1;
    const unsigned char *map = window_map;
    if (split_mode) {
        /* Steps at 0, 8, 16, ...: every pair at a multiple of 4 and every window at a
         * multiple of 8 that lies in s. */
        Py_ssize_t i = 0;
        /* Two steps at a time: one test of both steps' marks. */
        for (; i + 2 * SPLIT_STEP <= n; i += 2 * SPLIT_STEP) {
            unsigned first = step_marks(s, i), second = step_marks(s, i + SPLIT_STEP);
            if (__builtin_expect((first | second) != 0, 0) &&
                ((first && confirm_step(s, n, i)) ||
                 (second && confirm_step(s, n, i + SPLIT_STEP))))
                return 1;
        }
        if (i + SPLIT_STEP <= n) {
            if (step_marks(s, i) && confirm_step(s, n, i))
                return 1;
            i += SPLIT_STEP;
        }
        /* The rest, 0 to 7 bytes: what of its step lies in s. */
        if (i + 2 > n)
            return 0;
        unsigned marks = pair_table[pair_at(s + i)];
        if (i + 4 <= n) {
            uint32_t w;
            memcpy(&w, s + i, 4);
            marks |= window_map[window_hash(w)];
        }
        if (i + 6 <= n)
            marks |= pair_table[pair_at(s + i + 4)];
        return marks && confirm_step(s, n, i);
    }
    if (anchor_count == 0)
        return 0;
    const Py_ssize_t step = stride;
    if (window_len == 4) {
        for (Py_ssize_t i = 0; i <= n - 4; i += step) {
            uint32_t w;
            memcpy(&w, s + i, 4);
            if (map[window_hash(w)] && confirm_window(s, n, i, w))
                return 1;
        }
        return 0;
    }
    for (Py_ssize_t i = 0; i <= n - window_len; i += step) {
        uint32_t w = window_at(s + i);
        if (map[window_hash(w)] && confirm_window(s, n, i, w))
            return 1;
    }
    return 0;
}

/* A str's characters as bytes when they are one byte each (ASCII or Latin-1: an ASCII
 * needle occurs in the str exactly where it occurs in these bytes); NULL otherwise. */
static const unsigned char *
narrow(PyObject *text, Py_ssize_t *n)
{
    if (PyUnicode_KIND(text) != PyUnicode_1BYTE_KIND)
        return NULL;
    *n = PyUnicode_GET_LENGTH(text);
    return PyUnicode_1BYTE_DATA(text);
}

/* The percent-decoding of s[0..n) into out (n bytes at least), every escape made its
 * byte (one past 0x7f too: it is no ASCII letter or digit, as whatever UTF-8 decoding
 * makes of it is none); its length. */
static Py_ssize_t
unquote_bytes(const unsigned char *s, Py_ssize_t n, unsigned char *out)
{
    Py_ssize_t m = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hex_value(s[i + 1])) >= 0 &&
            (lo = hex_value(s[i + 2])) >= 0) {
            out[m++] = (unsigned char)(hi << 4 | lo);
            i += 2;
        } else {
            out[m++] = s[i];
        }
    }
    return m;
}

static int has_needle_decoded(const unsigned char *s, Py_ssize_t n, int *error);

/* canary._needles_py over items[0..count) (pairs checked by the caller: tuples of two
 * str), body (bytes or None) and uri (str or None), the needles indexed: 1 or 0; 2
 * where Python decides (a str of wide characters); -1 on an error. */
static int
needles_items(PyObject **items, Py_ssize_t count, PyObject *body, PyObject *uri)
{
    int wide = 0;
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *value = PyTuple_GET_ITEM(items[k], 1);
        size_t slot = seen_slot(value);
        if (seen_values[slot].text == value) {
            if (seen_values[slot].found)
                return 1;
            continue;
        }
        Py_ssize_t n;
        const unsigned char *s = narrow(value, &n);
        if (s == NULL) {
            wide = 1;
            continue;
        }
        int found = has_needle(s, n);
        if (n <= SEEN_VALUE_MAX) {
            Py_XSETREF(seen_values[slot].text, Py_NewRef(value));
            seen_values[slot].found = found;
        }
        if (found)
            return 1;
    }
    if (body != Py_None) {
        if (!PyBytes_Check(body)) {
            PyErr_SetString(PyExc_TypeError, "body must be bytes or None");
            return -1;
        }
        if (has_needle((const unsigned char *)PyBytes_AS_STRING(body), PyBytes_GET_SIZE(body)))
            return 1;
    }
    if (uri != Py_None) {
        if (!PyUnicode_Check(uri)) {
            PyErr_SetString(PyExc_TypeError, "uri must be str or None");
            return -1;
        }
        Py_ssize_t n;
        const unsigned char *s = narrow(uri, &n);
        if (s == NULL) {
            wide = 1;
        } else {
            int error = 0;
            int found = has_needle_decoded(s, n, &error);
            if (error)
                return -1;
            if (found)
                return 1;
        }
    }
    return wide ? 2 : 0;
}

static PyObject *
needles(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    /* Once a request: checked here rather than by PyArg_ParseTuple (see may_matter). */
    if (nargs != 4 || !PyTuple_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "needles(needles: tuple, headers, body, uri)");
        return NULL;
    }
    if (index_needles(args[0]) < 0)
        return NULL;
    PyObject *fast = PySequence_Fast(args[1], "headers must be a sequence of (name, value)");
    if (fast == NULL)
        return NULL;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(fast);
    PyObject **items = PySequence_Fast_ITEMS(fast);
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *pair = items[k];
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2 ||
            !PyUnicode_Check(PyTuple_GET_ITEM(pair, 1))) {
            Py_DECREF(fast);
            PyErr_SetString(PyExc_TypeError, "headers must be (name, value) pairs of str");
            return NULL;
        }
    }
    int found = needles_items(items, count, args[2], args[3]);
    Py_DECREF(fast);
    if (found < 0)
        return NULL;
    if (found == 2)
        Py_RETURN_NONE;
    return PyBool_FromLong(found);
}

/* Is the '%' at s[i] an escape of an ASCII letter or digit (two hex digits in s)? Its
 * first digit is then one of '3' to '7' (letters and digits are 0x30 to 0x7a): "%2F",
 * "%26" and "%20" of encoded URLs are turned down at the first. */
static inline int
escapes_alnum(const unsigned char *s, Py_ssize_t n, Py_ssize_t i)
{
    int lo;
    if (i + 2 >= n || (unsigned)(s[i + 1] - '3') > 4)
        return 0;
    return (lo = hex_value(s[i + 2])) >= 0 && is_alnum((Py_UCS1)((s[i + 1] - '0') << 4 | lo));
}

/* Does s[0..n) hold an escape of a letter or digit ("%34", not "%3A")? Every '%' is
 * looked at, as the decoding's ("%%34" holds one). Sixteen bytes at a time where SSE2
 * is there, each '%' of a mask in turn: the encoded URLs of ad traffic hold dozens, and
 * a memchr call a '%' cost more than the look; the last bytes of a text of 16 or more
 * are read as its last 16 (the bytes already looked at shifted out of the mask). */
static int
has_alnum_escape(const unsigned char *s, Py_ssize_t n)
{
    Py_ssize_t i = 0;
#if defined(__SSE2__)
    const __m128i pct = _mm_set1_epi8('%');
    for (; i + 16 <= n; i += 16) {
        unsigned mask = (unsigned)_mm_movemask_epi8(
            _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(s + i)), pct));
        for (; mask; mask &= mask - 1)
            if (escapes_alnum(s, n, i + __builtin_ctz(mask)))
                return 1;
    }
    if (i < n && n >= 16) {
        /* s[n-16..n) holds s[i..n) (i > n - 16), and i - (n - 16) < 16 bytes before. */
        Py_ssize_t base = n - 16;
        unsigned mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
                            _mm_loadu_si128((const __m128i *)(s + base)), pct)) >>
                        (i - base);
        for (; mask; mask &= mask - 1)
            if (escapes_alnum(s, n, i + __builtin_ctz(mask)))
                return 1;
        return 0;
    }
#endif
    for (; i < n; i++)
        if (s[i] == '%' && escapes_alnum(s, n, i))
            return 1;
    return 0;
}

/* Does a needle occur in s[0..n) or in its percent-decoding? */
static int
has_needle_decoded(const unsigned char *s, Py_ssize_t n, int *error)
{
    if (has_needle(s, n))
        return 1;
    /* A needle found only in the decoding holds a byte an escape made; needles are
     * letters and digits, so an escape of anything else ("%3A%2F%2F" of an encoded
     * URL) cannot make one. */
    if (!has_alnum_escape(s, n))
        return 0;
    unsigned char small[2048];
    unsigned char *decoded = n <= (Py_ssize_t)sizeof(small) ? small : PyMem_Malloc((size_t)n);
    if (decoded == NULL) {
        PyErr_NoMemory();
        *error = 1;
        return 0;
    }
    int found = has_needle(decoded, unquote_bytes(s, n, decoded));
    if (decoded != small)
        PyMem_Free(decoded);
    return found;
}

/* The kind of a request's body, the answer of detector._body_kind: BODY_FORM where a
 * Content-Type header's value, lower-cased, starts with the form type; else BODY_JSON
 * where one names JSON, or where the body, its leading whitespace passed over, starts
 * with '{' or '[' and no Content-Type said what follows; else BODY_MULTIPART where one
 * starts with multipart/form-data, BODY_XML where one names XML; else BODY_OTHER.
 * BODY_PYTHON where Python decides (a Content-Type value that is not ASCII). items are
 * str pairs (checked by the caller); request() gives the body, canary_fields none (the
 * headers alone, detector._is_form). */
#define BODY_PYTHON (-1)
#define BODY_OTHER 0
#define BODY_FORM 1
#define BODY_JSON 2
#define BODY_MULTIPART 3
#define BODY_XML 4

/* Is every byte of b[0..n) ASCII (else UTF-8 decoding and Unicode case are Python's)?
 * Asked of every form or JSON body before its test: sixteen bytes a compare where
 * SSE2 is there (a byte past 0x7f is one whose top bit is set, which movemask
 * gathers), where one by one it was a tenth of the first look at an ad beacon; the
 * last bytes of a body of 16 or more as its last 16. */
static int
bytes_ascii(const Py_UCS1 *b, Py_ssize_t n)
{
    Py_ssize_t i = 0;
#if defined(__SSE2__)
    if (n >= 16) {
        for (; i + 16 <= n; i += 16)
            if (_mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(b + i))))
                return 0;
        return i == n || !_mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(b + n - 16)));
    }
#endif
    for (; i < n; i++)
        if (b[i] > 0x7f)
            return 0;
    return 1;
}

/* bytes.isspace() of one byte: what bytes.lstrip() passes over. */
static inline int
bytes_space(Py_UCS1 c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static int
body_kind(PyObject **items, Py_ssize_t count, const Py_UCS1 *b, Py_ssize_t size)
{
    static const char form[] = "application/x-www-form-urlencoded";
    static const char multipart[] = "multipart/form-data";
    const Py_ssize_t len = (Py_ssize_t)sizeof(form) - 1;
    const Py_ssize_t mlen = (Py_ssize_t)sizeof(multipart) - 1;
    int kind = BODY_OTHER;
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *name = PyTuple_GET_ITEM(items[k], 0), *value = PyTuple_GET_ITEM(items[k], 1);
        /* No name past ASCII lower-cases to "content-type" (its length changes, or it
         * stays past ASCII). */
        if (PyUnicode_GET_LENGTH(name) != 12 || !PyUnicode_IS_ASCII(name) ||
            !before(PyUnicode_1BYTE_DATA(name), 12, "content-type", 12, 1))
            continue;
        if (!PyUnicode_IS_ASCII(value))
            return BODY_PYTHON;
        const Py_UCS1 *s = PyUnicode_1BYTE_DATA(value);
        Py_ssize_t n = PyUnicode_GET_LENGTH(value);
        if (n >= len && before(s, len, form, len, 1))
            return BODY_FORM;
        /* "xml" is looked for only where it can decide (no JSON, no multipart): a
         * request's Content-Type is read once more only in that case. */
        if (contains_fold(s, n, "json", 4))
            kind = BODY_JSON;
        else if (kind != BODY_JSON) {
            if (n >= mlen && before(s, mlen, multipart, mlen, 1))
                kind = BODY_MULTIPART;
            else if (kind == BODY_OTHER && contains_fold(s, n, "xml", 3))
                kind = BODY_XML;
        }
    }
    if (kind == BODY_OTHER) {
        Py_ssize_t i = 0;
        while (i < size && bytes_space(b[i]))
            i++;
        if (i < size && (b[i] == '{' || b[i] == '['))
            kind = BODY_JSON;
    }
    return kind;
}

/* Could a field of the ASCII JSON text s[0..n) be one _json looks at (a key with an
 * anchor word, or a value pick would take under a name without one)? The answer of
 * detector._json_may_matter_py: 1 for a text with a backslash (an escape may hide a
 * word or an '@') or one that is not an object (nor a list, where lists: the items
 * at its top are then values); else each token that regex finds,
 * from the left, tested: a string ("..." with no '"' inside) followed by ':' (spaces
 * before it allowed) is a key, any other string or a number (-?[0-9][0-9.eE+-]*) a
 * value. A '"' with no '"' after it starts no string; what follows it is read for
 * numbers alone. It may say yes wrongly (a key whose value is an object, a float), never
 * no wrongly: every field _json_fields gives is a value token under its key token
 * (a list's items under the list's key). 1, 0, or -1 on an error (no memory). */
static int
json_fields_may_matter(const Py_UCS1 *s, Py_ssize_t n, int lists)
{
    if (n == 0 || memchr(s, '\\', (size_t)n) != NULL)
        return 1;
    Py_ssize_t i = 0;
    while (i < n && bytes_space(s[i]))
        i++;
    if (i >= n || (s[i] != '{' && !(lists && s[i] == '[')))
        return 1;
    int quotes = 1; /* a '"' may still close a string */
    while (i < n) {
        Py_UCS1 c = s[i];
        if (c == '"' && quotes) {
            const Py_UCS1 *close = memchr(s + i + 1, '"', (size_t)(n - i - 1));
            if (close == NULL) {
                quotes = 0;
                i++;
                continue;
            }
            Py_ssize_t start = i + 1, end = close - s, k = end + 1;
            while (k < n && Py_UNICODE_ISSPACE(s[k]))
                k++;
            if (k < n && s[k] == ':') {
                int found = anchored_ascii(s + start, end - start);
                if (found != 0)
                    return found;
                i = k + 1;
            } else {
                if (worth_param(s + start, end - start) && !opaque_token(s + start, end - start))
                    return 1;
                int found = carried_anchored(s + start, end - start);
                if (found != 0)
                    return found;
                i = end + 1;
            }
            continue;
        }
        if (is_digit(c) || (c == '-' && i + 1 < n && is_digit(s[i + 1]))) {
            Py_ssize_t end = i + 1;
            while (end < n && (is_digit(s[end]) || s[end] == '.' || s[end] == 'e' ||
                               s[end] == 'E' || s[end] == '+' || s[end] == '-'))
                end++;
            if (worth_param(s + i, end - i) && !opaque_token(s + i, end - i))
                return 1;
            i = end;
            continue;
        }
        i++;
    }
    return 0;
}

static int
json_may_matter(const Py_UCS1 *s, Py_ssize_t n)
{
    return json_fields_may_matter(s, n, 0);
}

#define JSON_DEPTH 256 /* orjson's limit is 1,024: deeper, this says "not sure" */
#define JSON_NUMBER 100 /* a longer number may parse as infinity, which orjson refuses */

static inline int
json_space(Py_UCS1 c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The end of the JSON string that starts at the '"' at i of s[0..n) (past its
 * closing '"'); -1 where orjson refuses it (a control character, no end), -2 where
 * json_valid leaves it to orjson (an escape, a byte past ASCII). */
static Py_ssize_t
json_string_end(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t i)
{
    for (i++; i < n && s[i] != '"'; i++)
        if (s[i] < 0x20 || s[i] == '\\' || s[i] > 0x7f)
            return s[i] < 0x20 ? -1 : -2;
    return i < n ? i + 1 : -1;
}

/* Is the ASCII text s[0..n) with no backslash one JSON document as orjson.loads reads
 * it (RFC 8259: no control character in a string, no leading zero, no trailing comma,
 * space only before and after)? 1 yes, 0 no (orjson raises), -2 where orjson's answer
 * may differ from a grammar's (a number with an exponent or of JSON_NUMBER characters,
 * which may overflow a double, or nesting deeper than JSON_DEPTH). */
static int
json_valid(const Py_UCS1 *s, Py_ssize_t n)
{
    char open[JSON_DEPTH];
    int depth = 0;
    Py_ssize_t i = 0;
value:
    while (i < n && json_space(s[i]))
        i++;
    if (i >= n)
        return 0;
    switch (s[i]) {
    case '{':
    case '[':
        if (depth == JSON_DEPTH)
            return -2;
        open[depth++] = (char)s[i++];
        while (i < n && json_space(s[i]))
            i++;
        if (i < n && s[i] == (open[depth - 1] == '{' ? '}' : ']')) {
            depth--;
            i++;
            goto after;
        }
        if (open[depth - 1] == '{')
            goto key;
        goto value;
    case '"':
        i = json_string_end(s, n, i);
        if (i < 0)
            return i == -1 ? 0 : -2;
        goto after;
    case 't':
    case 'f':
    case 'n': {
        const char *word = s[i] == 't' ? "true" : s[i] == 'f' ? "false" : "null";
        Py_ssize_t len = (Py_ssize_t)strlen(word);
        if (n - i < len || memcmp(s + i, word, (size_t)len) != 0)
            return 0;
        i += len;
        goto after;
    }
    default: {
        Py_ssize_t start = i;
        if (s[i] == '-')
            i++;
        if (i >= n || !is_digit(s[i]))
            return 0;
        if (s[i] == '0')
            i++;
        else
            while (i < n && is_digit(s[i]))
                i++;
        if (i < n && s[i] == '.') {
            i++;
            if (i >= n || !is_digit(s[i]))
                return 0;
            while (i < n && is_digit(s[i]))
                i++;
        }
        if (i < n && (s[i] == 'e' || s[i] == 'E'))
            return -2;
        if (i - start >= JSON_NUMBER)
            return -2;
        goto after;
    }
    }
key:
    while (i < n && json_space(s[i]))
        i++;
    if (i >= n || s[i] != '"')
        return 0;
    i = json_string_end(s, n, i);
    if (i < 0)
        return i == -1 ? 0 : -2;
    while (i < n && json_space(s[i]))
        i++;
    if (i >= n || s[i] != ':')
        return 0;
    i++;
    goto value;
after:
    while (i < n && json_space(s[i]))
        i++;
    if (depth == 0)
        return i == n;
    if (i >= n)
        return 0;
    if (s[i] == ',') {
        i++;
        if (open[depth - 1] == '{')
            goto key;
        goto value;
    }
    if (s[i] == (open[depth - 1] == '{' ? '}' : ']')) {
        depth--;
        i++;
        goto after;
    }
    return 0;
}

/* Is the ASCII value v[0..n) JSON that detector._param_findings, opening it under a
 * name without an anchor word, finds nothing in: an object or list, plain or
 * percent-encoded (encodings.url_decode: '+' kept), that orjson reads, whose fields
 * json_fields_may_matter turns down (the items of a list at its top are values judged
 * by the name: their tests are its value tests)? The answer of
 * detector._json_fruitless: 1 yes, 0 no, -2 where only Python can say (an escape of a
 * byte past 0x7f, json_valid's doubt), -1 on an error (no memory). Real cookies and
 * beacons carry analytics state as percent-encoded JSON, hundreds of characters a
 * value, and a new value each client: read in Python, such a value cost the most of
 * detection on recorded traffic. */
static int
json_fruitless(const Py_UCS1 *v, Py_ssize_t n)
{
    if (!json_start(v, n))
        return 0;
    Py_UCS1 small[1024];
    Py_UCS1 *text = (Py_UCS1 *)v, *buffer = NULL;
    Py_ssize_t m = n;
    if (memchr(v, '%', (size_t)n) != NULL) {
        buffer = n <= (Py_ssize_t)sizeof(small) ? small : PyMem_Malloc((size_t)n);
        if (buffer == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        text = buffer;
        m = unquote(v, n, buffer, 0);
    }
    int answer;
    if (m < 0)
        answer = -2;
    else if (m == 0 || (text[0] != '{' && text[0] != '[') ||
             memchr(text, '\\', (size_t)m) != NULL)
        answer = 0; /* not JSON to open, or an escape json_fields_may_matter takes */
    else {
        answer = json_valid(text, m);
        if (answer == 1) {
            int found = json_fields_may_matter(text, m, 1);
            answer = found < 0 ? -1 : !found;
        }
    }
    if (buffer != NULL && buffer != small)
        PyMem_Free(buffer);
    return answer;
}

/* What detect() must do with a request's body (bytes, checked), the answer of the
 * body part of detector._request_py: BODY_OTHER where it holds nothing to look at (not
 * a form nor JSON, a form whose text may_matter turns down, JSON json_may_matter
 * turns down), BODY_FORM or BODY_JSON where it must be read as one, BODY_PYTHON where
 * Python decides (a byte past 0x7f in a form or JSON body: UTF-8 and Unicode case are
 * Python's; a multipart or XML body, read by capture.identity.bodies), -2 on an
 * error. */
static int
body_look(PyObject **items, Py_ssize_t count, PyObject *body, PyObject *plain)
{
    const Py_UCS1 *b = (const Py_UCS1 *)PyBytes_AS_STRING(body);
    Py_ssize_t size = PyBytes_GET_SIZE(body);
    if (size == 0)
        return BODY_OTHER;
    int kind = body_kind(items, count, b, size);
    if (kind == BODY_OTHER || kind == BODY_PYTHON)
        return kind;
    if (kind == BODY_MULTIPART || kind == BODY_XML)
        return BODY_PYTHON; /* rare: read in Python (capture.identity.bodies) */
    if (!bytes_ascii(b, size))
        return BODY_PYTHON;
    int found = kind == BODY_FORM ? worth_reading(b, size, '&', plain) : json_may_matter(b, size);
    if (found < 0)
        return -2;
    return found ? kind : BODY_OTHER;
}

/* The strs of body_look's answers in request()'s tuple (detector's _FORM and _JSON),
 * made once (see PyInit__idscan). */
static PyObject *form_kind, *json_kind;

/* request(headers, kinds, anchors, uri, needles, body, plain) is detector._request_py:
 * the whole first look at a request in one call, where detect() made four (triage,
 * may_matter of the query, needles, the body's kind), the tests of a Cookie header, a
 * query or a form worth_reading's. None when nothing in it needs a
 * look: no header kept, no query that may matter, no needle (or no needles given),
 * and a body that needs none. Else (kept, query, first, look): the headers triage
 * keeps; whether the query (after the first '?' of uri) may matter (may_matter, '&'),
 * False without a query, None where Python decides (uri not ASCII); what needles
 * answers (None without needles); how the body is read (body_look: "form", "json",
 * False for not at all, None where Python decides). */
static PyObject *
request(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7 || !PyDict_Check(args[1]) || !PyTuple_Check(args[2]) ||
        (args[3] != Py_None && !PyUnicode_Check(args[3])) ||
        (args[4] != Py_None && !PyTuple_Check(args[4])) ||
        (args[5] != Py_None && !PyBytes_Check(args[5]))) {
        PyErr_SetString(PyExc_TypeError,
                        "request(headers, kinds: dict, anchors: tuple, uri: str | None, "
                        "needles: tuple | None, body: bytes | None, plain: set | None)");
        return NULL;
    }
    PyObject *uri = args[3], *tuple = args[4], *body = args[5], *plain;
    if (plain_argument(args, nargs, 6, &plain) < 0 || index_anchors(args[2]) < 0)
        return NULL;
    if (tuple != Py_None && index_needles(tuple) < 0)
        return NULL;
    PyObject *fast = PySequence_Fast(args[0], "headers must be a sequence of (name, value)");
    if (fast == NULL)
        return NULL;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(fast);
    PyObject **items = PySequence_Fast_ITEMS(fast);
    PyObject *kept = PyList_New(0);
    if (kept == NULL || triage_items(items, count, args[1], kept, plain) < 0)
        goto fail;
    /* The query: 1, 0, or -1 where Python decides. */
    int query = 0;
    Py_ssize_t n = uri == Py_None ? 0 : PyUnicode_GET_LENGTH(uri);
    if (n > 0) {
        Py_ssize_t mark = question_mark(uri);
        if (mark == -2)
            goto fail;
        if (mark >= 0) {
            if (!PyUnicode_IS_ASCII(uri)) {
                query = -1;
            } else {
                query = worth_reading(PyUnicode_1BYTE_DATA(uri) + mark + 1, n - mark - 1, '&',
                                      plain);
                if (query == -2)
                    goto fail;
            }
        }
    }
    int first = 2; /* None */
    if (tuple != Py_None) {
        first = needles_items(items, count, body, uri);
        if (first < 0)
            goto fail;
    }
    int look = body == Py_None ? BODY_OTHER : body_look(items, count, body, plain);
    if (look == -2)
        goto fail;
    Py_DECREF(fast);
    if (PyList_GET_SIZE(kept) == 0 && query == 0 && (first == 0 || tuple == Py_None) &&
        look == BODY_OTHER) {
        Py_DECREF(kept);
        Py_RETURN_NONE;
    }
    PyObject *q = query < 0 ? Py_None : query ? Py_True : Py_False;
    PyObject *f = first == 2 ? Py_None : first ? Py_True : Py_False;
    PyObject *b = look == BODY_PYTHON ? Py_None
                  : look == BODY_FORM ? form_kind
                  : look == BODY_JSON ? json_kind
                                      : Py_False;
    /* PyTuple_Pack, not Py_BuildValue: its format is parsed on every call (some 500
     * instructions, a tenth of a request that holds an identity). */
    PyObject *answer = PyTuple_Pack(4, kept, q, f, b);
    Py_DECREF(kept);
    return answer;
fail:
    Py_DECREF(fast);
    Py_XDECREF(kept);
    return NULL;
}

static PyObject *
needle_in(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    /* Checked here rather than by PyArg_ParseTuple, whose format parsing cost more than
     * the search of a short header value (called for each field of a request that holds
     * a needle). */
    if (nargs != 2 || !PyTuple_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "needle_in(needles: tuple, text)");
        return NULL;
    }
    PyObject *tuple = args[0], *text = args[1];
    if (index_needles(tuple) < 0)
        return NULL;
    const unsigned char *s;
    Py_ssize_t n;
    if (PyBytes_Check(text)) {
        s = (const unsigned char *)PyBytes_AS_STRING(text);
        n = PyBytes_GET_SIZE(text);
    } else if (PyUnicode_Check(text)) {
        s = narrow(text, &n);
        if (s == NULL)
            Py_RETURN_NONE;
    } else {
        PyErr_SetString(PyExc_TypeError, "text must be str or bytes");
        return NULL;
    }
    int error = 0;
    int found = has_needle_decoded(s, n, &error);
    if (error)
        return NULL;
    return PyBool_FromLong(found);
}

/* canary_fields(needles, headers, uri, body) is detector._canary_fields(request, holds)
 * with holds CanaryMatcher.may_hold (needle_in of the needles): the (where, name, text,
 * unseen) tuples of every field of a request that may hold a canary, in the same order,
 * the same str. One call for a request the first test let through, in place of a
 * generator, a dozen needle_in calls, the split of the whole query and urllib's
 * unquote in Python. None where Python decides: a header name that is not ASCII
 * (str.lower() of U+212A KELVIN SIGN makes "cookie"), or, where a needle may be in
 * them, a Cookie header, target or Content-Type value that is not ASCII, a form body
 * with a byte past 0x7f, or a text to be percent-decoded with an escape of one. */

/* The strs of the tuples, made once (see PyInit__idscan): detector's WHERE_HEADER,
 * WHERE_COOKIE, WHERE_QUERY, WHERE_BODY and the names of the path and of a body. */
static PyObject *where_header, *where_cookie, *where_query, *where_body, *path_name, *body_name;

/* Is the ASCII s[0..n) word (lower case) in any case? */
static int
equal_ci(const Py_UCS1 *s, Py_ssize_t n, const char *word)
{
    Py_ssize_t len = (Py_ssize_t)strlen(word);
    return n == len && before(s, n, word, len, 1);
}

/* encodings.url_decode of the ASCII s[0..n), after '+' made ' ' when plus is set (a
 * parameter's name): a new str (unquote's). NULL with *python set where an escape
 * makes a byte past 0x7f (UTF-8 decoding is Python's); NULL alone on an error. */
static PyObject *
decoded_str(const Py_UCS1 *s, Py_ssize_t n, int plus, int *python)
{
    Py_UCS1 small[512];
    Py_UCS1 *buf = n <= (Py_ssize_t)sizeof(small) ? small : PyMem_Malloc((size_t)n);
    if (buf == NULL)
        return PyErr_NoMemory();
    Py_ssize_t m = unquote(s, n, buf, plus);
    PyObject *out = NULL;
    if (m < 0)
        *python = 1;
    else
        out = ascii_str(buf, m);
    if (buf != small)
        PyMem_Free(buf);
    return out;
}

/* Appends (where, name, text, unseen) to out, taking the references to name and text
 * (either may be NULL after an error: then nothing is appended). 0, or -1 on an error. */
static int
append_field(PyObject *out, PyObject *where, PyObject *name, PyObject *text, int unseen)
{
    int status = -1;
    if (name != NULL && text != NULL) {
        PyObject *field = PyTuple_Pack(4, where, name, text, unseen ? Py_True : Py_False);
        if (field != NULL) {
            status = PyList_Append(out, field);
            Py_DECREF(field);
        }
    }
    Py_XDECREF(name);
    Py_XDECREF(text);
    return status;
}

/* Does a needle occur in s[0..n) or its percent-decoding (needle_in)? 1 or 0, -1 on an
 * error. */
static inline int
may_hold(const Py_UCS1 *s, Py_ssize_t n)
{
    int error = 0;
    int found = has_needle_decoded(s, n, &error);
    return error ? -1 : found;
}

/* The field of a text as sent (name taken, text made of s[0..n)), and when it holds a
 * '%', of its decoding (unseen as given): one cookie, query or form parameter whose
 * value may hold a needle. 0, 1 where Python decides, -1 on an error. */
static int
value_fields(PyObject *out, PyObject *where, PyObject *name, const Py_UCS1 *s, Py_ssize_t n,
             int unseen)
{
    Py_INCREF(name);
    if (append_field(out, where, name, ascii_str(s, n), 0) < 0)
        return -1;
    if (memchr(s, '%', (size_t)n) == NULL)
        return 0;
    int python = 0;
    PyObject *decoded = decoded_str(s, n, 0, &python);
    if (decoded == NULL)
        return python ? 1 : -1;
    Py_INCREF(name);
    return append_field(out, where, name, decoded, unseen);
}

/* detector._query_pairs of the ASCII q[0..n) (a query, its '?' gone, not yet cut at
 * '#'), each pair whose value may hold a needle given to value_fields. 0, 1 where
 * Python decides, -1 on an error. */
static int
pair_fields(PyObject *out, PyObject *where, const Py_UCS1 *q, Py_ssize_t n, int unseen)
{
    Py_ssize_t at = 0;
    pair_span pair;
    n = before_fragment(q, n);
    while (next_query_pair(q, n, &at, &pair)) {
        int found = may_hold(pair.value, pair.value_len);
        if (found < 0)
            return -1;
        if (!found)
            continue;
        const Py_UCS1 *name = pair.name;
        Py_ssize_t length = pair.name_len;
        PyObject *param;
        int python = 0;
        if (memchr(name, '%', (size_t)length) || memchr(name, '+', (size_t)length))
            param = decoded_str(name, length, 1, &python);
        else
            param = ascii_str(name, length);
        if (param == NULL)
            return python ? 1 : -1;
        int status = value_fields(out, where, param, pair.value, pair.value_len, unseen);
        Py_DECREF(param);
        if (status != 0)
            return status;
    }
    return 0;
}

/* detector._cookie_pairs of the ASCII Cookie header s[0..n), each cookie whose value
 * may hold a needle given to value_fields. 0, 1 where Python decides, -1 on an error. */
static int
cookie_fields(PyObject *out, const Py_UCS1 *s, Py_ssize_t n)
{
    Py_ssize_t at = 0;
    pair_span pair;
    while (next_cookie_pair(s, n, &at, &pair)) {
        int found = may_hold(pair.value, pair.value_len);
        if (found < 0)
            return -1;
        if (!found)
            continue;
        PyObject *name = ascii_str(pair.name, pair.name_len);
        if (name == NULL)
            return -1;
        int status = value_fields(out, where_cookie, name, pair.value, pair.value_len, 1);
        Py_DECREF(name);
        if (status != 0)
            return status;
    }
    return 0;
}

/* canary_fields over items (str pairs with ASCII names), uri and body (checked), into
 * out: 0, 1 where Python decides, -1 on an error. */
static int
canary_fields_items(PyObject *out, PyObject **items, Py_ssize_t count, PyObject *uri,
                    PyObject *body)
{
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *name = PyTuple_GET_ITEM(items[k], 0), *value = PyTuple_GET_ITEM(items[k], 1);
        Py_ssize_t n = 0; /* set by narrow, and read only where it gave bytes */
        const Py_UCS1 *s = narrow(value, &n);
        /* may_hold is True of a str of wide characters (needle_in leaves it to Python). */
        int found = s == NULL ? 1 : may_hold(s, n);
        if (found <= 0) {
            if (found < 0)
                return -1;
            continue;
        }
        if (equal_ci(PyUnicode_1BYTE_DATA(name), PyUnicode_GET_LENGTH(name), "cookie")) {
            if (!PyUnicode_IS_ASCII(value))
                return 1;
            int status = cookie_fields(out, s, n);
            if (status != 0)
                return status;
        } else {
            Py_INCREF(name);
            Py_INCREF(value);
            if (append_field(out, where_header, name, value, 0) < 0)
                return -1;
        }
    }
    Py_ssize_t n = uri == Py_None ? 0 : PyUnicode_GET_LENGTH(uri);
    if (n > 0) {
        const Py_UCS1 *s = narrow(uri, &n);
        int found = s == NULL ? 1 : may_hold(s, n);
        if (found < 0)
            return -1;
        if (found) {
            if (!PyUnicode_IS_ASCII(uri))
                return 1;
            const Py_UCS1 *mark = memchr(s, '?', (size_t)n);
            Py_ssize_t path = mark == NULL ? n : mark - s;
            found = may_hold(s, path);
            if (found < 0)
                return -1;
            if (found) {
                PyObject *text = mark == NULL ? (Py_INCREF(uri), uri) : ascii_str(s, path);
                Py_INCREF(path_name);
                if (append_field(out, where_query, path_name, text, 0) < 0)
                    return -1;
            }
            if (mark != NULL) {
                int status = pair_fields(out, where_query, mark + 1, n - path - 1, 0);
                if (status != 0)
                    return status;
            }
        }
    }
    if (body == Py_None)
        return 0;
    const Py_UCS1 *b = (const Py_UCS1 *)PyBytes_AS_STRING(body);
    Py_ssize_t size = PyBytes_GET_SIZE(body);
    if (size == 0)
        return 0;
    int found = may_hold(b, size);
    if (found <= 0)
        return found;
    /* detector._is_form: the headers' kind alone (no body given to sniff for JSON). */
    int kind = body_kind(items, count, NULL, 0);
    if (kind == BODY_PYTHON)
        return 1;
    if (kind == BODY_FORM) {
        if (!bytes_ascii(b, size))
            return 1;
        return pair_fields(out, where_body, b, size, 1);
    }
    PyObject *text = PyUnicode_DecodeUTF8((const char *)b, size, "surrogateescape");
    Py_INCREF(body_name);
    return append_field(out, where_body, body_name, text, 0);
}

static PyObject *
canary_fields(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !PyTuple_Check(args[0]) ||
        (args[2] != Py_None && !PyUnicode_Check(args[2])) ||
        (args[3] != Py_None && !PyBytes_Check(args[3]))) {
        PyErr_SetString(PyExc_TypeError, "canary_fields(needles: tuple, headers, uri: str | None, "
                                         "body: bytes | None)");
        return NULL;
    }
    /* The headers first: made a list, an iterable may run Python code, which could
     * index other needles. */
    PyObject *fast = PySequence_Fast(args[1], "headers must be a sequence of (name, value)");
    if (fast == NULL)
        return NULL;
    if (index_needles(args[0]) < 0) {
        Py_DECREF(fast);
        return NULL;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(fast);
    PyObject **items = PySequence_Fast_ITEMS(fast);
    int python = 0;
    for (Py_ssize_t k = 0; k < count; k++) {
        if (!str_pair(items[k])) {
            Py_DECREF(fast);
            PyErr_SetString(PyExc_TypeError, "headers must be (name, value) pairs of str");
            return NULL;
        }
        if (!PyUnicode_IS_ASCII(PyTuple_GET_ITEM(items[k], 0)))
            python = 1;
    }
    PyObject *out = NULL;
    if (!python) {
        out = PyList_New(0);
        if (out != NULL) {
            int status = canary_fields_items(out, items, count, args[2], args[3]);
            if (status != 0)
                Py_CLEAR(out);
            python = status == 1;
        }
    }
    Py_DECREF(fast);
    if (python)
        Py_RETURN_NONE;
    return out;
}

/* json_may_matter(text, anchors) is detector._json_may_matter_py of the bytes text (a
 * parameter's JSON value): a bool, None where Python decides (a byte past 0x7f). */
static PyObject *
json_may_matter_of(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 2 || !PyBytes_Check(args[0]) || !PyTuple_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "json_may_matter(text: bytes, anchors: tuple)");
        return NULL;
    }
    if (index_anchors(args[1]) < 0)
        return NULL;
    const Py_UCS1 *b = (const Py_UCS1 *)PyBytes_AS_STRING(args[0]);
    Py_ssize_t n = PyBytes_GET_SIZE(args[0]);
    if (!bytes_ascii(b, n))
        Py_RETURN_NONE;
    int found = json_may_matter(b, n);
    if (found < 0)
        return NULL;
    return PyBool_FromLong(found);
}

/* The one argument of a call of worth or url_decoded: its str, or NULL with a
 * TypeError saying usage. */
static PyObject *
one_str(PyObject *const *args, Py_ssize_t nargs, const char *usage)
{
    if (nargs != 1 || !PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, usage);
        return NULL;
    }
    return args[0];
}

/* worth(text): detector._worth_param of an ASCII str (worth_param), where the Python
 * reference's regex searches of a long percent-encoded value cost more than the rest
 * of its reading. None for a str that is not ASCII: Python decides. */
static PyObject *
worth(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *text = one_str(args, nargs, "worth(text: str)");
    if (text == NULL)
        return NULL;
    if (!PyUnicode_IS_ASCII(text))
        Py_RETURN_NONE;
    return PyBool_FromLong(worth_param(PyUnicode_1BYTE_DATA(text), PyUnicode_GET_LENGTH(text)));
}

/* url_decoded(text): encodings.url_decode for an ASCII str, urllib.parse.unquote(text,
 * errors="surrogateescape"), whose loop in Python over the pieces between '%'s was a
 * sixth of detection on real cookies (percent-encoded JSON, hundreds of escapes a
 * value): every escape made its byte (unquote_bytes), then the bytes read as UTF-8,
 * undecodable ones as lone surrogates. None for a str that is not ASCII: Python
 * decodes it. */
static PyObject *
url_decoded(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *text = one_str(args, nargs, "url_decoded(text: str)");
    if (text == NULL)
        return NULL;
    if (!PyUnicode_IS_ASCII(text))
        Py_RETURN_NONE;
    const Py_UCS1 *s = PyUnicode_1BYTE_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (n == 0 || memchr(s, '%', (size_t)n) == NULL)
        return Py_NewRef(text);
    unsigned char small[512];
    unsigned char *out = n <= (Py_ssize_t)sizeof(small) ? small : PyMem_Malloc((size_t)n);
    if (out == NULL)
        return PyErr_NoMemory();
    Py_ssize_t m = unquote_bytes(s, n, out);
    PyObject *decoded = PyUnicode_DecodeUTF8((const char *)out, m, "surrogateescape");
    if (out != small)
        PyMem_Free(out);
    return decoded;
}

static PyMethodDef methods[] = {
    {"may_matter", (PyCFunction)(void (*)(void))may_matter, METH_FASTCALL,
     "may_matter(text, sep, anchors) -> bool | None: see IdentityDetector._may_matter_py."},
    {"request", (PyCFunction)(void (*)(void))request, METH_FASTCALL,
     "request(headers, kinds, anchors, uri, needles, body, plain) -> (kept, query, first, look) "
     "| None: "
     "see detector._request_py."},
    {"pick", (PyCFunction)(void (*)(void))pick, METH_FASTCALL,
     "pick(pairs, anchors, opens=True, plain=None) -> list[tuple[str, str]] | None: see "
     "detector._picked_py."},
    {"pick_query", (PyCFunction)(void (*)(void))pick_query, METH_FASTCALL,
     "pick_query(uri, anchors) -> list[tuple[str, str]] | None: pick of detector._query_pairs."},
    {"pick_cookies", (PyCFunction)(void (*)(void))pick_cookies, METH_FASTCALL,
     "pick_cookies(header, anchors) -> list[tuple[str, str]] | None: pick of "
     "detector._cookie_pairs."},
    {"json_may_matter", (PyCFunction)(void (*)(void))json_may_matter_of, METH_FASTCALL,
     "json_may_matter(text, anchors) -> bool | None: see detector._json_may_matter_py."},
    {"anchored", anchored, METH_VARARGS,
     "anchored(name, anchors) -> bool | None: see detector._anchored_py."},
    {"runs", runs, METH_VARARGS,
     "runs(text, min_len, keys, sizes, gate, decode_from) -> (hits, hexes) | None: see "
     "canary._runs_py."},
    {"needle_in", (PyCFunction)(void (*)(void))needle_in, METH_FASTCALL,
     "needle_in(needles, text) -> bool | None: see canary._needle_in_py."},
    {"needles", (PyCFunction)(void (*)(void))needles, METH_FASTCALL,
     "needles(needles, headers, body, uri) -> bool | None: see canary._needles_py."},
    {"worth", (PyCFunction)(void (*)(void))worth, METH_FASTCALL,
     "worth(text) -> bool | None: detector._worth_param of an ASCII str."},
    {"url_decoded", (PyCFunction)(void (*)(void))url_decoded, METH_FASTCALL,
     "url_decoded(text) -> str | None: encodings.url_decode of an ASCII str."},
    {"canary_fields", (PyCFunction)(void (*)(void))canary_fields, METH_FASTCALL,
     "canary_fields(needles, headers, uri, body) -> list[tuple[str, str, str, bool]] | None: "
     "see detector._canary_fields."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_idscan", "Whole-string tests of identity detection in C.", -1,
    methods,
};

PyMODINIT_FUNC
PyInit__idscan(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddIntConstant(m, "SKIP", KIND_SKIP) < 0 ||
        PyModule_AddIntConstant(m, "COOKIE", KIND_COOKIE) < 0 ||
        PyModule_AddIntConstant(m, "URL", KIND_URL) < 0 ||
        (where_header = PyUnicode_InternFromString("header")) == NULL ||
        (where_cookie = PyUnicode_InternFromString("cookie")) == NULL ||
        (where_query = PyUnicode_InternFromString("query")) == NULL ||
        (where_body = PyUnicode_InternFromString("body")) == NULL ||
        (path_name = PyUnicode_InternFromString("(path)")) == NULL ||
        (body_name = PyUnicode_InternFromString("(body)")) == NULL ||
        (form_kind = PyUnicode_InternFromString("form")) == NULL ||
        (json_kind = PyUnicode_InternFromString("json")) == NULL) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
