/* The common HTTP head split into its first line and headers, in C.
 *
 * This is the fast path of capture.http.http1._split_head (the reference: read it
 * first), for the head nearly every client sends: ASCII, CRLF line ends, every
 * header line "name: value" with no space around the name. split(block) returns
 * (first_line, [(name, value), ...]) for such a head and None for any other,
 * which the Python code then takes (and names what is odd about it). Values are
 * stripped of spaces and tabs only, as in Python. ASCII only, so that where the
 * bytes are cut and how text is decoded cannot differ from the Python path.
 * tests/capture/http/test_headsplit.py holds the two to the same results.
 *
 * request(data, head_type) does a client's whole head in one call: where the head
 * ends, the split, the request line, and which framing headers it names, for the
 * plain head whose request line is "METHOD TARGET HTTP/..." (the reference is
 * capture.http.http1.plain_request; the same test file holds the two together).
 *
 * Every length and index below stays inside the buffer it reads: the input is
 * whatever the network carried.
 *
 * Built by pip install (see pyproject.toml); after an edit here, pip install -e .
 * again, or the tests go on running the old build (one of them says so).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static inline int
blank(char c)
{
    return c == ' ' || c == '\t';
}

/* An ASCII str of n bytes at p (every byte already checked to be below 0x80):
 * made and copied, not decoded (decoding would look at every byte again). */
static inline PyObject *
ascii(const char *p, Py_ssize_t n)
{
    PyObject *text = PyUnicode_New(n, 127);
    if (text != NULL && n > 0)
        memcpy(PyUnicode_1BYTE_DATA(text), p, (size_t)n);
    return text;
}

/* Whether every byte of s[0..n) is below 0x80 (eight at a time). */
static int
all_ascii(const char *s, Py_ssize_t n)
{
    uint64_t seen = 0;
    Py_ssize_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t word;
        memcpy(&word, s + i, 8);
        seen |= word;
    }
    for (; i < n; i++)
        seen |= (unsigned char)s[i];
    return (seen & 0x8080808080808080ULL) == 0;
}

/* Whether every LF of s[0..n) ends a CRLF. */
static int
crlf_only(const char *s, Py_ssize_t n)
{
    const char *p = s, *end = s + n;
    while (p < end) {
        const char *lf = memchr(p, '\n', (size_t)(end - p));
        if (lf == NULL)
            return 1;
        if (lf == s || lf[-1] != '\r')
            return 0;
        p = lf + 1;
    }
    return 1;
}

/* Header names, kept as str: a line that changes from request to request (a Cookie
 * or Referer header) misses the line cache below, but its name is one of a few. Kept,
 * the same str comes back each time: no allocation, and its hash, computed once, is
 * kept in it (identity detection looks every name up in a dict: a new str was hashed
 * each time, a third of those lookups' cost). Direct-mapped and bounded like the line
 * cache: a name that is long or hashes to a slot another holds is made anew. A str
 * is immutable, and one kept here is never handed out alone (refcount 1), so nothing
 * changes it in place. */
#define NAME_SLOTS 128
#define NAME_MAX 32

static PyObject *names[NAME_SLOTS];

/* The str of the name of n bytes at p (ASCII): kept, or made. */
static PyObject *
name_str(const char *p, Py_ssize_t n)
{
    if (n < 4 || n > NAME_MAX)
        return ascii(p, n);
    /* From the length and the first and last four bytes: a few instructions. */
    uint32_t head, tail;
    memcpy(&head, p, 4);
    memcpy(&tail, p + n - 4, 4);
    uint32_t h = (head * 0x9E3779B1u) ^ (tail * 0x85EBCA6Bu) ^ (uint32_t)n * 0xC2B2AE35u;
    size_t slot = (h >> 16) % NAME_SLOTS;
    PyObject *kept = names[slot];
    if (kept != NULL && PyUnicode_GET_LENGTH(kept) == n &&
        memcmp(PyUnicode_1BYTE_DATA(kept), p, (size_t)n) == 0)
        return Py_NewRef(kept);
    PyObject *name = ascii(p, n);
    if (name != NULL)
        Py_XSETREF(names[slot], Py_NewRef(name));
    return name;
}

/* One "name: value" line: a new (name, value) tuple, NULL with nothing set for a
 * line the fast path does not take, NULL with an error set on failure. */
