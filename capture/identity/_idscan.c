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
 * All return None for text that is not ASCII (and runs for a percent-escape of a
 * byte past 0x7f), which the Python code then takes: Unicode case rules and UTF-8
 * decoding stay in one place. tests/capture/identity/test_idscan.py holds the two
 * ways to the same results.
 *
 * Built by pip install (see pyproject.toml); after an edit here, pip install -e .
 * again, or the tests go on running the old build.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

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

/* [A-Za-z0-9+/_-]: the characters of (URL-safe) base64 in _WRAPPED_VALUE. */
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

/* detector._WRAPPED_VALUE matched at the '=' at i:
 *   =\s*"?(?:(?:2[bB])?(?:3[0-9]){7}|[KMNO][A-Za-z0-9+/_-]{9,25}(?:=|%3[dD]){0,2}"?(?:[;&\s]|$))
 * Backtracking into \s* or "? cannot help (what follows them starts with neither a
 * space nor a quote), and the base64 run must be the whole run (the characters that
 * may follow it are not base64 characters), so one pass decides. */
static int
wrapped_at(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t i)
{
    Py_ssize_t p = i + 1;
    while (p < n && Py_UNICODE_ISSPACE(s[p]))
        p++;
    if (p < n && s[p] == '"')
        p++;
    if (p + 1 < n && s[p] == '2' && (s[p + 1] == 'b' || s[p + 1] == 'B') && seven_pairs(s, n, p + 2))
        return 1;
    if (seven_pairs(s, n, p))
        return 1;
    if (p < n && (s[p] == 'K' || s[p] == 'M' || s[p] == 'N' || s[p] == 'O')) {
        Py_ssize_t r = p + 1;
        while (r < n && is_b64(s[r]))
            r++;
        Py_ssize_t run = r - (p + 1);
        if (run < 9 || run > 25)
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

/* The value tests of _may_matter_py, on the whole text. */
static int
values_matter(const Py_UCS1 *s, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS1 c = s[i];
        switch (c) {
        case '@':
            return 1;
        case '%':
            /* _PCT_WRAPPED: %(?:25)?(?:2[bB]|40|3[0-9]) ("%25": encoded twice); and
             * "tel%3", "sip%3", "TEL%3". */
            for (Py_ssize_t k = i + 1; k <= i + 3 && k + 1 < n; k += 2) {
                Py_UCS1 a = s[k], b = s[k + 1];
                if ((a == '2' && (b == 'b' || b == 'B')) || (a == '4' && b == '0') ||
                    (a == '3' && is_digit(b)))
                    return 1;
                if (a != '2' || b != '5')
                    break;
            }
            if (i + 1 < n && s[i + 1] == '3' &&
                (before(s, i, "tel", 3, 0) || before(s, i, "sip", 3, 0) ||
                 (i >= 3 && memcmp(s + i - 3, "TEL", 3) == 0)))
                return 1;
            break;
        case '+':
            if (i + 1 < n && is_digit(s[i + 1]))
                return 1;
            break;
        case ':':
            /* _URI_SCHEME: (?i:tel|sips?): */
            if (before(s, i, "tel", 3, 1) || before(s, i, "sip", 3, 1) || before(s, i, "sips", 4, 1))
                return 1;
            break;
        case '=':
            if (wrapped_at(s, n, i))
                return 1;
            break;
        default:
            break;
        }
    }
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
static int empty_word;

static int
index_anchors(PyObject *anchors)
{
    if (anchors == indexed)
        return 0;
    Py_ssize_t count = PyTuple_GET_SIZE(anchors);
    word *sorted = PyMem_Malloc(sizeof(word) * (size_t)(count ? count : 1));
    if (sorted == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t per_first[256] = {0};
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *anchor = PyTuple_GET_ITEM(anchors, k);
        if (!PyUnicode_Check(anchor)) {
            PyMem_Free(sorted);
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
    empty_word = 0;
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
        sorted[fill[p[0]]++] = (word){p, n};
        if (n == 1) {
            singles[p[0]] = 1;
        } else {
            unsigned pair = (unsigned)p[0] << 8 | p[1];
            bigrams[pair >> 3] |= (unsigned char)(1u << (pair & 7));
        }
    }
    PyMem_Free(words);
    words = sorted;
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

static PyObject *
may_matter(PyObject *self, PyObject *args)
{
    PyObject *text, *anchors;
    int sep;
    if (!PyArg_ParseTuple(args, "UCO!", &text, &sep, &PyTuple_Type, &anchors))
        return NULL;
    if (index_anchors(anchors) < 0)
        return NULL;
    if (!PyUnicode_IS_ASCII(text) || sep > 0x7f)
        Py_RETURN_NONE;
    const Py_UCS1 *s = PyUnicode_1BYTE_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (values_matter(s, n))
        Py_RETURN_TRUE;

    /* The names: the text with "=[^sep]*" cut out, lower-cased, and each run of 6 or
     * more hex digits made one '-' (_HEX_RUN.sub("-", names.lower())). */
    Py_UCS1 small[1024];
    Py_UCS1 *names = n <= (Py_ssize_t)sizeof(small) ? small : PyMem_Malloc((size_t)n);
    if (names == NULL)
        return PyErr_NoMemory();
    Py_ssize_t m = 0, run = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS1 c = s[i];
        if (c == '=') {
            while (i + 1 < n && s[i + 1] != (Py_UCS1)sep)
                i++;
            continue;
        }
        c = lower(c);
        names[m++] = c;
        if (hex_value(c) >= 0) {
            run++;
        } else {
            if (run >= 6) {
                /* The run sits just before c: make it one '-'. */
                m -= run + 1;
                names[m++] = '-';
                names[m++] = c;
            }
            run = 0;
        }
    }
    if (run >= 6) {
        m -= run;
        names[m++] = '-';
    }

    int found = has_anchor(names, m);
    if (names != small)
        PyMem_Free(names);
    return PyBool_FromLong(found);
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

/* urllib.parse.unquote of ASCII s[0..n) into out (n bytes at least): "%XX" (either
 * case) is the byte XX; a '%' without two hex digits stays. The length written, or
 * -1 for an escape of a byte past 0x7f (Python's to decode). */
static Py_ssize_t
unquote(const Py_UCS1 *s, Py_ssize_t n, Py_UCS1 *out)
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
            out[m++] = s[i];
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
        m = unquote(s + decode_from, n - decode_from, decoded);
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

static PyMethodDef methods[] = {
    {"may_matter", may_matter, METH_VARARGS,
     "may_matter(text, sep, anchors) -> bool | None: see IdentityDetector._may_matter_py."},
    {"anchored", anchored, METH_VARARGS,
     "anchored(name, anchors) -> bool | None: see detector._anchored_py."},
    {"runs", runs, METH_VARARGS,
     "runs(text, min_len, keys, sizes, gate, decode_from) -> (hits, hexes) | None: see "
     "canary._runs_py."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_idscan", "Whole-string tests of identity detection in C.", -1,
    methods,
};

PyMODINIT_FUNC
PyInit__idscan(void)
{
    return PyModule_Create(&module);
}
