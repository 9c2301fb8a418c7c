/* The common segment of TCP reassembly, in C.
 *
 * capture.net.reassembly.Reassembler.feed is the reference (read it first). Most
 * segments a scan hands to reassembly are a client's data, whole and in order, on a
 * connection that is tracked and holds nothing out of order: feed then only moves the
 * connection to the back of the least-recently-active order, stamps it, advances the
 * stream and hands the bytes to the sink. That costs ~8,000 instructions a segment in
 * the interpreter; here it costs a fraction of that.
 *
 * InOrder(reassembler, fallback, flow_type, half_type, mask) is a callable taking one
 * Segment. It first looks, without changing anything, whether the segment is that
 * common case: a 10-tuple whose flags have none of ``mask`` (SYN, FIN, RST) set, with
 * payload (exact bytes, not empty), missing == 0, a sequence number in [0, 2**32), on a
 * connection in reassembler._flows (an exact Flow, its halves exact Half objects) whose
 * half in this direction expects exactly that sequence number, is not ignored, holds
 * nothing out of order and has seen no FIN, and whose other half holds nothing out of
 * order. Anything else, and any value of an unexpected type, is not looked at further:
 * fallback(segment) (the Python feed) handles it, nothing having been changed. So the
 * input decides only between two ways that do the same thing; an attacker's bytes
 * reach this file only as the payload, which is passed on and never read.
 *
 * The common case then does what feed does for it, in its order: _lru.move_to_end(id),
 * flow.stamp = reassembler.frame_no, flow.last_ts = ts, half.offset += n, half.next_seq =
 * (seq + n) mod 2**32, sink.on_data(flow, direction, ts, payload), and what feed does
 * after the delivery (drain held bytes, close a connection whose both halves are done)
 * should the sink have changed the halves. An exception from there on propagates, as
 * in feed.
 *
 * tests/capture/net/test_inorder.py holds it to the reference (hypothesis: reordered,
 * overlapping, retransmitted, wrapping and damaged segments). Built by pip install
 * (see pyproject.toml); after an edit here, pip install -e . again.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stddef.h>
#include <stdint.h>

/* Where a __slots__ attribute sits in its object (the offset of its member
 * descriptor): feed's attribute reads are each one specialized instruction in the
 * interpreter, and PyObject_GetAttr, with its type look-up and descriptor call, cost
 * the C path most of what it saved. Used only on objects of exactly the type whose
 * descriptors gave them (checked every time); an unset slot reads as NULL. */
#define SLOT(obj, offset) (*(PyObject **)((char *)(obj) + (offset)))

enum { F_HALVES, F_ID, F_STAMP, F_LAST_TS, F_COUNT };
enum { H_NEXT_SEQ, H_IGNORE, H_PENDING, H_FIN, H_OFFSET, H_COUNT };
static const char *const flow_names[F_COUNT] = {"halves", "id", "stamp", "last_ts"};
static const char *const half_names[H_COUNT] = {"next_seq", "ignore", "pending", "fin",
                                                "offset"};

typedef struct {
    PyObject_HEAD
    PyObject *reassembler;
    PyObject *fallback;     /* the Python feed, bound */
    PyObject *flows;        /* reassembler._flows (a dict) */
    PyObject *lru;          /* reassembler._lru (an OrderedDict) */
    PyObject *sink;         /* reassembler.sink */
    PyTypeObject *flow_type;
    PyTypeObject *half_type;
    Py_ssize_t flow_slots[F_COUNT];
    Py_ssize_t half_slots[H_COUNT];
    long mask;              /* flags that send a segment to the fallback */
    vectorcallfunc vectorcall;
} InOrder;

/* Interned names. */
static PyObject *s_frame_no, *s_pending, *s_fin, *s_offset, *s_ignore, *s_move_to_end,
    *s_on_data, *s_drain, *s_close;

