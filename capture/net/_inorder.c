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
 * common case: a 10-tuple whose flags have none of ``mask`` (SYN, FIN, RST, and the
 * decoder's IP_OVERLAP) set, with payload (exact bytes, not empty), missing == 0, a
 * sequence number in [0, 2**32), on a connection in reassembler._flows (an exact Flow, its halves exact Half objects) whose
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
 * A scan of many short connections also spends much of its time on their other
 * segments: the handshake, the FINs, an ACK after the close. Those without payload are
 * control()'s (below), and a half-open connection's first data is made whole by a call
 * to reassembler._make_whole before the common case: each checked first in the same way,
 * anything else left to feed.
 *
 * tests/capture/net/test_inorder.py holds it to the reference (hypothesis: reordered,
 * overlapping, retransmitted, wrapping and damaged segments, handshakes of several
 * connections, split-scan ownership, idle sweeps, tight memory). Built by pip install
 * (see pyproject.toml); after an edit here, pip install -e . again.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
    long long half_open_cost, flow_cost;  /* reassembly.HALF_OPEN_COST, FLOW_COST */
    /* The reassembler's tables for connections not in _flows (it never rebinds them),
     * and its limits as numbers (Limits is frozen): limits_ok 0 if they are not plain
     * numbers, which leaves such connections to the Python feed. */
    PyObject *half_open;    /* _half_open (a dict) */
    PyObject *closed;       /* _closed._when (a dict) */
    PyObject *counters;     /* counters (a dict) */
    PyObject *due;          /* _half_open_due (a dict) */
    PyObject *seconds;      /* _half_open_seconds (a list) */
    PyObject *owns;
    double idle_timeout;
    long long memory;
    int limits_ok;
    vectorcallfunc vectorcall;
} InOrder;

/* Interned names. */
static PyObject *s_frame_no, *s_pending, *s_fin, *s_offset, *s_ignore, *s_move_to_end,
    *s_on_data, *s_drain, *s_close, *s_late_segments, *s_flows, *s_next_id,
    *s_half_open_order, *s_append, *s_half_open_filed, *s_held_bytes, *s_room, *s_make_whole;
/* heapq.heappush (the C one of _heapq). */
static PyObject *heappush;

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
    const Py_ssize_t *hs = self->half_slots;
    if (Py_TYPE(half) == self->half_type && Py_TYPE(other) == self->half_type
        && SLOT(half, hs[H_FIN]) && SLOT(other, hs[H_FIN]) && SLOT(half, hs[H_OFFSET])
        && SLOT(other, hs[H_OFFSET]) && SLOT(half, hs[H_IGNORE]) && SLOT(other, hs[H_IGNORE])) {
        /* The same test on the slots (every one set), the closing FIN's: comparing
         * and testing ints and bools runs no Python code, so they stay as read. */
        for (int i = 0; i < 2; i++)
            if (SLOT(sides[i], hs[H_FIN]) == Py_None)
                return 0;
        for (int i = 0; i < 2; i++) {
            int done = PyObject_RichCompareBool(SLOT(sides[i], hs[H_OFFSET]),
                                                SLOT(sides[i], hs[H_FIN]), Py_GE);
            if (done < 0)
                return -1;
            if (!done) {
                done = PyObject_IsTrue(SLOT(sides[i], hs[H_IGNORE]));
                if (done <= 0)
                    return done;
            }
        }
        PyObject *r = PyObject_CallMethodOneArg(self->reassembler, s_close, flow);
        if (r == NULL)
            return -1;
        Py_DECREF(r);
        return 0;
    }
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

/* A tracked connection's parts, as feed reads them from the table's entry. */
typedef struct {
    PyObject *flow, *direction, *halves, *half, *other;
    unsigned long long next_seq;
} Tracked;

/* Whether the table's ``entry`` is a connection both C ways can take: an exact
 * (Flow, 0 or 1) pair whose halves are exact, hold nothing out of order, and have
 * their place in the sequence space (next_seq), an int offset and every slot set; its
 * parts in ``t`` (borrowed). Reads slots and runs no Python code, no exception left
 * set. */
static int
tracked(InOrder *self, PyObject *entry, Tracked *t)
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
    if (!seq32(SLOT(half, hs[H_NEXT_SEQ]), &t->next_seq))
        return 0;  /* None (the place is taken from this segment) or odd: Python */
    PyObject *pending = SLOT(half, hs[H_PENDING]);
    PyObject *other_pending = SLOT(other, hs[H_PENDING]);
    if (pending == NULL || !PyList_CheckExact(pending) || PyList_GET_SIZE(pending)
        || other_pending == NULL || !PyList_CheckExact(other_pending)
        || PyList_GET_SIZE(other_pending))
        return 0;
    PyObject *offset = SLOT(half, hs[H_OFFSET]);
    PyObject *flow_id = SLOT(flow, fs[F_ID]);
    if (SLOT(half, hs[H_FIN]) == NULL || offset == NULL || !PyLong_CheckExact(offset)
        || flow_id == NULL || !PyLong_CheckExact(flow_id) || SLOT(flow, fs[F_STAMP]) == NULL
        || SLOT(flow, fs[F_LAST_TS]) == NULL)
        return 0;
    t->flow = flow;
    t->direction = direction;
    t->halves = halves;
    t->half = half;
    t->other = other;
    return 1;
}