static PyObject *
header(const char *p, Py_ssize_t n)
{
    const char *colon = memchr(p, ':', (size_t)n);
    if (colon == NULL || colon == p || blank(p[0]) || blank(colon[-1]))
        return NULL;
    const char *v = colon + 1, *end = p + n;
    while (v < end && blank(*v))
        v++;
    while (end > v && blank(end[-1]))
        end--;
    PyObject *name = name_str(p, colon - p);
    if (name == NULL)
        return NULL;
    PyObject *value = ascii(v, end - v);
    if (value == NULL) {
        Py_DECREF(name);
        return NULL;
    }
    PyObject *pair = PyTuple_New(2);
    if (pair == NULL) {
        Py_DECREF(name);
        Py_DECREF(value);
        return NULL;
    }
    PyTuple_SET_ITEM(pair, 0, name);
    PyTuple_SET_ITEM(pair, 1, value);
    return pair;
}

static PyObject *
split(PyObject *Py_UNUSED(module), PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const char *s = view.buf;
    Py_ssize_t n = view.len;
    PyObject *result = NULL, *first = NULL, *headers = NULL;
    /* ASCII, and every LF the end of a CRLF. */
    if (!all_ascii(s, n) || !crlf_only(s, n))
        goto other;
    /* Drop the empty lines at the end ("...\r\n\r\n" ends a head): in
     * Python, empty items popped off the end of text.split("\r\n"). */
    Py_ssize_t end = n;
    while (end >= 2 && s[end - 2] == '\r' && s[end - 1] == '\n')
        end -= 2;
    const char *line_end = memchr(s, '\n', (size_t)end);
    Py_ssize_t first_len = line_end == NULL ? end : line_end - 1 - s;
    first = ascii(s, first_len);
    headers = PyList_New(0);
    if (first == NULL || headers == NULL)
        goto done;
    Py_ssize_t pos = line_end == NULL ? end : line_end + 1 - s;
    while (pos < end) {
        const char *p = s + pos;
        const char *lf = memchr(p, '\n', (size_t)(end - pos));
        Py_ssize_t len = lf == NULL ? end - pos : lf - 1 - p;
        PyObject *pair = header(p, len);
        if (pair == NULL) {
            if (PyErr_Occurred())
                goto done;
            goto other;
        }
        int rc = PyList_Append(headers, pair);
        Py_DECREF(pair);
        if (rc < 0)
            goto done;
        pos = lf == NULL ? end : lf + 1 - s;
    }
    result = PyTuple_Pack(2, first, headers);
    goto done;
other:
    result = Py_NewRef(Py_None);
done:
    Py_XDECREF(first);
    Py_XDECREF(headers);
    PyBuffer_Release(&view);
    return result;
}

/* Clients repeat most header lines request after request (User-Agent, Accept, ...):
 * request() looks a line up here before splitting it, and keeps what it split (the
 * pair, and the line as the key). Direct-mapped and bounded: a line that does not
 * fit, or hashes to a slot another line holds, is split as if there were no cache.
 * The pairs are immutable, so sharing one between requests is invisible. */
#define CACHE_SLOTS 512
#define CACHE_LINE_MAX 256

static struct {
    PyObject *line; /* bytes */
    PyObject *pair; /* (name, value) */
} cache[CACHE_SLOTS];

/* A slot for the n bytes at p (n <= CACHE_LINE_MAX): from the length and the bytes
 * at both ends, so that it costs the same for any line. */
static size_t
cache_slot(const char *p, Py_ssize_t n)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)n;
    Py_ssize_t edge = n < 16 ? n : 16;
    for (Py_ssize_t i = 0; i < edge; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    for (Py_ssize_t i = n - edge; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return (size_t)(h >> 32) % CACHE_SLOTS;
}

/* header(p, n), looked up in the cache first and kept there after. */
static PyObject *
cached_header(const char *p, Py_ssize_t n)
{
    if (n > CACHE_LINE_MAX) {
        PyObject *pair = header(p, n);
        if (pair != NULL)
            PyObject_GC_UnTrack(pair); /* two strings cannot be part of a cycle */
        return pair;
    }
    size_t slot = cache_slot(p, n);
    PyObject *line = cache[slot].line;
    if (line != NULL && PyBytes_GET_SIZE(line) == n && memcmp(PyBytes_AS_STRING(line), p, (size_t)n) == 0)
        return Py_NewRef(cache[slot].pair);
    PyObject *pair = header(p, n);
    if (pair == NULL)
        return NULL;
    PyObject_GC_UnTrack(pair);
    line = PyBytes_FromStringAndSize(p, n);
    if (line == NULL) {
        Py_DECREF(pair);
        return NULL;
    }
    Py_XSETREF(cache[slot].line, line);
    Py_XSETREF(cache[slot].pair, Py_NewRef(pair));
    return pair;
}

/* RFC 9110 5.6.2: tchar, the characters of a token (a method). */
static int
tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
token(const char *p, Py_ssize_t n)
{
    if (n == 0)
        return 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (!tchar((unsigned char)p[i]))
            return 0;
    return 1;
}

/* Whether the n bytes at p are `lower` (a lower-case ASCII name) in any case. */
static int
named(const char *p, Py_ssize_t n, const char *lower)
{
    if ((size_t)n != strlen(lower))
        return 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        char c = p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + ('a' - 'A'));
        if (c != lower[i])
            return 0;
    }
    return 1;
}

