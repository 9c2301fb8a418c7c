/* A split scan's lines merged in order, each record renumbered.
 *
 * This is capture.linemerge.merge_lines_py (the reference: read it first). The parent
 * of a split scan took some 9,000 instructions a line to merge its processes' lines in
 * Python (heapq.merge, a slice and a formatted id each), on a machine where it competes
 * with those processes for the CPUs; here a line is a memchr, a comparison or two, a
 * short search from its end and two copies. The lines come from our own processes but
 * are read as if hostile (a process may die mid-line): every index is bounds-checked,
 * and what the reference raises on a damaged line, this raises too.
 * tests/capture/test_linemerge.py holds this to the reference, on damaged input too.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define KEY 47          /* capture.linemerge.KEY */
#define ID_DIGITS 16    /* capture.linemerge.ID_DIGITS */
#define SKIPPED '-'     /* capture.linemerge.SKIPPED[0] */
#define TRAILER '~'     /* capture.linemerge.TRAILER */
#define MAX_ID 1000000000000000000LL /* capture.linemerge.MAX_ID */
static const char ID_KEY[] = ",\"id\":"; /* capture.formats.jsonl.ID_KEY */
#define ID_KEY_LEN ((Py_ssize_t)(sizeof(ID_KEY) - 1))

typedef struct {
    const char *s;    /* the part's bytes (a reference is held in parts) */
    Py_ssize_t len;
    Py_ssize_t start; /* its next line starts here */
    Py_ssize_t end;   /* ... and ends here (exclusive); start when none is left, -1
                       * when none is whole and the process has not ended */
    int ended;
} Source;

/* The next line of src, from src->start (the reference's _head). */
static void
find_head(Source *src)
{
    Py_ssize_t left = src->len - src->start;
    if (left <= 0) {
        src->end = src->ended ? src->start : -1;
        return;
    }
    const char *nl = memchr(src->s + src->start, '\n', (size_t)left);
    if (nl != NULL)
        src->end = (nl - src->s) + 1;
    else
        src->end = src->ended ? src->len : -1;
}

/* a's line < b's line, as bytes compare (the shorter first on a common prefix). */
static int
line_less(const Source *a, const Source *b)
{
    Py_ssize_t la = a->end - a->start, lb = b->end - b->start;
    int c = memcmp(a->s + a->start, b->s + b->start, (size_t)(la < lb ? la : lb));
    return c < 0 || (c == 0 && la < lb);
}

/* Where the last ID_KEY in line[0:n] starts, or -1 (bytes.rindex's answer). */
static Py_ssize_t
rfind_id(const char *line, Py_ssize_t n)
{
    for (Py_ssize_t at = n - ID_KEY_LEN; at >= 0; at--) {
        if (line[at] == ',' && memcmp(line + at, ID_KEY, (size_t)ID_KEY_LEN) == 0)
            return at;
    }
    return -1;
}