/* Whether the table's ``entry`` for a segment at ``seq`` (whole, with payload, flags
 * clear) is the common case: a tracked connection (see tracked) expecting ``seq``, in
 * a direction neither ignored nor ended. */
static int
is_common(InOrder *self, PyObject *entry, unsigned long long seq, Tracked *t)
{
    if (!tracked(self, entry, t) || t->next_seq != seq)
        return 0;
    const Py_ssize_t *hs = self->half_slots;
    return SLOT(t->half, hs[H_IGNORE]) == Py_False && SLOT(t->half, hs[H_FIN]) == Py_None;
}

/* -- Segments without payload ------------------------------------------------------
 *
 * feed's steps for a segment without payload or RST. On a tracked connection (no SYN):
 * an acknowledgement or a FIN (flow_control). Finding no connection in _flows (no FIN:
 * a handshake's SYN, SYN+ACK and ACK; an ACK after the close): the
 * half-open table's update (_half_open_segment with _half_open_update), a late
 * segment on a closed connection (counted), or a new half-open connection
 * (_open_half, with _file_half_open and _room's test). Everything is checked first,
 * nothing changed, and anything unexpected (a value of another type, a sequence
 * number or port out of range, a state of another size, a SYN with another ISN, a
 * closed connection's SYN) goes to the Python feed. ``owns`` is called as feed calls
 * it; it is a pure function of the key (Shard.owns). */

/* TCP flags (RFC 793), as capture.net.decode names them. */
enum { T_FIN = 0x01, T_SYN = 0x02, T_RST = 0x04, T_ACK = 0x10 };
/* reassembly._HALF_OPEN ("<qddIIIIB") and the flags of its last field. */
enum { HO_SIZE = 41, HO_LAST = 16, HO_ISN = 24, HO_NEXT = 32, HO_BITS = 40 };
enum { HO_ISN0 = 1, HO_ISN1 = 2, HO_NEXT0 = 4, HO_NEXT1 = 8, HO_CLIENT_KNOWN = 16,
       HO_CLIENT_B = 32 };

static uint32_t
get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
put_le32(unsigned char *p, uint32_t v)
{
    p[0] = v & 0xFF;
    p[1] = (v >> 8) & 0xFF;
    p[2] = (v >> 16) & 0xFF;
    p[3] = v >> 24;
}