/* The framing headers request() names (capture.http.http1.CONTENT_LENGTH, ...). */
enum { CONTENT_LENGTH = 1, TRANSFER_ENCODING = 2, UPGRADE = 4 };

static int
framing_flag(const char *name, Py_ssize_t n)
{
    switch (n) {
    case 14:
        return named(name, n, "content-length") ? CONTENT_LENGTH : 0;
    case 17:
        return named(name, n, "transfer-encoding") ? TRANSFER_ENCODING : 0;
    case 7:
        return named(name, n, "upgrade") ? UPGRADE : 0;
    default:
        return 0;
    }
}

/* request(data, head_type): (end, head, flags, length) for a plain request head at the
 * start of data, None for any other (or none complete yet). end: just past the empty
 * line that ends the head; head: a head_type (RequestHead) of method, target, version,
 * ((name, value), ...) and no anomalies; flags: which of Content-Length,
 * Transfer-Encoding and Upgrade the header names are, in any case; length: the body's
 * length where the head names one Content-Length, of 1 to 18 digits, and no
 * Transfer-Encoding (what request_framing reads then, without its walk), else -1. Plain: ASCII up
 * to end, every LF of it the end of a CRLF, a request line "METHOD TARGET HTTP/..."
 * (a token, a target that may be empty or hold spaces, a version of printable
 * characters), and every header line "name: value" as split() takes it. */
