/* Frozen records built from their fields by position, in C.
 *
 * capture.model.positional_new(cls) (the reference: read it first) returns a function
 * that builds a cls, a frozen dataclass with slots, from all its fields by position:
 * in Python, by storing them into a twin class and changing the object's class. This
 * is the same in one C call: Builder(cls, names) checks once that cls is such a class
 * (its own slots are exactly `names`, each an object slot, no base with slots, no
 * __dict__), and keeps each name's slot offset; calling it with len(names) values
 * allocates a cls and stores each value in its slot, in names' order (or by name,
 * given as keywords). Nothing else runs (no __init__, no __setattr__), as with the
 * twin. tests/capture/test_model.py
 * holds the two to equal objects.
 *
 * Built by pip install (see pyproject.toml); after an edit here, pip install -e .
 * again, or the tests go on running the old build (one of them says so).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

typedef struct {
    PyObject_HEAD
    PyTypeObject *cls;
    PyObject *names; /* the fields, in order (a tuple of str) */
    Py_ssize_t count;
    Py_ssize_t *offsets; /* of each field's slot, in field order */
    vectorcallfunc vectorcall;
} Builder;

static void
builder_dealloc(Builder *self)
{
    PyObject_GC_UnTrack(self);
    Py_CLEAR(self->cls);
    Py_CLEAR(self->names);
    PyMem_Free(self->offsets);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
builder_traverse(Builder *self, visitproc visit, void *arg)
{
    Py_VISIT(self->cls);
    Py_VISIT(self->names);
    return 0;
}

static int
builder_clear(Builder *self)
{
    Py_CLEAR(self->cls);
    Py_CLEAR(self->names);
    return 0;
}

/* The index of keyword `key` among the builder's names, or -1. */
static Py_ssize_t
field_index(Builder *self, PyObject *key)
{
    for (Py_ssize_t i = 0; i < self->count; i++)
        if (PyTuple_GET_ITEM(self->names, i) == key)
            return i; /* interned: the common case */
    for (Py_ssize_t i = 0; i < self->count; i++)
        if (PyUnicode_Compare(PyTuple_GET_ITEM(self->names, i), key) == 0)
            return i;
    return -1;
}

static PyObject *
builder_call(Builder *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    if (nargs + nkw != self->count) {
        PyErr_Format(PyExc_TypeError, "%s takes exactly %zd arguments (%zd given)",
                     self->cls->tp_name, self->count, nargs + nkw);
        return NULL;
    }
    PyObject *made = self->cls->tp_alloc(self->cls, 0);
    if (made == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < nargs; i++)
        *(PyObject **)((char *)made + self->offsets[i]) = Py_NewRef(args[i]);
    /* Keywords (as a Python function of these parameters takes them): each names a
     * field not given yet. The slots start empty, and every one is filled once. */
    for (Py_ssize_t j = 0; j < nkw; j++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, j);
        Py_ssize_t i = field_index(self, key);
        PyObject **slot = i < 0 ? NULL : (PyObject **)((char *)made + self->offsets[i]);
        if (slot == NULL || *slot != NULL) {
            PyErr_Format(PyExc_TypeError, "%s got %s keyword argument '%U'", self->cls->tp_name,
                         slot == NULL ? "an unexpected" : "a repeated", key);
            Py_DECREF(made);
            return NULL;
        }
        *slot = Py_NewRef(args[nargs + j]);
    }
    return made;
}

/* The offset of cls's own object slot called `name`, or -1 (an error set). */
static Py_ssize_t
slot_offset(PyTypeObject *cls, PyObject *name)
{
    const char *wanted = PyUnicode_AsUTF8(name);
    if (wanted == NULL)
        return -1;
    for (PyMemberDef *m = cls->tp_members; m != NULL && m->name != NULL; m++) {
        if (strcmp(m->name, wanted) == 0) {
            if (m->type != T_OBJECT_EX || (m->flags & READONLY)) {
                PyErr_Format(PyExc_TypeError, "%s.%s is not a plain slot", cls->tp_name, wanted);
                return -1;
            }
            return m->offset;
        }
    }
    PyErr_Format(PyExc_TypeError, "%s has no slot %s", cls->tp_name, wanted);
    return -1;
}

static PyObject *
builder_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *cls, *names;
    static char *keywords[] = {"cls", "names", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!:Builder", keywords, &PyType_Type,
                                     &cls, &PyTuple_Type, &names))
        return NULL;
    PyTypeObject *target = (PyTypeObject *)cls;
    Py_ssize_t count = PyTuple_GET_SIZE(names);
    /* Every slot of the class is one of the names, each once: none stays empty. */
    Py_ssize_t members = 0;
    for (PyMemberDef *m = target->tp_members; m != NULL && m->name != NULL; m++)
        members++;
    if (!(target->tp_flags & Py_TPFLAGS_HEAPTYPE) || target->tp_base != &PyBaseObject_Type ||
        target->tp_dictoffset != 0 || target->tp_itemsize != 0 || members != count) {
        PyErr_Format(PyExc_TypeError, "%s: not a class of these slots alone", target->tp_name);
        return NULL;
    }
    Py_ssize_t *offsets = PyMem_Calloc((size_t)(count ? count : 1), sizeof(Py_ssize_t));
    if (offsets == NULL)
        return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *name = PyTuple_GET_ITEM(names, i);
        if (!PyUnicode_Check(name)) {
            PyErr_SetString(PyExc_TypeError, "names must be strings");
            goto fail;
        }
        offsets[i] = slot_offset(target, name);
        if (offsets[i] < 0)
            goto fail;
        for (Py_ssize_t j = 0; j < i; j++)
            if (offsets[j] == offsets[i]) {
                PyErr_SetString(PyExc_TypeError, "names repeat a slot");
                goto fail;
            }
    }
    Builder *self = (Builder *)type->tp_alloc(type, 0);
    if (self == NULL)
        goto fail;
    self->cls = (PyTypeObject *)Py_NewRef(cls);
    self->names = Py_NewRef(names);
    self->count = count;
    self->offsets = offsets;
    self->vectorcall = (vectorcallfunc)builder_call;
    return (PyObject *)self;
fail:
    PyMem_Free(offsets);
    return NULL;
}

static PyTypeObject BuilderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "capture._positional.Builder",
    .tp_doc = "Builder(cls, names): a cls from its slots' values by position.",
    .tp_basicsize = sizeof(Builder),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(Builder, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_new = builder_new,
    .tp_dealloc = (destructor)builder_dealloc,
    .tp_traverse = (traverseproc)builder_traverse,
    .tp_clear = (inquiry)builder_clear,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "capture._positional",
    .m_doc = "Frozen records built by position, in C (see capture.model.positional_new).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__positional(void)
{
    if (PyType_Ready(&BuilderType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "Builder", (PyObject *)&BuilderType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