/* An exact int in [0, 65535] into *out; 0 (no exception left set) if it is not one. */
static int
port16(PyObject *obj, unsigned *out)
{
    if (!PyLong_CheckExact(obj))
        return 0;
    long value = PyLong_AsLong(obj);
    if (value == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    if (value < 0 || value > 0xFFFF)
        return 0;
    *out = (unsigned)value;
    return 1;
}

/* reassembly._packed_key: first + second + the two ports big-endian. */
static PyObject *
packed_key(PyObject *first, PyObject *second, unsigned first_port, unsigned second_port)
{
    Py_ssize_t n1 = PyBytes_GET_SIZE(first), n2 = PyBytes_GET_SIZE(second);
    PyObject *packed = PyBytes_FromStringAndSize(NULL, n1 + n2 + 4);
    if (packed == NULL)
        return NULL;
    unsigned char *p = (unsigned char *)PyBytes_AS_STRING(packed);
    memcpy(p, PyBytes_AS_STRING(first), n1);
    memcpy(p + n1, PyBytes_AS_STRING(second), n2);
    p += n1 + n2;
    p[0] = first_port >> 8;
    p[1] = first_port & 0xFF;
    p[2] = second_port >> 8;
    p[3] = second_port & 0xFF;
    return packed;
}

/* counters[name] += 1 where counters[name] is an exact int: 1 done, 0 not such a
 * counter (nothing changed, no exception set), -1 on an exception. */
static int
count(PyObject *counters, PyObject *name, int check_only)
{
    PyObject *value = PyDict_GetItemWithError(counters, name);
    if (value == NULL || !PyLong_CheckExact(value)) {
        PyErr_Clear();
        return 0;
    }
    if (check_only)
        return 1;
    PyObject *one = PyLong_FromLong(1);
    if (one == NULL)
        return -1;
    PyObject *more = PyNumber_Add(value, one);
    Py_DECREF(one);
    if (more == NULL)
        return -1;
    int r = PyDict_SetItem(counters, name, more);
    Py_DECREF(more);
    return r < 0 ? -1 : 1;
}

/* Whether a connection (by its key) is this process's: owns is None or owns(key).
 * 1, 0, or -1 on an exception. */
static int
owned(PyObject *owns, PyObject *key)
{
    if (owns == Py_None)
        return 1;
    PyObject *r = PyObject_CallOneArg(owns, key);
    if (r == NULL)
        return -1;
    int truth = PyObject_IsTrue(r);
    Py_DECREF(r);
    return truth;
}

/* _half_open_segment's way for a segment (no payload, FIN or RST) found in the
 * half-open table, under ``packed`` in ``direction``: the state _half_open_update
 * gives. 1 done, 0 for the Python feed (nothing changed), -1 on an exception. */
static int
half_open_update(PyObject *half_open, PyObject *packed, PyObject *state, int direction,
                 double ts, uint32_t seq, long flags)
{
    if (!PyBytes_CheckExact(state) || PyBytes_GET_SIZE(state) != HO_SIZE)
        return 0;  /* _HALF_OPEN.unpack raises: as feed does */
    unsigned char buf[HO_SIZE];
    memcpy(buf, PyBytes_AS_STRING(state), HO_SIZE);
    uint32_t isn[2] = {get_le32(buf + HO_ISN), get_le32(buf + HO_ISN + 4)};
    uint32_t next[2] = {get_le32(buf + HO_NEXT), get_le32(buf + HO_NEXT + 4)};
    unsigned bits = buf[HO_BITS];
    if (flags & T_SYN) {
        unsigned isn_bit = direction ? HO_ISN1 : HO_ISN0;
        if (!(flags & T_ACK) && bits & isn_bit && isn[direction] != seq)
            return 0;  /* a new SYN with another ISN: port reuse, the Python feed's */
        if (!(bits & isn_bit)) {
            isn[direction] = seq;
            next[direction] = (seq + 1) & 0xFFFFFFFFu;
            bits |= isn_bit | (direction ? HO_NEXT1 : HO_NEXT0);
        }
        if (!(bits & HO_CLIENT_KNOWN)) {
            /* SYN alone comes from the client; SYN+ACK from the server. */
            int client = flags & T_ACK ? 1 - direction : direction;
            bits |= HO_CLIENT_KNOWN | (client ? HO_CLIENT_B : 0);
        }
    }
    else {
        unsigned next_bit = direction ? HO_NEXT1 : HO_NEXT0;
        if (!(bits & next_bit)) {
            next[direction] = seq;
            bits |= next_bit;
        }
    }
    if (PyFloat_Pack8(ts, (char *)buf + HO_LAST, 1) < 0)
        return -1;
    put_le32(buf + HO_ISN, isn[0]);
    put_le32(buf + HO_ISN + 4, isn[1]);
    put_le32(buf + HO_NEXT, next[0]);
    put_le32(buf + HO_NEXT + 4, next[1]);
    buf[HO_BITS] = (unsigned char)bits;
    PyObject *new_state = PyBytes_FromStringAndSize((const char *)buf, HO_SIZE);
    if (new_state == NULL)
        return -1;
    int r = PyDict_SetItem(half_open, packed, new_state);
    Py_DECREF(new_state);
    return r < 0 ? -1 : 1;
}

/* _room's test, where a half-open connection was added: _room itself is called only
 * when the state does not fit or the queue wants compacting (or a value is not the
 * plain int it nearly always is). 0, or -1 on an exception. */
static int
room(InOrder *self, PyObject *half_open)
{
    PyObject *r = self->reassembler;
    int call = 1;
    PyObject *held = PyObject_GetAttr(self->sink, s_held_bytes);
    if (held == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError))
            return -1;
        PyErr_Clear();
        held = PyLong_FromLong(0);
        if (held == NULL)
            return -1;
    }
    PyObject *order = PyObject_GetAttr(r, s_half_open_order);
    if (order == NULL)
        PyErr_Clear();  /* _room says what that is */
    else if (PyLong_CheckExact(held)) {
        int overflow = 0;
        long long h = PyLong_AsLongLongAndOverflow(held, &overflow);
        Py_ssize_t queued = PyObject_Length(order);
        if (queued < 0)
            PyErr_Clear();
        else if (!overflow && h > -(1LL << 60) && h < (1LL << 60)) {
            long long fixed = (long long)PyDict_GET_SIZE(half_open) * self->half_open_cost
                + (long long)PyObject_Length(self->lru) * self->flow_cost;
            call = fixed + h > self->memory || queued > 2 * PyDict_GET_SIZE(half_open) + 1024;
        }
    }
    Py_XDECREF(order);
    Py_DECREF(held);
    if (!call)
        return 0;
    PyObject *done = PyObject_CallMethodNoArgs(r, s_room);
    if (done == NULL)
        return -1;
    Py_DECREF(done);
    return 0;
}