static PyObject *
request(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "request(data, head_type) takes 2 arguments");
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)args[1];
    if (!PyType_Check(args[1]) || !PyType_IsSubtype(type, &PyTuple_Type) ||
        type->tp_basicsize != PyTuple_Type.tp_basicsize ||
        type->tp_itemsize != PyTuple_Type.tp_itemsize) {
        PyErr_SetString(PyExc_TypeError, "head_type must be a plain tuple subclass");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const char *s = view.buf;
    Py_ssize_t n = view.len;
    PyObject *result = NULL, *method = NULL, *target = NULL, *version = NULL;
    PyObject *headers = NULL, *head = NULL;
    int flags = 0, lengths = 0;
    PyObject *length_value = NULL; /* borrowed: the Content-Length's, from headers */

    /* The end of the head: the first LF followed by CRLF, every LF before it (and
     * it) the end of a CRLF. A bare LF or no end yet: the Python path decides. */
    Py_ssize_t end = -1;
    for (const char *p = s, *stop = s + n; p < stop;) {
        const char *lf = memchr(p, '\n', (size_t)(stop - p));
        if (lf == NULL || lf == s || lf[-1] != '\r')
            goto other;
        if (stop - lf >= 3 && lf[1] == '\r' && lf[2] == '\n') {
            end = lf + 3 - s;
            break;
        }
        p = lf + 1;
    }
    if (end < 0 || !all_ascii(s, end))
        goto other;
    /* Without the CRLFs that end it, as split() cuts it. */
    Py_ssize_t stop = end;
    while (stop >= 2 && s[stop - 2] == '\r' && s[stop - 1] == '\n')
        stop -= 2;

    /* The request line: METHOD SP TARGET SP VERSION. */
    const char *first_lf = memchr(s, '\n', (size_t)stop);
    Py_ssize_t line_len = first_lf == NULL ? stop : first_lf - 1 - s;
    const char *sp = memchr(s, ' ', (size_t)line_len);
    if (sp == NULL || !token(s, sp - s))
        goto other;
    const char *last = s + line_len - 1;
    while (last > sp && *last != ' ')
        last--;
    if (last == sp)
        goto other; /* one space: no target, or no version (Python names which) */
    const char *v = last + 1;
    Py_ssize_t v_len = s + line_len - v;
    if (v_len < 5 || memcmp(v, "HTTP/", 5) != 0)
        goto other;
    for (Py_ssize_t i = 5; i < v_len; i++)
        if (v[i] <= ' ' || v[i] >= 0x7f)
            goto other;

    /* How many header lines: one per CRLF after the request line, and the last. */
    Py_ssize_t pos = first_lf == NULL ? stop : first_lf + 1 - s;
    Py_ssize_t count = 0;
    for (Py_ssize_t at = pos; at < stop;) {
        const char *lf = memchr(s + at, '\n', (size_t)(stop - at));
        count++;
        at = lf == NULL ? stop : lf + 1 - s;
    }
    headers = PyTuple_New(count);
    if (headers == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < count; i++) {
        const char *p = s + pos;
        const char *lf = memchr(p, '\n', (size_t)(stop - pos));
        Py_ssize_t len = lf == NULL ? stop - pos : lf - 1 - p;
        PyObject *pair = cached_header(p, len);
        if (pair == NULL) {
            if (PyErr_Occurred())
                goto done;
            goto other;
        }
        int flag = framing_flag(p, PyUnicode_GET_LENGTH(PyTuple_GET_ITEM(pair, 0)));
        if (flag == CONTENT_LENGTH) {
            lengths++;
            length_value = PyTuple_GET_ITEM(pair, 1);
        }
        flags |= flag;
        PyTuple_SET_ITEM(headers, i, pair);
        pos = lf == NULL ? stop : lf + 1 - s;
    }
    PyObject_GC_UnTrack(headers);
    long long length = -1;
    if (lengths == 1 && !(flags & TRANSFER_ENCODING)) {
        /* ASCII, as all of the head: 18 digits stay below 2**63. */
        const Py_UCS1 *d = PyUnicode_1BYTE_DATA(length_value);
        Py_ssize_t digits = PyUnicode_GET_LENGTH(length_value);
        if (digits >= 1 && digits <= 18) {
            length = 0;
            for (Py_ssize_t i = 0; i < digits && length >= 0; i++)
                length = d[i] >= '0' && d[i] <= '9' ? length * 10 + (d[i] - '0') : -1;
        }
    }

    method = ascii(s, sp - s);
    target = ascii(sp + 1, last - sp - 1);
    version = ascii(v, v_len);
    if (method == NULL || target == NULL || version == NULL)
        goto done;
    head = type->tp_alloc(type, 5);
    if (head == NULL)
        goto done;
    PyTuple_SET_ITEM(head, 0, method);
    PyTuple_SET_ITEM(head, 1, target);
    PyTuple_SET_ITEM(head, 2, version);
    PyTuple_SET_ITEM(head, 3, headers);
    PyTuple_SET_ITEM(head, 4, PyTuple_New(0));
    method = target = version = headers = NULL; /* the head holds them */
    if (PyTuple_GET_ITEM(head, 4) == NULL)
        goto done;
    result = PyTuple_New(4);
    PyObject *at = PyLong_FromSsize_t(end), *named = PyLong_FromLong(flags);
    PyObject *body = PyLong_FromLongLong(length);
    if (result == NULL || at == NULL || named == NULL || body == NULL) {
        Py_CLEAR(result);
        Py_XDECREF(at);
        Py_XDECREF(named);
        Py_XDECREF(body);
        goto done;
    }
    PyTuple_SET_ITEM(result, 0, at);
    PyTuple_SET_ITEM(result, 1, head);
    PyTuple_SET_ITEM(result, 2, named);
    PyTuple_SET_ITEM(result, 3, body);
    head = NULL; /* the result holds it */
    goto done;
other:
    result = Py_NewRef(Py_None);
done:
    Py_XDECREF(method);
    Py_XDECREF(target);
    Py_XDECREF(version);
    Py_XDECREF(headers);
    Py_XDECREF(head);
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef methods[] = {
    {"split", split, METH_O,
     "split(block) -> (first_line, [(name, value), ...]) for a plain head, else None."},
    {"request", (PyCFunction)(void (*)(void))request, METH_FASTCALL,
     "request(data, head_type) -> (end, head, flags, length) for a plain request head, else None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "capture.http._headsplit",
    .m_doc = "The common HTTP head split, in C (see capture/http/http1.py).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__headsplit(void)
{
    return PyModule_Create(&module);
}
