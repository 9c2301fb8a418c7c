/* capture.model.positional_new in C: a frozen slotted dataclass built from all its
 * fields by position, its slots filled directly.
 *
 * The reference is the Python twin in capture/model.py (read it first): it stores
 * the fields into a twin class of the same slots, whose plain slot stores are the
 * cheapest Python has, and turns the object into the class. Here maker(cls, names)
 * looks up, once, where each field's slot sits in the object (its member
 * descriptor's offset), and the maker it returns allocates an object of cls (as
 * object.__new__ does: tp_alloc) and stores each argument at its offset: what the
 * twin's stores do, without a Python frame or the class change (fields may be
 * given by name too, as to the twin). Used once or twice
 * per request of a log of millions (Request, Parsed, Record, RequestSeen).
 * tests/capture/test_model.py holds the two to the same objects.
 *
 * Built by pip install (see pyproject.toml); after an edit here, pip install -e .
 * again, or the tests go on running the old build (one of them says so).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyTypeObject *cls;
    PyObject *names; /* the fields, a tuple of str */
    Py_ssize_t n;
    Py_ssize_t *offsets;
} Maker;

static PyObject *
maker_call(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Maker *m = (Maker *)self;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    if (nargs + nkw != m->n) {
        PyErr_Format(PyExc_TypeError, "new_%s() takes %zd arguments (%zd given)",
                     m->cls->tp_name, m->n, nargs + nkw);
        return NULL;
    }
    PyObject *obj = m->cls->tp_alloc(m->cls, 0);
    if (obj == NULL)
        return NULL;
    for (Py_ssize_t k = 0; k < nargs; k++)
        *(PyObject **)((char *)obj + m->offsets[k]) = Py_NewRef(args[k]);
    /* Fields by name (as zeek.py passes them): each one of those not given by
     * position, once (then, the count being right, every field is given). */
    for (Py_ssize_t j = 0; j < nkw; j++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, j);
        Py_ssize_t k = nargs;
        for (; k < m->n; k++) {
            PyObject *name = PyTuple_GET_ITEM(m->names, k);
            if (name == key || PyUnicode_Compare(name, key) == 0)
                break;
        }
        PyObject **slot = (PyObject **)((char *)obj + m->offsets[k < m->n ? k : 0]);
        if (k == m->n || *slot != NULL) {
            Py_DECREF(obj);
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_TypeError, "new_%s() got an unexpected or repeated "
                             "argument %R", m->cls->tp_name, key);
            return NULL;
        }
        *slot = Py_NewRef(args[nargs + j]);
    }
    return obj;
}

static void
maker_dealloc(PyObject *self)
{
    Maker *m = (Maker *)self;
    Py_XDECREF(m->cls);
    Py_XDECREF(m->names);
    PyMem_Free(m->offsets);
    Py_TYPE(self)->tp_free(self);
}

static PyTypeObject MakerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "capture._positional.Maker",
    .tp_basicsize = sizeof(Maker),
    .tp_dealloc = maker_dealloc,
    .tp_vectorcall_offset = offsetof(Maker, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "Builds one class from all its fields by position (capture.model.positional_new).",
};

/* maker(cls, names): names are cls's slots, each a writable object slot defined by
 * cls itself; TypeError otherwise (then the Python twin is used). */
static PyObject *
maker(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyType_Check(args[0]) || !PyTuple_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "maker(cls, names) takes a class and a tuple");
        return NULL;
    }
    PyTypeObject *cls = (PyTypeObject *)args[0];
    PyObject *names = args[1];
    Py_ssize_t n = PyTuple_GET_SIZE(names);
    if (cls->tp_itemsize != 0 || cls->tp_alloc == NULL || cls->tp_dictoffset != 0) {
        PyErr_Format(PyExc_TypeError, "%s: not a class of slots only", cls->tp_name);
        return NULL;
    }
    Py_ssize_t *offsets = PyMem_Malloc((size_t)(n > 0 ? n : 1) * sizeof(Py_ssize_t));
    if (offsets == NULL)
        return PyErr_NoMemory();
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *name = PyTuple_GET_ITEM(names, k);
        PyObject *descr = PyUnicode_Check(name) ? PyDict_GetItemWithError(cls->tp_dict, name)
                                                : NULL;
        if (descr == NULL || !Py_IS_TYPE(descr, &PyMemberDescr_Type) ||
            PyDescr_TYPE(descr) != cls ||
            ((PyMemberDescrObject *)descr)->d_member->type != T_OBJECT_EX ||
            (((PyMemberDescrObject *)descr)->d_member->flags & READONLY)) {
            PyMem_Free(offsets);
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_TypeError, "%s.%R: not a slot of the class", cls->tp_name,
                             name);
            return NULL;
        }
        Py_ssize_t offset = ((PyMemberDescrObject *)descr)->d_member->offset;
        if (offset < (Py_ssize_t)sizeof(PyObject) ||
            offset + (Py_ssize_t)sizeof(PyObject *) > cls->tp_basicsize) {
            PyMem_Free(offsets);
            PyErr_Format(PyExc_TypeError, "%s.%R: a slot outside the object", cls->tp_name, name);
            return NULL;
        }
        offsets[k] = offset;
    }
    Maker *m = PyObject_New(Maker, &MakerType);
    if (m == NULL) {
        PyMem_Free(offsets);
        return NULL;
    }
    m->vectorcall = maker_call;
    m->cls = (PyTypeObject *)Py_NewRef(cls);
    m->names = Py_NewRef(names);
    m->n = n;
    m->offsets = offsets;
    return (PyObject *)m;
}

static PyMethodDef methods[] = {
    {"maker", (PyCFunction)(void (*)(void))maker, METH_FASTCALL,
     "maker(cls, names) -> a callable building cls from its slots' values by position."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "capture._positional",
    .m_doc = "capture.model.positional_new in C.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__positional(void)
{
    if (PyType_Ready(&MakerType) < 0)
        return NULL;
    return PyModule_Create(&module);
}