/* _open_half, with _file_half_open written out: 1 done, 0 for the Python feed
 * (nothing changed), -1 on an exception. */
static int
open_half(InOrder *self, PyObject *half_open, PyObject *key, PyObject *src, PyObject *dst,
          unsigned sport, unsigned dport, double ts, uint32_t seq, long flags)
{
    PyObject *r = self->reassembler;
    PyObject *frame_no = NULL, *next_id = NULL, *packed = NULL, *second = NULL, *filed = NULL;
    PyObject *due = self->due, *seconds = self->seconds, *counters = self->counters;
    int result = 0;
    frame_no = PyObject_GetAttr(r, s_frame_no);
    next_id = PyObject_GetAttr(r, s_next_id);
    if (!frame_no || !next_id) {
        PyErr_Clear();
        goto done;
    }
    if (!PyLong_CheckExact(frame_no) || !PyLong_CheckExact(next_id)
        || count(counters, s_flows, 1) != 1)
        goto done;
    /* flow_id = frame_no or _next_id, packed as a signed 64-bit int */
    PyObject *flow_id_obj = PyObject_IsTrue(frame_no) ? frame_no : next_id;
    int overflow = 0;
    long long flow_id = PyLong_AsLongLongAndOverflow(flow_id_obj, &overflow);
    if (overflow || (flow_id == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        goto done;
    }
    /* math.floor(last + idle_timeout) */
    double due_at = floor(ts + self->idle_timeout);
    if (!isfinite(due_at))
        goto done;

    /* The changes, in _open_half's order. */
    result = -1;
    PyObject *one = PyLong_FromLong(1);
    if (one == NULL)
        goto done;
    PyObject *more = PyNumber_Add(next_id, one);
    Py_DECREF(one);
    if (more == NULL)
        goto done;
    int set = PyObject_SetAttr(r, s_next_id, more);
    Py_DECREF(more);
    if (set < 0)
        goto done;
    packed = packed_key(src, dst, sport, dport);
    if (packed == NULL)
        goto done;
    int ours = owned(self->owns, key);
    if (ours < 0 || (ours && count(counters, s_flows, 0) < 0))
        goto done;
    unsigned char buf[HO_SIZE];
    memset(buf, 0, HO_SIZE);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((unsigned long long)flow_id >> (8 * i));
    if (PyFloat_Pack8(ts, (char *)buf + 8, 1) < 0 || PyFloat_Pack8(ts, (char *)buf + 16, 1) < 0)
        goto done;
    if (flags & T_SYN) {
        put_le32(buf + HO_ISN, seq);
        put_le32(buf + HO_NEXT, (seq + 1) & 0xFFFFFFFFu);
        buf[HO_BITS] = HO_ISN0 | HO_NEXT0 | HO_CLIENT_KNOWN | (flags & T_ACK ? HO_CLIENT_B : 0);
    }
    else {
        put_le32(buf + HO_NEXT, seq);
        buf[HO_BITS] = HO_NEXT0;
    }
    PyObject *state = PyBytes_FromStringAndSize((const char *)buf, HO_SIZE);
    if (state == NULL)
        goto done;
    set = PyDict_SetItem(half_open, packed, state);
    Py_DECREF(state);
    if (set < 0)
        goto done;
    PyObject *order = PyObject_GetAttr(r, s_half_open_order);
    if (order == NULL)
        goto done;
    PyObject *appended = PyObject_CallMethodOneArg(order, s_append, packed);
    Py_DECREF(order);
    if (appended == NULL)
        goto done;
    Py_DECREF(appended);
    /* _file_half_open */
    second = PyLong_FromDouble(due_at);
    if (second == NULL)
        goto done;
    PyObject *keys = PyDict_GetItemWithError(due, second);
    if (keys == NULL) {
        if (PyErr_Occurred())
            goto done;
        keys = PyList_New(0);
        if (keys == NULL)
            goto done;
        set = PyDict_SetItem(due, second, keys);
        Py_DECREF(keys);  /* the dict holds it */
        if (set < 0)
            goto done;
        PyObject *pushed = PyObject_CallFunctionObjArgs(heappush, seconds, second, NULL);
        if (pushed == NULL)
            goto done;
        Py_DECREF(pushed);
    }
    if (!PyList_CheckExact(keys)) {
        PyObject *appended_key = PyObject_CallMethodOneArg(keys, s_append, packed);
        if (appended_key == NULL)
            goto done;
        Py_DECREF(appended_key);
    }
    else if (PyList_Append(keys, packed) < 0)
        goto done;
    filed = PyObject_GetAttr(r, s_half_open_filed);
    if (filed == NULL)
        goto done;
    one = PyLong_FromLong(1);
    if (one == NULL)
        goto done;
    more = PyNumber_Add(filed, one);
    Py_DECREF(one);
    if (more == NULL)
        goto done;
    set = PyObject_SetAttr(r, s_half_open_filed, more);
    Py_DECREF(more);
    if (set < 0)
        goto done;
    if (room(self, half_open) < 0)
        goto done;
    result = 1;

done:
    Py_XDECREF(frame_no);
    Py_XDECREF(next_id);
    Py_XDECREF(packed);
    Py_XDECREF(second);
    Py_XDECREF(filed);
    return result;
}

/* feed's way for a segment without payload, SYN or RST (an acknowledgement, a FIN at
 * the next byte: any other FIN is Python's, which may pass it over) on a tracked
 * connection (``entry``, from _flows) whose half in this direction has its
 * place in the sequence space, and neither half holds anything out of order: the
 * connection moves to the back of the least-recently-active order, is stamped, a FIN
 * marks where the stream ends, and a connection whose both halves reached their FIN
 * (or are ignored) is closed (after_delivery). 1 done, 0 for the Python feed (nothing
 * changed, no exception set), -1 on an exception after the first change. */
static int
flow_control(InOrder *self, PyObject *entry, PyObject *ts, unsigned long long seq, long flags)
{
    Tracked t;
    if (!tracked(self, entry, &t))
        return 0;
    PyObject *flow = t.flow, *direction = t.direction, *halves = t.halves, *half = t.half,
             *other = t.other;
    unsigned long long next_seq = t.next_seq;
    const Py_ssize_t *fs = self->flow_slots, *hs = self->half_slots;
    if (flags & T_FIN && SLOT(half, hs[H_FIN]) == Py_None && seq != next_seq &&
        SLOT(half, hs[H_IGNORE]) != Py_True)
        return 0;  /* a FIN not at the next byte of a direction read: whether it is in
                    * the window, Python's (an ignored one's place may be stale: as before) */
    PyObject *flow_id = SLOT(flow, fs[F_ID]);
    PyObject *offset;
    PyObject *frame_no = PyObject_GetAttr(self->reassembler, s_frame_no);
    if (frame_no == NULL) {
        PyErr_Clear();
        return 0;
    }

    /* The changes, in feed's order; the connection is held across them (closing it
     * drops the table's entry). */
    int result = -1;
    Py_INCREF(entry);
    Py_INCREF(halves);
    PyObject *r = PyObject_CallMethodOneArg(self->lru, s_move_to_end, flow_id);
    if (r == NULL)
        goto done;
    Py_DECREF(r);
    set_slot(flow, fs[F_STAMP], frame_no);
    set_slot(flow, fs[F_LAST_TS], ts);
    if (flags & T_FIN && SLOT(half, hs[H_FIN]) == Py_None) {
        /* half.fin = half.offset + _delta(seq, half.next_seq), both read again */
        offset = SLOT(half, hs[H_OFFSET]);
        if (offset == NULL || !seq32(SLOT(half, hs[H_NEXT_SEQ]), &next_seq)) {
            PyErr_SetString(PyExc_RuntimeError, "a half changed under the C feed");
            goto done;
        }
        long long delta = (long long)((seq - next_seq + 0x80000000ull) & 0xFFFFFFFFull)
            - 0x80000000ll;
        PyObject *delta_obj = PyLong_FromLongLong(delta);
        if (delta_obj == NULL)
            goto done;
        PyObject *at = PyNumber_Add(offset, delta_obj);
        Py_DECREF(delta_obj);
        if (at == NULL)
            goto done;
        set_slot(half, hs[H_FIN], at);
        Py_DECREF(at);
    }
    if (after_delivery(self, flow, direction, half, other) < 0)
        goto done;
    result = 1;

done:
    Py_DECREF(frame_no);
    Py_DECREF(halves);
    Py_DECREF(entry);
    return result;
}

/* A segment without payload or RST: on a tracked connection (no SYN) flow_control's; on
 * a connection not in _flows (no FIN) the half-open table's, a late segment's or a new
 * half-open connection's. 1 done, 0 for the Python feed (nothing changed, no exception
 * set), -1 on an exception after the first change. */
static int
control(InOrder *self, PyObject *seg, long flags)
{
    /* A RST, and the decoder's marks past the TCP flags' byte (IP_OVERLAP): Python's. */
    if (flags & (T_RST | ~0xFFL))
        return 0;
    PyObject *ts_obj = PyTuple_GET_ITEM(seg, 0);
    PyObject *src = PyTuple_GET_ITEM(seg, 1), *sport_obj = PyTuple_GET_ITEM(seg, 2);
    PyObject *dst = PyTuple_GET_ITEM(seg, 3), *dport_obj = PyTuple_GET_ITEM(seg, 4);
    PyObject *payload = PyTuple_GET_ITEM(seg, 8);
    unsigned sport, dport;
    unsigned long long seq;
    if (!PyFloat_CheckExact(ts_obj) || !PyBytes_CheckExact(src) || !PyBytes_CheckExact(dst)
        || !PyBytes_CheckExact(payload) || PyBytes_GET_SIZE(payload)
        || !is_zero_int(PyTuple_GET_ITEM(seg, 9)) || !port16(sport_obj, &sport)
        || !port16(dport_obj, &dport) || !seq32(PyTuple_GET_ITEM(seg, 5), &seq))
        return 0;
    double ts = PyFloat_AS_DOUBLE(ts_obj);
    int result = 0;
    PyObject *half_open = NULL, *packed = NULL, *closed = NULL,
             *reverse = NULL, *owns = NULL, *counters = NULL;
    PyObject *key = PyTuple_Pack(4, src, sport_obj, dst, dport_obj);
    if (key == NULL) {
        PyErr_Clear();
        return 0;
    }
    PyObject *entry = PyDict_GetItemWithError(self->flows, key);
    if (entry != NULL) {
        if (!(flags & T_SYN))
            result = flow_control(self, entry, ts_obj, seq, flags);
        goto done;
    }
    if (PyErr_Occurred() || flags & T_FIN) {
        /* A FIN makes a half-open connection whole, or opens one: the Python feed's. */
        PyErr_Clear();
        goto done;
    }
    if (!self->limits_ok)
        goto done;
    half_open = Py_NewRef(self->half_open);
    if (PyDict_GET_SIZE(half_open)) {
        /* _half_open_segment: the key in the first direction, then the other. */
        packed = packed_key(src, dst, sport, dport);
        if (packed == NULL) {
            PyErr_Clear();
            goto done;
        }
        int direction = 0;
        PyObject *state = PyDict_GetItemWithError(half_open, packed);
        if (state == NULL) {
            Py_DECREF(packed);
            packed = packed_key(dst, src, dport, sport);
            if (packed == NULL) {
                PyErr_Clear();
                goto done;
            }
            state = PyDict_GetItemWithError(half_open, packed);
            direction = 1;
        }
        if (state != NULL) {
            result = half_open_update(half_open, packed, state, direction, ts, (uint32_t)seq,
                                      flags);
            goto done;
        }
        if (PyErr_Occurred()) {
            PyErr_Clear();
            goto done;
        }
    }
    /* feed's look at the closed connections (their _ClosedMemory's keys) */
    closed = Py_NewRef(self->closed);
    reverse = PyTuple_Pack(4, dst, dport_obj, src, sport_obj);
    if (reverse == NULL) {
        PyErr_Clear();
        goto done;
    }
    int late = PyDict_Contains(closed, key);
    if (late == 0)
        late = PyDict_Contains(closed, reverse);
    if (late < 0) {
        PyErr_Clear();
        goto done;
    }
    if (late) {
        if (flags & T_SYN && !(flags & T_ACK))
            goto done;  /* a closed connection's 4-tuple opens again: the Python feed's */
        owns = Py_NewRef(self->owns);
        counters = Py_NewRef(self->counters);
        if (count(counters, s_late_segments, 1) != 1)
            goto done;
        int ours = owned(owns, key);
        if (ours < 0)
            result = -1;
        else
            result = ours ? count(counters, s_late_segments, 0) : 1;
        goto done;
    }
    result = open_half(self, half_open, key, src, dst, sport, dport, ts, (uint32_t)seq, flags);

done:
    Py_DECREF(key);
    Py_XDECREF(half_open);
    Py_XDECREF(packed);
    Py_XDECREF(closed);
    Py_XDECREF(reverse);
    Py_XDECREF(owns);
    Py_XDECREF(counters);
    return result;
}

/* A segment with payload (no SYN, FIN or RST) on a half-open connection: feed's
 * _half_open_segment makes it whole (_make_whole, called), and feed goes on as for a
 * tracked connection. 1 made whole, 0 no half-open connection for it (or odd values:
 * the Python feed's, nothing changed, no exception set), -1 on an exception. */
static int
make_whole(InOrder *self, PyObject *seg, PyObject *key)
{
    if (!self->limits_ok || !PyDict_GET_SIZE(self->half_open))
        return 0;
    PyObject *src = PyTuple_GET_ITEM(seg, 1), *sport_obj = PyTuple_GET_ITEM(seg, 2);
    PyObject *dst = PyTuple_GET_ITEM(seg, 3), *dport_obj = PyTuple_GET_ITEM(seg, 4);
    unsigned sport, dport;
    if (!PyBytes_CheckExact(src) || !PyBytes_CheckExact(dst) || !port16(sport_obj, &sport)
        || !port16(dport_obj, &dport))
        return 0;
    PyObject *packed = packed_key(src, dst, sport, dport);
    if (packed == NULL) {
        PyErr_Clear();
        return 0;
    }
    PyObject *whole_key = key;
    PyObject *state = PyDict_GetItemWithError(self->half_open, packed);
    if (state == NULL) {
        Py_DECREF(packed);
        packed = packed_key(dst, src, dport, sport);
        if (packed == NULL) {
            PyErr_Clear();
            return 0;
        }
        state = PyDict_GetItemWithError(self->half_open, packed);
        whole_key = NULL;
    }
    if (state == NULL) {
        PyErr_Clear();
        Py_DECREF(packed);
        return 0;
    }
    Py_INCREF(state);
    if (whole_key == NULL)
        whole_key = PyTuple_Pack(4, dst, dport_obj, src, sport_obj);
    else
        Py_INCREF(whole_key);
    PyObject *r = NULL;
    if (whole_key != NULL)
        r = PyObject_CallMethodObjArgs(self->reassembler, s_make_whole, packed, state,
                                       whole_key, NULL);
    Py_XDECREF(whole_key);
    Py_DECREF(state);
    Py_DECREF(packed);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 1;
}

/* The common case, or 0 (nothing changed, no exception set) when ``seg`` is not it;
 * 1 when done, -1 on an exception after the first change (as feed would raise). A
 * segment with payload on a half-open connection is the common case once make_whole
 * has made the connection whole; when it is not, 0 hands it to the Python feed with
 * the connection whole, where feed itself would go on from. Other segments without
 * payload are control()'s. */
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
    if (flags & self->mask || (PyBytes_CheckExact(payload) && PyBytes_GET_SIZE(payload) == 0))
        return control(self, seg, flags);
    if (!PyBytes_CheckExact(payload))
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
    if (entry == NULL && !PyErr_Occurred()) {
        /* On a half-open connection, made whole here; then as feed goes on: the common
         * case below, or the Python feed, which finds the connection tracked (or, should
         * making room have closed it, not: as feed would find it then). */
        int made = make_whole(self, seg, key);
        if (made < 0) {
            Py_DECREF(key);
            Py_DECREF(frame_no);
            return -1;
        }
        if (made) {
            Py_DECREF(frame_no);  /* read again, as feed reads it after */
            frame_no = PyObject_GetAttr(self->reassembler, s_frame_no);
            if (frame_no == NULL) {
                Py_DECREF(key);
                return -1;
            }
            entry = PyDict_GetItemWithError(self->flows, key);
        }
    }
    Py_DECREF(key);
    if (entry == NULL) {
        PyErr_Clear();  /* unhashable parts: the Python feed says what that is */
        Py_DECREF(frame_no);
        return 0;
    }
    Tracked t;
    if (!is_common(self, entry, seq, &t)) {
        Py_DECREF(frame_no);
        return 0;
    }
    PyObject *flow = t.flow, *direction = t.direction, *halves = t.halves, *half = t.half,
             *other = t.other;
    const Py_ssize_t *fs = self->flow_slots, *hs = self->half_slots;

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
    long long half_open_cost, flow_cost;
    static char *kwlist[] = {"reassembler", "fallback", "flow_type", "half_type", "mask",
                             "half_open_cost", "flow_cost", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO!O!lLL", kwlist, &reassembler, &fallback,
                                     &PyType_Type, &flow_type, &PyType_Type, &half_type, &mask,
                                     &half_open_cost, &flow_cost))
        return NULL;
    if (half_open_cost < 0 || half_open_cost > (1LL << 20) || flow_cost < 0
        || flow_cost > (1LL << 20)) {
        PyErr_SetString(PyExc_ValueError, "connection costs out of range");
        return NULL;
    }
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
    self->half_open_cost = half_open_cost;
    self->flow_cost = flow_cost;
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
    PyObject *closed_memory = PyObject_GetAttrString(reassembler, "_closed");
    if (closed_memory == NULL)
        goto fail;
    self->closed = PyObject_GetAttrString(closed_memory, "_when");
    Py_DECREF(closed_memory);
    self->half_open = PyObject_GetAttrString(reassembler, "_half_open");
    self->counters = PyObject_GetAttrString(reassembler, "counters");
    self->due = PyObject_GetAttrString(reassembler, "_half_open_due");
    self->seconds = PyObject_GetAttrString(reassembler, "_half_open_seconds");
    self->owns = PyObject_GetAttrString(reassembler, "owns");
    if (!self->closed || !self->half_open || !self->counters || !self->due || !self->seconds
        || !self->owns)
        goto fail;
    if (!PyDict_CheckExact(self->closed) || !PyDict_CheckExact(self->half_open)
        || !PyDict_CheckExact(self->counters) || !PyDict_CheckExact(self->due)
        || !PyList_CheckExact(self->seconds)) {
        PyErr_SetString(PyExc_TypeError, "the reassembler's half-open tables are not dicts");
        goto fail;
    }
    PyObject *limits = PyObject_GetAttrString(reassembler, "limits");
    if (limits == NULL)
        goto fail;
    PyObject *idle = PyObject_GetAttrString(limits, "idle_timeout");
    PyObject *memory = PyObject_GetAttrString(limits, "memory");
    Py_DECREF(limits);
    if (idle == NULL || memory == NULL) {
        Py_XDECREF(idle);
        Py_XDECREF(memory);
        goto fail;
    }
    /* Plain numbers (a float or small int timeout, an int bound), or the Python feed. */
    int overflow = 0;
    self->memory = PyLong_CheckExact(memory) ? PyLong_AsLongLongAndOverflow(memory, &overflow) : 0;
    self->limits_ok = PyLong_CheckExact(memory) && !overflow && !PyErr_Occurred()
        && (PyFloat_CheckExact(idle) || PyLong_CheckExact(idle));
    if (self->limits_ok) {
        self->idle_timeout = PyFloat_CheckExact(idle) ? PyFloat_AS_DOUBLE(idle)
                                                      : PyLong_AsDouble(idle);
        if (PyErr_Occurred())
            self->limits_ok = 0;
    }
    PyErr_Clear();
    Py_DECREF(idle);
    Py_DECREF(memory);
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
    Py_VISIT(self->half_open);
    Py_VISIT(self->closed);
    Py_VISIT(self->counters);
    Py_VISIT(self->due);
    Py_VISIT(self->seconds);
    Py_VISIT(self->owns);
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
    Py_CLEAR(self->half_open);
    Py_CLEAR(self->closed);
    Py_CLEAR(self->counters);
    Py_CLEAR(self->due);
    Py_CLEAR(self->seconds);
    Py_CLEAR(self->owns);
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