static PyObject *
merge_lines(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5 || !PyList_Check(args[0]) || !PyList_Check(args[1]) ||
        !PyList_Check(args[2]) || !PyList_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError,
                        "merge_lines(parts: list[bytes], starts: list[int], "
                        "ended: list[bool], record_id: int, trailers: list[bytes])");
        return NULL;
    }
    PyObject *parts_list = args[0], *starts = args[1], *ended = args[2];
    PyObject *trailers = args[4];
    Py_ssize_t count = PyList_GET_SIZE(parts_list);
    if (PyList_GET_SIZE(starts) != count || PyList_GET_SIZE(ended) != count) {
        PyErr_SetString(PyExc_ValueError,
                        "merge_lines: parts, starts and ended differ in length");
        return NULL;
    }
    long long record_id = PyLong_AsLongLong(args[3]);
    if (record_id == -1 && PyErr_Occurred())
        return NULL;
    if (record_id < 0 || record_id >= MAX_ID) {
        PyErr_SetString(PyExc_OverflowError, "merge_lines: record id out of range");
        return NULL;
    }
    /* References to the parts, held while their bytes are read: nothing here runs
     * Python code, but an allocation may collect garbage, and a finalizer could. */
    PyObject **parts = PyMem_Calloc((size_t)(count ? count : 1), sizeof(PyObject *));
    Source *src = PyMem_Calloc((size_t)(count ? count : 1), sizeof(Source));
    PyObject *out = NULL;
    if (parts == NULL || src == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    Py_ssize_t bound = 0; /* what is left of all parts: no line grows (see below) */
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *part = PyList_GET_ITEM(parts_list, i);
        if (!PyBytes_Check(part)) {
            PyErr_SetString(PyExc_TypeError, "merge_lines: parts must be bytes");
            goto fail;
        }
        Py_INCREF(part);
        parts[i] = part;
        Source *one = &src[i];
        one->s = PyBytes_AS_STRING(part);
        one->len = PyBytes_GET_SIZE(part);
        one->start = PyLong_AsSsize_t(PyList_GET_ITEM(starts, i));
        if (one->start == -1 && PyErr_Occurred())
            goto fail;
        if (one->start < 0 || one->start > one->len) {
            PyErr_SetString(PyExc_ValueError, "merge_lines: start out of range");
            goto fail;
        }
        /* bool only: a __bool__ of ours to call could change the lists being read */
        PyObject *is_ended = PyList_GET_ITEM(ended, i);
        if (is_ended != Py_True && is_ended != Py_False) {
            PyErr_SetString(PyExc_TypeError, "merge_lines: ended must be bools");
            goto fail;
        }
        one->ended = is_ended == Py_True;
        bound += one->len - one->start;
    }
    for (Py_ssize_t i = 0; i < count; i++)
        find_head(&src[i]);

    /* A record line of n bytes (n > KEY) is written as at most n - KEY bytes of its
     * own and an id of at most 19 digits (record_id < MAX_ID plus at most one a byte
     * merged, far from 2**63): fewer than n. So the rest of all parts bounds the
     * output; every copy is checked against it all the same. */
    out = PyBytes_FromStringAndSize(NULL, bound);
    if (out == NULL)
        goto fail;
    char *w = PyBytes_AS_STRING(out);
    const char *limit = w + bound;
    Py_ssize_t stalled;
    for (;;) {
        Py_ssize_t best = -1;
        stalled = -2;
        for (Py_ssize_t i = 0; i < count; i++) {
            if (src[i].end < 0) {
                stalled = i;
                break;
            }
            if (src[i].end == src[i].start)
                continue;
            if (best < 0 || line_less(&src[i], &src[best]))
                best = i;
        }
        if (stalled >= 0)
            break;
        if (best < 0) {
            stalled = -1;
            break;
        }
        Source *from = &src[best];
        const char *line = from->s + from->start;
        Py_ssize_t n = from->end - from->start; /* > 0 */
        from->start = from->end;
        find_head(from);
        if (line[0] == TRAILER) {
            PyObject *trailer = PyBytes_FromStringAndSize(line + 1, n - 1);
            if (trailer == NULL)
                goto fail;
            int appended = PyList_Append(trailers, trailer);
            Py_DECREF(trailer);
            if (appended < 0)
                goto fail;
            continue;
        }
        record_id++;
        if (n <= KEY) {
            PyErr_SetString(PyExc_IndexError, "index out of range");
            goto fail;
        }
        if (line[KEY] == SKIPPED)
            continue;
        Py_ssize_t at = rfind_id(line, n);
        if (at < 0) {
            PyErr_SetString(PyExc_ValueError, "subsection not found");
            goto fail;
        }
        /* line[KEY:cut] + the id + line[cut + ID_DIGITS:], slices as Python's */
        Py_ssize_t cut = at + ID_KEY_LEN;
        char digits[24];
        Py_ssize_t ndigits = 0;
        for (long long v = record_id; v > 0 || ndigits == 0; v /= 10)
            digits[ndigits++] = (char)('0' + v % 10);
        Py_ssize_t head = cut > KEY ? cut - KEY : 0;
        Py_ssize_t tail = cut + ID_DIGITS < n ? n - (cut + ID_DIGITS) : 0;
        if (head + ndigits + tail > limit - w) {
            PyErr_SetString(PyExc_SystemError, "merge_lines: output bound exceeded");
            goto fail;
        }
        memcpy(w, line + KEY, (size_t)head);
        w += head;
        while (ndigits > 0)
            *w++ = digits[--ndigits];
        memcpy(w, line + n - tail, (size_t)tail);
        w += tail;
    }
    if (_PyBytes_Resize(&out, w - PyBytes_AS_STRING(out)) < 0) {
        out = NULL; /* freed by _PyBytes_Resize */
        goto fail;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *start = PyLong_FromSsize_t(src[i].start);
        if (start == NULL)
            goto fail;
        if (PyList_SetItem(starts, i, start) < 0) /* steals start */
            goto fail;
    }
    for (Py_ssize_t i = 0; i < count; i++)
        Py_XDECREF(parts[i]);
    PyMem_Free(parts);
    PyMem_Free(src);
    return Py_BuildValue("(NLn)", out, record_id, stalled);
fail:
    Py_XDECREF(out);
    if (parts != NULL) {
        for (Py_ssize_t i = 0; i < count; i++)
            Py_XDECREF(parts[i]);
    }
    PyMem_Free(parts);
    PyMem_Free(src);
    return NULL;
}

static PyMethodDef methods[] = {
    {"merge_lines", (PyCFunction)(void (*)(void))merge_lines, METH_FASTCALL,
     "merge_lines(parts, starts, ended, record_id, trailers): merge the processes' "
     "lines while each has a whole one; (output, last id, process to read or -1)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "capture._linemerge",
    .m_doc = "A split scan's lines merged in order, renumbered (see _linemerge.c).",
    .m_size = 0,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__linemerge(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    PyObject *id_key = PyBytes_FromStringAndSize(ID_KEY, ID_KEY_LEN);
    if (id_key == NULL || PyModule_AddIntConstant(m, "KEY", KEY) < 0 ||
        PyModule_AddIntConstant(m, "ID_DIGITS", ID_DIGITS) < 0 ||
        PyModule_AddIntConstant(m, "TRAILER", TRAILER) < 0 ||
        PyModule_AddIntConstant(m, "SKIPPED", SKIPPED) < 0 ||
        PyModule_AddObjectRef(m, "ID_KEY", id_key) < 0) {
        Py_XDECREF(id_key);
        Py_DECREF(m);
        return NULL;
    }
    Py_DECREF(id_key);
    return m;
}
