/* A JSON array's elements as the values of a JSON object with given keys.
 *
 * This is capture.formats.jsonobject.object_from_array_py (the reference: read it first).
 * A JSONL line of a record is one JSON object of some fifteen keys; orjson writes the
 * same values as an array in 40% fewer instructions than as an object (it writes no
 * keys, and Python builds a list instead of a dict, hashing nothing), and this puts
 * the keys in: a tenth fewer instructions a line, all told. The array is orjson's
 * output, but it is read as if hostile: every index is bounds-checked, and anything
 * that is not a compact array of exactly as many elements as there are keys gives
 * None (the caller then writes the object the usual way).
 * tests/capture/formats/test_jsonobject.py holds this to the reference, on damaged
 * input too.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The end (exclusive) of the element starting at start, or -1 when it is not well
 * formed: an unterminated string, a closing bracket with none open, brackets still
 * open at the end, or an empty element. */
static Py_ssize_t
element_end(const char *s, Py_ssize_t start, Py_ssize_t end)
{
    Py_ssize_t at = start;
    Py_ssize_t depth = 0;
    while (at < end) {
        char c = s[at];
        if (c == '"') {
            /* The closing quote: the first one after an even run of backslashes (the
             * reference's scan, a backslash taking the byte after it along), found
             * with memchr, since most of a line is inside strings. */
            Py_ssize_t from = at + 1;
            for (;;) {
                const char *q = memchr(s + from, '"', (size_t)(end - from));
                if (q == NULL)
                    return -1;
                Py_ssize_t quote = q - s;
                Py_ssize_t run = quote;
                while (run > from && s[run - 1] == '\\')
                    run--;
                from = quote + 1;
                if (((quote - run) & 1) == 0)
                    break;
            }
            at = from - 1; /* the closing quote */
        }
        else if (c == '[' || c == '{')
            depth++;
        else if (c == ']' || c == '}') {
            if (depth == 0)
                return -1;
            depth--;
        }
        else if (c == ',' && depth == 0)
            break;
        at++;
    }
    if (at == start || depth != 0)
        return -1;
    return at;
}

static PyObject *
object_from_array(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyTuple_Check(args[0]) || !PyBytes_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "object_from_array(keys: tuple[bytes, ...], array: bytes)");
        return NULL;
    }
    PyObject *keys = args[0];
    Py_ssize_t nkeys = PyTuple_GET_SIZE(keys);
    Py_ssize_t total = 2; /* the braces */
    for (Py_ssize_t i = 0; i < nkeys; i++) {
        PyObject *key = PyTuple_GET_ITEM(keys, i);
        if (!PyBytes_Check(key)) {
            PyErr_SetString(PyExc_TypeError, "object_from_array: keys must be bytes");
            return NULL;
        }
        total += PyBytes_GET_SIZE(key) + 1 + (i ? 1 : 0); /* key, colon, comma */
    }
    const char *s = PyBytes_AS_STRING(args[1]);
    Py_ssize_t n = PyBytes_GET_SIZE(args[1]);
    if (n < 2 || s[0] != '[' || s[n - 1] != ']')
        Py_RETURN_NONE;
    Py_ssize_t end = n - 1;
    if (end == 1) {
        if (nkeys)
            Py_RETURN_NONE;
        return PyBytes_FromStringAndSize("{}", 2);
    }
    if (nkeys == 0)
        Py_RETURN_NONE;
    /* First pass: where each element ends (starts follow: one past the comma). */
    Py_ssize_t *ends = PyMem_Malloc((size_t)nkeys * sizeof(Py_ssize_t));
    if (ends == NULL)
        return PyErr_NoMemory();
    Py_ssize_t at = 1;
    Py_ssize_t count = 0;
    for (;;) {
        if (count >= nkeys)
            goto none;
        Py_ssize_t stop = element_end(s, at, end);
        if (stop < 0)
            goto none;
        ends[count++] = stop;
        total += stop - at;
        if (stop == end)
            break;
        at = stop + 1; /* past the comma */
    }
    if (count != nkeys)
        goto none;
    PyObject *out = PyBytes_FromStringAndSize(NULL, total);
    if (out == NULL) {
        PyMem_Free(ends);
        return NULL;
    }
    char *w = PyBytes_AS_STRING(out);
    *w++ = '{';
    at = 1;
    for (Py_ssize_t i = 0; i < nkeys; i++) {
        PyObject *key = PyTuple_GET_ITEM(keys, i);
        if (i)
            *w++ = ',';
        memcpy(w, PyBytes_AS_STRING(key), (size_t)PyBytes_GET_SIZE(key));
        w += PyBytes_GET_SIZE(key);
        *w++ = ':';
        memcpy(w, s + at, (size_t)(ends[i] - at));
        w += ends[i] - at;
        at = ends[i] + 1;
    }
    *w++ = '}';
    PyMem_Free(ends);
    return out;