/* ipv4_text(addr): a packed IPv4 address (exact bytes, 4 of them) as dotted decimal, as
 * socket.inet_ntop(AF_INET, addr) gives it (its reference: test_inorder.py), once per
 * connection; inet_ntop's C library call formats with sprintf, ~1,700 instructions. */
static PyObject *
ipv4_text(PyObject *module, PyObject *addr)
{
    if (!PyBytes_CheckExact(addr) || PyBytes_GET_SIZE(addr) != 4) {
        PyErr_SetString(PyExc_ValueError, "ipv4_text takes 4 bytes");
        return NULL;
    }
    const unsigned char *a = (const unsigned char *)PyBytes_AS_STRING(addr);
    char text[16];  /* "255.255.255.255" */
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        unsigned v = a[i];
        if (i)
            text[n++] = '.';
        if (v >= 100)
            text[n++] = (char)('0' + v / 100);
        if (v >= 10)
            text[n++] = (char)('0' + v / 10 % 10);
        text[n++] = (char)('0' + v % 10);
    }
    return PyUnicode_FromStringAndSize(text, (Py_ssize_t)n);
}

static PyMethodDef module_methods[] = {
    {"ipv4_text", ipv4_text, METH_O, "A packed IPv4 address as text (as inet_ntop)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "capture.net._inorder",
    .m_doc = "The common segment of TCP reassembly, in C (see reassembly.py).",
    .m_size = -1,
    .m_methods = module_methods,
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
        {&s_late_segments, "late_segments"}, {&s_flows, "flows"},
        {&s_next_id, "_next_id"}, {&s_half_open_order, "_half_open_order"},
        {&s_append, "append"}, {&s_half_open_filed, "_half_open_filed"},
        {&s_held_bytes, "held_bytes"}, {&s_room, "_room"}, {&s_make_whole, "_make_whole"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        *names[i].slot = PyUnicode_InternFromString(names[i].name);
        if (*names[i].slot == NULL)
            return NULL;
    }
    PyObject *heapq = PyImport_ImportModule("_heapq");
    if (heapq == NULL)
        return NULL;
    heappush = PyObject_GetAttrString(heapq, "heappush");
    Py_DECREF(heapq);
    if (heappush == NULL)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "InOrder", (PyObject *)&InOrderType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
