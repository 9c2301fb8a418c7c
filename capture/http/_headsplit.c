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
 * Built by pip install (see pyproject.toml); after an edit here, pip install -e .
 * again, or the tests go on running the old build (one of them says so).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

static inline int
blank(char c)
{
    return c == ' ' || c == '\t';
}

/* An ASCII str of n bytes at p (every byte already checked to be below 0x80). */
static inline PyObject *
ascii(const char *p, Py_ssize_t n)
{
    return PyUnicode_DecodeASCII(p, n, NULL);
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
    PyObject *name = ascii(p, colon - p);
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
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80 || (c == '\n' && (i == 0 || s[i - 1] != '\r')))
            goto other;
    }
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

static PyMethodDef methods[] = {
    {"split", split, METH_O,
     "split(block) -> (first_line, [(name, value), ...]) for a plain head, else None."},
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