/* Whether ``obj`` is an exact int equal to 0 (no exception left set). */
static int
is_zero_int(PyObject *obj)
{
    if (!PyLong_CheckExact(obj))
        return 0;
    int overflow = 0;
    long value = PyLong_AsLongAndOverflow(obj, &overflow);
    if (value == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    return !overflow && value == 0;
}

/* An exact int in [0, 2**32) into *out; 0 (no exception left set) if it is not one. */
static int
seq32(PyObject *obj, unsigned long long *out)
{
    if (obj == NULL || !PyLong_CheckExact(obj))
        return 0;
    unsigned long long value = PyLong_AsUnsignedLongLong(obj);
    if (value == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();  /* negative, or too large */
        return 0;
    }
    if (value > 0xFFFFFFFFull)
        return 0;
    *out = value;
    return 1;
}

/* Set a slot found by slot_offset on an object of its exact type. */
static void
set_slot(PyObject *obj, Py_ssize_t offset, PyObject *value)
{
    PyObject *old = SLOT(obj, offset);
    SLOT(obj, offset) = Py_NewRef(value);
    Py_XDECREF(old);
}

/* Whether ``obj``'s attribute ``name`` is truthy (read as Python reads it), -1 on an
 * exception. */
static int
attr_true(PyObject *obj, PyObject *name)
{
    PyObject *value = PyObject_GetAttr(obj, name);
    if (value == NULL)
        return -1;
    int truth = PyObject_IsTrue(value);
    Py_DECREF(value);
    return truth;
}

/* feed's steps after the delivery, which matter only if the sink changed the halves
 * meanwhile: held bytes now in order are drained, and a connection whose both halves
 * reached their FIN (or are ignored) is closed. Read as Python reads them, unless the
 * slots show at a glance that there is nothing to do. -1 on an exception. */
static int
after_delivery(InOrder *self, PyObject *flow, PyObject *direction, PyObject *half,
               PyObject *other)
{
    int held = 0;
    PyObject *pending = Py_TYPE(half) == self->half_type
        ? SLOT(half, self->half_slots[H_PENDING]) : NULL;
    if (pending == NULL || !PyList_CheckExact(pending) || PyList_GET_SIZE(pending)) {
        held = attr_true(half, s_pending);
        if (held < 0)
            return -1;
    }
    if (held) {
        PyObject *args[] = {self->reassembler, flow, direction, half};
        PyObject *r = PyObject_VectorcallMethod(
            s_drain, args, 4 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        if (r == NULL)
            return -1;
        Py_DECREF(r);
    }
    /* half.fin is not None and other.fin is not None
     * and (half.offset >= half.fin or half.ignore)
     * and (other.offset >= other.fin or other.ignore) */
    if (Py_TYPE(half) == self->half_type && SLOT(half, self->half_slots[H_FIN]) == Py_None)
        return 0;
    PyObject *sides[2] = {half, other};
    for (int i = 0; i < 2; i++) {
        PyObject *fin = PyObject_GetAttr(sides[i], s_fin);
        if (fin == NULL)
            return -1;
        int none = fin == Py_None;
        Py_DECREF(fin);
        if (none)
            return 0;
    }
    for (int i = 0; i < 2; i++) {
        PyObject *offset = PyObject_GetAttr(sides[i], s_offset);
        if (offset == NULL)
            return -1;
        PyObject *fin = PyObject_GetAttr(sides[i], s_fin);
        if (fin == NULL) {
            Py_DECREF(offset);
            return -1;
        }
        int done = PyObject_RichCompareBool(offset, fin, Py_GE);
        Py_DECREF(offset);
        Py_DECREF(fin);
        if (done < 0)
            return -1;
        if (!done) {
            done = attr_true(sides[i], s_ignore);
            if (done < 0)
                return -1;
            if (!done)
                return 0;
        }
    }
    PyObject *r = PyObject_CallMethodOneArg(self->reassembler, s_close, flow);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* Whether the table's ``entry`` for a segment at ``seq`` (whole, with payload, flags
 * clear) is the common case: reads slots and runs no Python code, no exception left set. */
static int
is_common(InOrder *self, PyObject *entry, unsigned long long seq)
{
    if (!PyTuple_CheckExact(entry) || PyTuple_GET_SIZE(entry) != 2)
        return 0;
    PyObject *flow = PyTuple_GET_ITEM(entry, 0);
    PyObject *direction = PyTuple_GET_ITEM(entry, 1);
    if (Py_TYPE(flow) != self->flow_type || !PyLong_CheckExact(direction))
        return 0;
    long d = PyLong_AsLong(direction);
    if (d != 0 && d != 1) {
        PyErr_Clear();
        return 0;
    }
    const Py_ssize_t *fs = self->flow_slots, *hs = self->half_slots;
    PyObject *halves = SLOT(flow, fs[F_HALVES]);
    if (halves == NULL || !PyTuple_CheckExact(halves) || PyTuple_GET_SIZE(halves) != 2)
        return 0;
    PyObject *half = PyTuple_GET_ITEM(halves, d);
    PyObject *other = PyTuple_GET_ITEM(halves, 1 - d);
    if (Py_TYPE(half) != self->half_type || Py_TYPE(other) != self->half_type)
        return 0;
    unsigned long long expected;
    if (!seq32(SLOT(half, hs[H_NEXT_SEQ]), &expected) || expected != seq)
        return 0;
    if (SLOT(half, hs[H_IGNORE]) != Py_False || SLOT(half, hs[H_FIN]) != Py_None)
        return 0;
    PyObject *pending = SLOT(half, hs[H_PENDING]);
    PyObject *other_pending = SLOT(other, hs[H_PENDING]);
    if (pending == NULL || !PyList_CheckExact(pending) || PyList_GET_SIZE(pending)
        || other_pending == NULL || !PyList_CheckExact(other_pending)
        || PyList_GET_SIZE(other_pending))
        return 0;
    PyObject *offset = SLOT(half, hs[H_OFFSET]);
    PyObject *flow_id = SLOT(flow, fs[F_ID]);
    return offset != NULL && PyLong_CheckExact(offset) && flow_id != NULL
        && PyLong_CheckExact(flow_id) && SLOT(flow, fs[F_STAMP]) != NULL
        && SLOT(flow, fs[F_LAST_TS]) != NULL;
}

/* The common case, or 0 (nothing changed, no exception set) when ``seg`` is not it;
 * 1 when done, -1 on an exception after the first change (as feed would raise). */
static int
deliver(InOrder *self, PyObject *seg)
{
    if (!PyTuple_Check(seg) || PyTuple_GET_SIZE(seg) != 10)
        return 0;
    PyObject *ts = PyTuple_GET_ITEM(seg, 0);
    PyObject *flags_obj = PyTuple_GET_ITEM(seg, 7);
    PyObject *payload = PyTuple_GET_ITEM(seg, 8);
    if (!PyLong_CheckExact(flags_obj))
        return 0;
    long flags = PyLong_AsLong(flags_obj);
    if (flags == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    if (flags & self->mask)
        return 0;
    if (!PyBytes_CheckExact(payload) || PyBytes_GET_SIZE(payload) == 0)
        return 0;
    if (!is_zero_int(PyTuple_GET_ITEM(seg, 9)))
        return 0;
    unsigned long long seq;
    if (!seq32(PyTuple_GET_ITEM(seg, 5), &seq))
        return 0;

    /* Read first: the look-ups below hand out borrowed references, and from the table's
     * look-up until the references are taken nothing may run Python code. */
    PyObject *frame_no = PyObject_GetAttr(self->reassembler, s_frame_no);
    if (frame_no == NULL) {
        PyErr_Clear();
        return 0;
    }
    PyObject *key = PyTuple_Pack(4, PyTuple_GET_ITEM(seg, 1), PyTuple_GET_ITEM(seg, 2),
                                 PyTuple_GET_ITEM(seg, 3), PyTuple_GET_ITEM(seg, 4));
    if (key == NULL) {
        PyErr_Clear();
        Py_DECREF(frame_no);
        return 0;
    }
    PyObject *entry = PyDict_GetItemWithError(self->flows, key);
    Py_DECREF(key);
    if (entry == NULL) {
        PyErr_Clear();  /* unhashable parts: the Python feed says what that is */
        Py_DECREF(frame_no);
        return 0;
    }
    if (!is_common(self, entry, seq)) {
        Py_DECREF(frame_no);
        return 0;
    }
    /* is_common checked these. */
    PyObject *flow = PyTuple_GET_ITEM(entry, 0);
    PyObject *direction = PyTuple_GET_ITEM(entry, 1);
    long d = PyLong_AsLong(direction);
    const Py_ssize_t *fs = self->flow_slots, *hs = self->half_slots;
    PyObject *halves = SLOT(flow, fs[F_HALVES]);
    PyObject *half = PyTuple_GET_ITEM(halves, d);
    PyObject *other = PyTuple_GET_ITEM(halves, 1 - d);

    /* The common case: from here on, changes, in feed's order. Held across the sink's
     * call, which may close the connection (and drop the table's entry). */
    int result = -1;
    Py_INCREF(entry);
    Py_INCREF(halves);
    Py_ssize_t n = PyBytes_GET_SIZE(payload);
    PyObject *n_obj = NULL, *offset = NULL, *new_offset = NULL, *new_next = NULL;
    /* move_to_end of an exact OrderedDict by an exact int runs no Python code. */
    PyObject *r = PyObject_CallMethodOneArg(self->lru, s_move_to_end, SLOT(flow, fs[F_ID]));
    if (r == NULL)
        goto done;
    Py_DECREF(r);
    set_slot(flow, fs[F_STAMP], frame_no);
    set_slot(flow, fs[F_LAST_TS], ts);
    /* Read again, as feed reads it here: letting the old values go may have run code. */
    offset = SLOT(half, hs[H_OFFSET]);
    if (offset == NULL) {
        offset = PyObject_GetAttr(half, s_offset);  /* raises as feed would */
        if (offset == NULL)
            goto done;
    }
    else
        Py_INCREF(offset);
    n_obj = PyLong_FromSsize_t(n);
    if (n_obj == NULL)
        goto done;
    new_offset = PyNumber_Add(offset, n_obj);
    /* seq < 2**32 and n < 2**63: no overflow. */
    new_next = PyLong_FromUnsignedLongLong((seq + (unsigned long long)n) & 0xFFFFFFFFull);
    if (new_offset == NULL || new_next == NULL)
        goto done;
    set_slot(half, hs[H_OFFSET], new_offset);
    set_slot(half, hs[H_NEXT_SEQ], new_next);
    PyObject *args[] = {self->sink, flow, direction, ts, payload};
    r = PyObject_VectorcallMethod(s_on_data, args, 5 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    if (r == NULL)
        goto done;
    Py_DECREF(r);
    if (after_delivery(self, flow, direction, half, other) < 0)
        goto done;
    result = 1;

done:
    Py_DECREF(frame_no);
    Py_XDECREF(offset);
    Py_XDECREF(n_obj);
    Py_XDECREF(new_offset);
    Py_XDECREF(new_next);
    Py_DECREF(halves);
    Py_DECREF(entry);
    return result;
}

static PyObject *
inorder_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    InOrder *self = (InOrder *)callable;
    if (PyVectorcall_NARGS(nargsf) != 1 || (kwnames != NULL && PyTuple_GET_SIZE(kwnames))) {
        PyErr_SetString(PyExc_TypeError, "InOrder() takes one segment");
        return NULL;
    }
    int done = deliver(self, args[0]);
    if (done < 0)
        return NULL;
    if (done == 0)
        return PyObject_Vectorcall(self->fallback, args, 1, NULL);
    Py_RETURN_NONE;
}

/* The offset of ``type``'s writable object slot ``name`` (a __slots__ entry), or -1
 * with an exception set. */
static Py_ssize_t
slot_offset(PyTypeObject *type, const char *name)
{
    PyObject *descr = PyObject_GetAttrString((PyObject *)type, name);
    if (descr == NULL)
        return -1;
    Py_ssize_t offset = -1;
    if (Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
        PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
        if (member->type == T_OBJECT_EX && !(member->flags & READONLY)
            && member->offset >= (Py_ssize_t)sizeof(PyObject)
            && member->offset + (Py_ssize_t)sizeof(PyObject *) <= type->tp_basicsize)
            offset = member->offset;
    }
    Py_DECREF(descr);
    if (offset < 0)
        PyErr_Format(PyExc_TypeError, "%s.%s is not a __slots__ attribute", type->tp_name,
                     name);
    return offset;
}

static PyObject *
inorder_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *reassembler, *fallback;
    PyTypeObject *flow_type, *half_type;
    long mask;
    static char *kwlist[] = {"reassembler", "fallback", "flow_type", "half_type", "mask", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO!O!l", kwlist, &reassembler, &fallback,
                                     &PyType_Type, &flow_type, &PyType_Type, &half_type, &mask))
        return NULL;
    if (!PyCallable_Check(fallback)) {
        PyErr_SetString(PyExc_TypeError, "fallback must be callable");
        return NULL;
    }
    InOrder *self = (InOrder *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->reassembler = Py_NewRef(reassembler);
    self->fallback = Py_NewRef(fallback);
    self->flow_type = (PyTypeObject *)Py_NewRef(flow_type);
    self->half_type = (PyTypeObject *)Py_NewRef(half_type);
    self->mask = mask;
    self->vectorcall = inorder_vectorcall;
    for (int i = 0; i < F_COUNT; i++)
        if ((self->flow_slots[i] = slot_offset(flow_type, flow_names[i])) < 0)
            goto fail;
    for (int i = 0; i < H_COUNT; i++)
        if ((self->half_slots[i] = slot_offset(half_type, half_names[i])) < 0)
            goto fail;
    self->flows = PyObject_GetAttrString(reassembler, "_flows");
    self->lru = PyObject_GetAttrString(reassembler, "_lru");
    self->sink = PyObject_GetAttrString(reassembler, "sink");
    if (self->flows == NULL || self->lru == NULL || self->sink == NULL)
        goto fail;
    if (!PyDict_CheckExact(self->flows) || !PyODict_CheckExact(self->lru)) {
        PyErr_SetString(PyExc_TypeError, "the reassembler's tables are not dict, OrderedDict");
        goto fail;
    }
    return (PyObject *)self;
fail:
    Py_DECREF(self);
    return NULL;
}

static int
inorder_traverse(InOrder *self, visitproc visit, void *arg)
{
    Py_VISIT(self->reassembler);
    Py_VISIT(self->fallback);
    Py_VISIT(self->flows);
    Py_VISIT(self->lru);
    Py_VISIT(self->sink);
    Py_VISIT(self->flow_type);
    Py_VISIT(self->half_type);
    return 0;
}

static int
inorder_clear(InOrder *self)
{
    Py_CLEAR(self->reassembler);
    Py_CLEAR(self->fallback);
    Py_CLEAR(self->flows);
    Py_CLEAR(self->lru);
    Py_CLEAR(self->sink);
    Py_CLEAR(self->flow_type);
    Py_CLEAR(self->half_type);
    return 0;
}

static void
inorder_dealloc(InOrder *self)
{
    PyObject_GC_UnTrack(self);
    inorder_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject InOrderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "capture.net._inorder.InOrder",
    .tp_basicsize = sizeof(InOrder),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "Reassembler.feed with its common case in C (see capture/net/_inorder.c).",
    .tp_new = inorder_new,
    .tp_dealloc = (destructor)inorder_dealloc,
    .tp_traverse = (traverseproc)inorder_traverse,
    .tp_clear = (inquiry)inorder_clear,
    .tp_vectorcall_offset = offsetof(InOrder, vectorcall),
    .tp_call = PyVectorcall_Call,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "capture.net._inorder",
    .m_doc = "The common segment of TCP reassembly, in C (see reassembly.py).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__inorder(void)
{
    if (PyType_Ready(&InOrderType) < 0)
        return NULL;
    struct {
        PyObject **slot;
        const char *name;
    } names[] = {
        {&s_frame_no, "frame_no"}, {&s_pending, "pending"}, {&s_fin, "fin"},
        {&s_offset, "offset"},     {&s_ignore, "ignore"},   {&s_move_to_end, "move_to_end"},
        {&s_on_data, "on_data"},   {&s_drain, "_drain"},    {&s_close, "_close"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        *names[i].slot = PyUnicode_InternFromString(names[i].name);
        if (*names[i].slot == NULL)
            return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "InOrder", (PyObject *)&InOrderType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