none:
    PyMem_Free(ends);
    Py_RETURN_NONE;
}

/* Does s[i] start a sequence of capture.text._json_unsafe_bytes (the bytes of DEL, a C1
 * control, U+061C, U+2028-U+202E or U+2066-U+2069, or of a character that shows as
 * nothing: U+00AD, U+180E, U+200B-U+200F, U+2060-U+2064, U+FEFF) in UTF-8? s[i] >= 0x7f. */
static int
unsafe_at(const unsigned char *s, Py_ssize_t n, Py_ssize_t i)
{
    unsigned char c = s[i];
    if (c == 0x7f)
        return 1;
    if (i + 1 >= n)
        return 0;
    unsigned char d = s[i + 1];
    switch (c) {
    case 0xc2:
        return (d >= 0x80 && d <= 0x9f) || d == 0xad;
    case 0xd8:
        return d == 0x9c;
    case 0xe1:
        return i + 2 < n && d == 0xa0 && s[i + 2] == 0x8e;
    case 0xe2:
        if (i + 2 >= n)
            return 0;
        if (d == 0x80)
            return (s[i + 2] >= 0x8b && s[i + 2] <= 0x8f) || (s[i + 2] >= 0xa8 && s[i + 2] <= 0xae);
        if (d == 0x81)
            return (s[i + 2] >= 0xa0 && s[i + 2] <= 0xa4) || (s[i + 2] >= 0xa6 && s[i + 2] <= 0xa9);
        return 0;
    case 0xef:
        return i + 2 < n && d == 0xbb && s[i + 2] == 0xbf;
    default:
        return 0;
    }
}

/* json_unsafe_in(line): capture.formats.jsonobject.json_unsafe_in_py. A line with a
 * finding is not ASCII (the "·" of its detail): the pattern's own scan costs some 30
 * instructions a byte, and the six finds of capture.text._may_need_escapes 17,000 a
 * line of the ad and analytics mix; this looks at 16 bytes at a time for one of 0x7f
 * and above, then at each such byte. */
static PyObject *
json_unsafe_in(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 1 || !PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "json_unsafe_in(line: bytes)");
        return NULL;
    }
    const unsigned char *s = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    Py_ssize_t n = PyBytes_GET_SIZE(args[0]);
    Py_ssize_t i = 0;
#if defined(__SSE2__)
    const __m128i del = _mm_set1_epi8(0x7f);
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
        /* The top bit of each byte of 0x80 and above, and of DEL once compared. */
        unsigned mask = (unsigned)_mm_movemask_epi8(_mm_or_si128(v, _mm_cmpeq_epi8(v, del)));
        while (mask) {
            if (unsafe_at(s, n, i + __builtin_ctz(mask)))
                Py_RETURN_TRUE;
            mask &= mask - 1;
        }
    }
#endif
    for (; i < n; i++)
        if (s[i] >= 0x7f && unsafe_at(s, n, i))
            Py_RETURN_TRUE;
    Py_RETURN_FALSE;
}

static PyMethodDef methods[] = {
    {"json_unsafe_in", (PyCFunction)(void (*)(void))json_unsafe_in, METH_FASTCALL,
     "json_unsafe_in(line): does the pattern of capture.text's JSON escaping match in "
     "line?"},
    {"object_from_array", (PyCFunction)(void (*)(void))object_from_array, METH_FASTCALL,
     "object_from_array(keys, array): the JSON object of keys (each the JSON text of a "
     "string) and the elements of the compact JSON array, or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "capture.formats._jsonobject",
    .m_doc = "A JSON array's elements as an object's values (see _jsonobject.c).",
    .m_size = 0,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__jsonobject(void)
{
    return PyModule_Create(&module);
}
