/* The record walk of a classic-pcap scan, in C.
 *
 * This is capture.sources.frames.CaptureFile._iter_pcap (the reference: read it first)
 * written as an iterator type, because that loop runs once for every record of
 * every scan and in Python costs about 1.2 us a record, a quarter of a scan.
 * Both walks give the same frames, ticks, record counts, skip-table updates and
 * cut-short verdicts; tests/capture/sources/test_pcapwalk.py holds them to it on real
 * and damaged captures.
 *
 * Records(read, big_endian, per_second, linktype, skip, touched, shard_index,
 *         shard_count, owner, frame, cut[, probe]) iterates Frame objects. read(n)
 * returns bytes (empty at the end);
 * owner.records is set to the count of records read before each frame is
 * returned (.records has it at the end); cut is raised when the input stops
 * inside a record, and cut(held, length) at a record whose length field claims more
 * than any capture holds (damage: held is the bytes read from its start on). With probe true, a skip-table value that is an int (a probed
 * direction: see capture.net.reassembly.Reassembler.skip) makes the segment with
 * payload at that sequence number be looked at here: when settles() says its bytes
 * settle the probe, it is passed over like a skipped one and a VERDICT frame (its
 * key as data) is returned in its place. With segment (the Segment named tuple, or
 * None), a plain TCP record (Ethernet, at most two VLAN tags, IPv4 or IPv6: see
 * plain) that capture.net.decode.plain_segment (the reference) decodes, its MAC
 * addresses not all zero, is decoded here and returned as
 * a SEGMENT frame, the Segment as its data. With verdicts (a list, or None) too, a
 * settled probe whose connection's other direction has an entry in the table (the
 * table is up to date there: see frames.py) is settled here: its entry becomes True and
 * its key is appended to verdicts, and no frame comes for it. With foreign (a set, or
 * None) too and more than one shard, the shard is tested first: while foreign is empty
 * (no open connection of another process is tracked, so the table holds no key of
 * one: capture.net.reassembly.Reassembler.foreign), another process's record is passed
 * over before its key is made or looked up. With span, (bytes, start, end): the
 * walk is of the simple pcapng Enhanced Packet Blocks of bytes[start:end] instead,
 * where they lie (epb_span found them whole and of one link type and resolution,
 * per_second; read is not called): the same frames as a walk of the classic records
 * frames.epb_run_py rewrites them as, without that copy of every packet.
 *
 * Built by pip install (see pyproject.toml); after an edit here, pip install -e .
 * again, or the tests go on running the old build (one of them says so).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_FRAME (1 << 24)
#define CHUNK (1 << 20)
#define TICK (-1)
#define VERDICT (-2)
#define SEGMENT (-3)
#define KEY_SLOTS 512 /* a power of two */

#define KEY_MAX 36 /* an IPv6 direction's addresses and ports */

/* A recent plain record's direction (see recent_slot). */
typedef struct {
    unsigned char raw[KEY_MAX]; /* its addresses, then ports (see plain) */
    unsigned char len;          /* 12 (IPv4) or 36 (IPv6); 0: unused */
    signed char ours;      /* owns(): -1 not asked yet, else its answer */
    PyObject *key;         /* raw as bytes (a table key), or NULL: not made yet */
} Recent;

typedef struct {
    PyObject_HEAD
    PyObject *read;     /* read(n) -> bytes */
    PyObject *skip;     /* dict or NULL */
    PyObject *touched;  /* dict or NULL */
    PyObject *owner;    /* has .records */
    PyTypeObject *frame; /* the Frame named tuple */
    PyObject *cut;      /* exception type for a record cut short */
    PyObject *linktype; /* int */
    PyObject *per_second_obj;
    PyObject *buf;      /* bytes */
    PyObject *sec_obj;  /* the int of tick_sec, for touched[key] = sec */
    PyTypeObject *segment; /* the Segment named tuple, or NULL: frames stay bytes */
    PyObject *verdicts; /* list or NULL: where quiet verdicts' keys go */
    PyObject *foreign;  /* set or NULL: other processes' connections the table may hold */
    Recent recent[KEY_SLOTS];
    Py_ssize_t size, pos;
    long long records;
    long long tick_sec;
    uint64_t per_second;
    uint32_t shard_index, shard_count; /* count 1: every connection is ours */
    int big_endian;
    int probe;
    int done;
    int running;
    /* Set: buf[pos:size] is a run of simple pcapng Enhanced Packet Blocks of one link
     * type and resolution (epb_span checked them), walked where they lie; read is
     * never called. Else classic-pcap records, read in chunks. */
    int epb;
} Records;

static PyObject *records_name;  /* interned "records" */
static PyObject *empty_bytes;
static PyObject *empty_tuple;
static PyObject *tick_obj;
static PyObject *verdict_obj;
static PyObject *segment_obj;
static inline uint32_t
u32(const unsigned char *p, int big)
{
    if (big)
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static inline uint32_t
swap32(uint32_t x)
{
    return x >> 24 | (x >> 8 & 0xFF00u) | (x << 8 & 0xFF0000u) | x << 24;
}

/* CRC-32 (zlib's), four bytes a step: crc_table[0] is the byte-wise table, and
 * crc_table[k][n] the CRC of byte n followed by k zero bytes. */
static uint32_t crc_table[4][256];

/* capture.net.shard.Shard.owns_raw for a plain record's key k[0:len] (see plain):
 * the CRC-32 of the lower endpoint's address and port, then the other's, modulo
 * count. Every split-scan record asks it once per run of its direction (recent_slot).
 * IPv4 takes the 12 bytes four at a time (a byte at a time cost 130 instructions);
 * IPv6, rarer, a byte at a time. */
static int
owns(const Records *self, const unsigned char *k, int len)
{
    uint32_t crc = 0xFFFFFFFFu;
    if (len == 12) {
        /* Endpoints as address then port: source at 0 and 8, destination at 4 and 10,
         * compared as the 6 bytes address-then-port that Python compares. */
        uint64_t a = (uint64_t)u32(k, 1) << 16 | (uint64_t)k[8] << 8 | k[9];
        uint64_t b = (uint64_t)u32(k + 4, 1) << 16 | (uint64_t)k[10] << 8 | k[11];
        uint64_t lo = a < b ? a : b, hi = a < b ? b : a;
        /* The 12 bytes lo then hi (big-endian, 6 each) as three little-endian words. */
        uint32_t words[3] = {
            swap32((uint32_t)(lo >> 16)),
            swap32((uint32_t)(lo << 16) | (uint32_t)(hi >> 32)),
            swap32((uint32_t)hi),
        };
        for (int i = 0; i < 3; i++) {
            crc ^= words[i];
            crc = crc_table[3][crc & 0xFF] ^ crc_table[2][(crc >> 8) & 0xFF]
                  ^ crc_table[1][(crc >> 16) & 0xFF] ^ crc_table[0][crc >> 24];
        }
    }
    else {
        int n = (len - 4) / 2;
        unsigned char a[18], b[18];
        memcpy(a, k, (size_t)n);
        memcpy(a + n, k + 2 * n, 2);
        memcpy(b, k + n, (size_t)n);
        memcpy(b + n, k + 2 * n + 2, 2);
        const unsigned char *lo = memcmp(a, b, (size_t)n + 2) < 0 ? a : b;
        const unsigned char *hi = lo == a ? b : a;
        for (int i = 0; i < 2 * (n + 2); i++) {
            unsigned char byte = i < n + 2 ? lo[i] : hi[i - n - 2];
            crc = crc_table[0][(crc ^ byte) & 0xFF] ^ crc >> 8;
        }
    }
    return (crc ^ 0xFFFFFFFFu) % self->shard_count == self->shard_index;
}

/* capture.net.decode.plain_tcp (the reference: read it first) for the frame
 * f[0:caplen]: 1 when it is plain (Ethernet II, at most two VLAN tags, IPv4 without
 * options and not a fragment or IPv6 whose next header is TCP, the whole TCP header
 * in the record), with where its key (addresses, then ports: 12 or 36 bytes), its TCP
 * header and its IP end (what the IP length says) are; 0 otherwise. */
typedef struct {
    Py_ssize_t key, len, tcp, ip_end;
} Plain;

static inline int
plain(const unsigned char *f, Py_ssize_t caplen, Plain *out)
{
    Py_ssize_t n = 14;
    if (caplen < n)
        return 0;
    unsigned int ethertype = (unsigned int)f[12] << 8 | f[13];
    for (int tags = 0; ethertype == 0x8100 || ethertype == 0x88A8 || ethertype == 0x9100
                       || ethertype == 0x9200;
         tags++) {
        if (tags == 2 || caplen < n + 4)
            return 0;
        ethertype = (unsigned int)f[n + 2] << 8 | f[n + 3];
        n += 4;
    }
    if (ethertype == 0x0800) {
        if (caplen < n + 40 || f[n] != 0x45 || f[n + 9] != 6 || (f[n + 6] & 0x3F) || f[n + 7])
            return 0;
        out->key = n + 12;
        out->len = 12;
        out->tcp = n + 20;
        out->ip_end = n + ((Py_ssize_t)f[n + 2] << 8 | f[n + 3]);
        return 1;
    }
    if (ethertype == 0x86DD) {
        if (caplen < n + 60 || f[n] >> 4 != 6 || f[n + 6] != 6)
            return 0;
        out->key = n + 8;
        out->len = 36;
        out->tcp = n + 40;
        out->ip_end = n + 40 + ((Py_ssize_t)f[n + 4] << 8 | f[n + 5]);
        return 1;
    }
    return 0;
}

static inline unsigned char
lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* capture.http.stream.first_head_settles (the reference: read it first): whether the
 * first segment of a server's stream, p[0:n], settles by itself that its connection
 * brings no reflector's echo. */
static int
settles(const unsigned char *p, Py_ssize_t n)
{
    static const char http[] = "HTTP/";
    static const char mark[] = "x-headerwatch-received:";  /* after a line feed */
    const Py_ssize_t mark_len = sizeof(mark) - 1;
    Py_ssize_t start = 0, i, end = -1, eol = -1;
    while (start < n && (p[start] == '\r' || p[start] == '\n'))
        start++;
    /* looks_like_response(p[start:start + 6]) is False: no status line can start here. */
    Py_ssize_t m = n - start < 6 ? n - start : 6;
    for (i = 0; i < m && i < 5; i++)
        if ((p[start + i] >= 'a' && p[start + i] <= 'z' ? p[start + i] - 32 : p[start + i])
            != http[i])
            return 1;
    if (m == 6 && !(p[start + 5] >= '0' && p[start + 5] <= '9'))
        return 1;
    /* find_head_end(p, start): just past the first empty line. On the way, each
     * line start is checked for the echo header (case-insensitive; it must end
     * inside the head, which it does when its line is not the last). */
    const unsigned char *nl;
    for (i = start; i < n; i = nl - p + 1) {
        nl = memchr(p + i, '\n', n - i);
        if (nl == NULL)
            return 0;  /* no end of the head here */
        Py_ssize_t at = nl - p;
        if (eol < 0)
            eol = at;
        if (at + 1 < n && p[at + 1] == '\n') {
            end = at + 2;
            break;
        }
        if (at + 2 < n && p[at + 1] == '\r' && p[at + 2] == '\n') {
            end = at + 3;
            break;
        }
        if (at + 1 + mark_len <= n && lower(p[at + 1]) == 'x') {
            Py_ssize_t k = 1;
            while (k < mark_len && lower(p[at + 1 + k]) == (unsigned char)mark[k])
                k++;
            if (k == mark_len)
                return 0;
        }
    }
    if (end < 0)
        return 0;
    /* An interim status (1xx) leaves the final head to come: not settled here. */
    for (i = start; i < eol; i++)
        if (p[i] == ' ')
            return p[i + 1] != '1';
    return 1;
}

static int
set_records(Records *self)
{
    PyObject *n = PyLong_FromLongLong(self->records);
    if (n == NULL)
        return -1;
    int rc = PyObject_SetAttr(self->owner, records_name, n);
    Py_DECREF(n);
    return rc;
}

/* capture.net.decode.plain_segment (the reference: read it first) on the frame
 * f[0:caplen], for a record the walk returns. 1: *out is its Segment, holding ts
 * (a new reference taken here); 0: not such a frame (or zero MAC addresses: PCAPdroid's,
 * whose trailer the pipeline reads), left as bytes; -1: an error, set. Every offset
 * read is checked against caplen: the frame is whatever the file says. */
static int
plain_segment(Records *self, const unsigned char *f, Py_ssize_t caplen, PyObject *ts,
              PyObject **out)
{
    static const unsigned char zero[12];
    Plain pl;
    if (caplen < 54 || memcmp(f, zero, 12) == 0 || !plain(f, caplen, &pl))
        return 0;
    Py_ssize_t n = (pl.len - 4) / 2; /* an address: 4 bytes, or 16 */
    const unsigned char *tcp = f + pl.tcp;
    Py_ssize_t end;
    if (n == 4) /* An IP length below both headers' minimum is not believed: the frame's end. */
        end = pl.ip_end >= pl.tcp + 20 ? pl.ip_end : caplen;
    else /* A payload length of 0 (jumbo, TSO): the frame's end. */
        end = pl.ip_end != pl.tcp ? pl.ip_end : caplen;
    Py_ssize_t start = pl.tcp + (Py_ssize_t)(tcp[12] >> 4) * 4;
    if (start > end)
        return 0;
    /* data[start:end], as Python slices it: both ends clamped to the frame. */
    Py_ssize_t lo = start < caplen ? start : caplen, hi = end < caplen ? end : caplen;
    Py_ssize_t size = hi - lo;  /* >= 0, since start <= end */
    PyObject *seg = self->segment->tp_alloc(self->segment, 10);
    if (seg == NULL)
        return -1;
    PyObject *items[10] = {
        Py_NewRef(ts),
        PyBytes_FromStringAndSize((const char *)f + pl.key, n),
        PyLong_FromLong((long)tcp[0] << 8 | tcp[1]),
        PyBytes_FromStringAndSize((const char *)f + pl.key + n, n),
        PyLong_FromLong((long)tcp[2] << 8 | tcp[3]),
        PyLong_FromUnsignedLong(u32(tcp + 4, 1)),
        PyLong_FromUnsignedLong(u32(tcp + 8, 1)),
        PyLong_FromLong(tcp[13]),
        PyBytes_FromStringAndSize((const char *)f + lo, size),
        PyLong_FromSsize_t(end - start - size),
    };
    int failed = 0;
    for (int i = 0; i < 10; i++) {
        if (items[i] == NULL)
            failed = 1;
        PyTuple_SET_ITEM(seg, i, items[i]);  /* a NULL item is fine for the dealloc */
    }
    if (failed) {
        Py_DECREF(seg);
        return -1;
    }
    *out = seg;
    return 1;
}

/* The slot of a plain record's direction, its key k[0:len] (see plain), holding what
 * was worked out for it. A direction's records come in runs, so what an earlier record
 * of the same key found is kept in a slot chosen by its bytes, and taken again when all
 * match: whose connection it is (no CRC), and its table key, the same bytes object
 * (no allocation, and its hash, cached in the object, is not computed again by the
 * look-up). */
static Recent *
recent_slot(Records *self, const unsigned char *k, int len)
{
    /* Not symmetric: a connection's two directions, which alternate, take two slots.
     * The ports, then each address's last byte. */
    int n = (len - 4) / 2;
    uint32_t mix = ((uint32_t)k[2 * n] << 8 | k[2 * n + 1]) * 0x9E3779B1u
                   + ((uint32_t)k[2 * n + 2] << 8 | k[2 * n + 3])
                   + (uint32_t)k[n - 1] * 131u + k[2 * n - 1];
    Recent *r = &self->recent[(mix ^ mix >> 16) & (KEY_SLOTS - 1)];
    if (r->len != len || memcmp(r->raw, k, (size_t)len) != 0) {
        memcpy(r->raw, k, (size_t)len);
        r->len = (unsigned char)len;
        r->ours = -1;
        Py_CLEAR(r->key);  /* a bytes object: nothing runs when it goes */
    }
    return r;
}

/* owns() for the record whose slot is r. */
static int
recent_owns(const Records *self, Recent *r)
{
    if (r->ours < 0)
        r->ours = (signed char)owns(self, r->raw, r->len);
    return r->ours;
}

/* The table key of the record whose slot is r: a new reference, or NULL (error set). */
static PyObject *
recent_key(Recent *r)
{
    if (r->key == NULL) {
        r->key = PyBytes_FromStringAndSize((const char *)r->raw, r->len);
        if (r->key == NULL)
            return NULL;
    }
    return Py_NewRef(r->key);
}

static PyObject *
make_frame(Records *self, PyObject *ts, PyObject *linktype, PyObject *data)
{
    /* A Frame is a tuple subclass of four items (comments last, empty here). */
    PyObject *frame = self->frame->tp_alloc(self->frame, 4);
    if (frame == NULL) {
        Py_DECREF(ts);
        Py_DECREF(data);
        return NULL;
    }
    Py_INCREF(linktype);
    Py_INCREF(empty_tuple);
    PyTuple_SET_ITEM(frame, 0, ts);
    PyTuple_SET_ITEM(frame, 1, linktype);
    PyTuple_SET_ITEM(frame, 2, data);
    PyTuple_SET_ITEM(frame, 3, empty_tuple);
    return frame;
}

/* (sec * per_second + frac) / per_second, rounded exactly as Python's int
 * division rounds it. */
static PyObject *
timestamp(Records *self, uint32_t sec, uint32_t frac)
{
    uint64_t whole = (uint64_t)sec * self->per_second + frac;
    if (whole <= ((uint64_t)1 << 53))  /* both exact as doubles: one rounding */
        return PyFloat_FromDouble((double)whole / (double)self->per_second);
    PyObject *num = PyLong_FromUnsignedLongLong(whole);
    if (num == NULL)
        return NULL;
    PyObject *ts = PyNumber_TrueDivide(num, self->per_second_obj);
    Py_DECREF(num);
    return ts;
}

/* read(n), as bytes. */
static PyObject *
read_bytes(Records *self, Py_ssize_t n)
{
    PyObject *data = PyObject_CallFunction(self->read, "n", n);
    if (data != NULL && !PyBytes_Check(data))
        Py_SETREF(data, PyBytes_FromObject(data));
    return data;
}

/* Refill: returns 1 to go on, 0 at a clean end, -1 on error (set). */
static int
refill(Records *self, Py_ssize_t end)
{
    if (end - self->pos > 16 + MAX_FRAME) {
        /* Damage, not a cut: cut(bytes read from the record's start, its length). */
        PyObject *args = Py_BuildValue("(nn)", self->size - self->pos, end - self->pos - 16);
        if (args == NULL)
            return -1;
        PyErr_SetObject(self->cut, args);
        Py_DECREF(args);
        return -1;
    }
    if (self->pos < self->size) {
        /* A record cut by the last read: fetch only its rest (see frames.py). */
        PyObject *more = read_bytes(self, end - self->size);
        if (more == NULL)
            return -1;
        Py_ssize_t extra = PyBytes_GET_SIZE(more);
        if (extra == 0) {
            Py_DECREF(more);
            PyErr_SetNone(self->cut);
            return -1;
        }
        Py_ssize_t rest = self->size - self->pos;
        PyObject *joined = PyBytes_FromStringAndSize(NULL, rest + extra);
        if (joined == NULL) {
            Py_DECREF(more);
            return -1;
        }
        memcpy(PyBytes_AS_STRING(joined), PyBytes_AS_STRING(self->buf) + self->pos, rest);
        memcpy(PyBytes_AS_STRING(joined) + rest, PyBytes_AS_STRING(more), extra);
        Py_DECREF(more);
        Py_SETREF(self->buf, joined);
    }
    else {
        PyObject *more = read_bytes(self, CHUNK);
        if (more == NULL)
            return -1;
        Py_SETREF(self->buf, more);
        if (PyBytes_GET_SIZE(more) == 0) {
            self->size = self->pos = 0;
            return 0;
        }
    }
    self->size = PyBytes_GET_SIZE(self->buf);
    self->pos = 0;
    return 1;
}

static PyObject *
records_step(Records *self)
{
    if (self->done)
        return NULL;
    /* A classic record's header is 16 bytes; an Enhanced Packet Block's fields before
     * its packet, 28. */
    const Py_ssize_t head = self->epb ? 28 : 16;
    for (;;) {
        const unsigned char *base = (const unsigned char *)PyBytes_AS_STRING(self->buf);
        Py_ssize_t pos = self->pos, end;
        uint32_t sec = 0, frac = 0, caplen = 0;
        if (pos + head > self->size)
            end = pos + head;
        else if (self->epb) {
            /* The block's length (its padded packet within), the packet's, and the
             * timestamp in the interface's units (before 2106: epb_span saw to it). */
            uint64_t t = (uint64_t)u32(base + pos + 12, self->big_endian) << 32
                         | u32(base + pos + 16, self->big_endian);
            sec = (uint32_t)(t / self->per_second);
            frac = (uint32_t)(t % self->per_second);
            caplen = u32(base + pos + 20, self->big_endian);
            end = pos + (Py_ssize_t)u32(base + pos + 4, self->big_endian);
            if (end < pos + head + (Py_ssize_t)caplen) {
                /* Not a block epb_span passed (its length holds its packet): the
                 * span was made some other way. Refused, not walked in a loop. */
                PyErr_SetString(PyExc_ValueError, "a span of blocks epb_span did not find");
                self->done = 1;
                return NULL;
            }
        }
        else {
            sec = u32(base + pos, self->big_endian);
            frac = u32(base + pos + 4, self->big_endian);
            caplen = u32(base + pos + 8, self->big_endian);
            end = pos + 16 + (Py_ssize_t)caplen;
        }
        if (end > self->size) {
            if (self->epb) {
                /* The run's end: its blocks are whole (epb_span). */
                self->done = 1;
                return NULL;
            }
            int rc = refill(self, end);
            if (rc == 1)
                continue;
            /* The end, clean (StopIteration) or not (the error set); the
             * caller reads the final count from .records. */
            self->done = 1;
            return NULL;
        }
        if ((long long)sec > self->tick_sec) {
            self->tick_sec = sec;
            PyObject *sec_obj = PyLong_FromUnsignedLong(sec);
            if (sec_obj == NULL)
                return NULL;
            Py_SETREF(self->sec_obj, sec_obj);
            if (set_records(self) < 0)
                return NULL;
            PyObject *ts = PyFloat_FromDouble((double)sec);
            if (ts == NULL)
                return NULL;
            Py_INCREF(empty_bytes);
            return make_frame(self, ts, tick_obj, empty_bytes);
        }
        self->records++;
        const unsigned char *f = base + pos + head;  /* the frame */
        Plain pl;
        if (self->skip != NULL && plain(f, caplen, &pl)) {
            Recent *recent = recent_slot(self, f + pl.key, (int)pl.len);
            if (self->foreign != NULL && PySet_GET_SIZE(self->foreign) == 0
                && !recent_owns(self, recent)) {
                /* No key of another process's connection is in the table: passed
                 * over without a look-up (see frames.py). */
                self->pos = end;
                continue;
            }
            PyObject *key = recent_key(recent);
            if (key == NULL)
                return NULL;
            PyObject *whole = PyDict_GetItemWithError(self->skip, key);  /* borrowed */
            int skip = 0, verdict = 0;
            if (whole != NULL) {
                const unsigned char *tcp = f + pl.tcp;
                Py_ssize_t doff = tcp[12] >> 4 << 2;
                skip = !(tcp[13] & 0x07)  /* no SYN, FIN or RST */
                       && (whole == Py_True || pl.ip_end == pl.tcp + doff);
                if (!skip && self->probe && !(tcp[13] & 0x07) && PyLong_CheckExact(whole)
                    && pl.tcp + 20 <= pl.ip_end && pl.tcp + doff < pl.ip_end
                    && pl.ip_end <= caplen) {
                    /* A probed direction: its first segment, whole in the record? */
                    unsigned long expected = PyLong_AsUnsignedLong(whole);
                    if (expected == (unsigned long)-1 && PyErr_Occurred()) {
                        Py_DECREF(key);
                        return NULL;
                    }
                    verdict = skip = expected == u32(tcp + 4, 1)
                                     && settles(tcp + doff, pl.ip_end - pl.tcp - doff);
                }
            }
            else if (PyErr_Occurred()) {
                Py_DECREF(key);
                return NULL;
            }
            else if (self->shard_count > 1 && !recent_owns(self, recent)) {
                /* Another process's connection: not ours to read or track. */
                Py_DECREF(key);
                self->pos = end;
                continue;
            }
            if (skip) {
                int rc;
                if ((long long)sec == self->tick_sec)
                    rc = PyDict_SetItem(self->touched, key, self->sec_obj);
                else {  /* a record stamped earlier than one before it */
                    PyObject *early = PyLong_FromUnsignedLong(sec);
                    rc = early == NULL ? -1 : PyDict_SetItem(self->touched, key, early);
                    Py_XDECREF(early);
                }
                if (rc < 0) {
                    Py_DECREF(key);
                    return NULL;
                }
                self->pos = end;
                if (verdict && self->verdicts != NULL) {
                    /* The other direction's key: addresses, then ports, swapped. */
                    unsigned char peer[KEY_MAX];
                    const unsigned char *k = f + pl.key;
                    Py_ssize_t n = (pl.len - 4) / 2;
                    memcpy(peer, k + n, (size_t)n);
                    memcpy(peer + n, k, (size_t)n);
                    memcpy(peer + 2 * n, k + 2 * n + 2, 2);
                    memcpy(peer + 2 * n + 2, k + 2 * n, 2);
                    PyObject *peer_key = PyBytes_FromStringAndSize((const char *)peer, pl.len);
                    int quiet = peer_key == NULL ? -1 : PyDict_Contains(self->skip, peer_key);
                    Py_XDECREF(peer_key);
                    if (quiet == 1)
                        quiet = PyDict_SetItem(self->skip, key, Py_True) < 0
                                        || PyList_Append(self->verdicts, key) < 0
                                    ? -1
                                    : 1;
                    if (quiet != 0) {
                        Py_DECREF(key);
                        if (quiet < 0)
                            return NULL;
                        continue;
                    }
                }
                if (verdict) {
                    PyObject *ts = PyFloat_FromDouble((double)sec);
                    if (ts == NULL || set_records(self) < 0) {
                        Py_XDECREF(ts);
                        Py_DECREF(key);
                        return NULL;
                    }
                    return make_frame(self, ts, verdict_obj, key);
                }
                Py_DECREF(key);
                continue;
            }
            Py_DECREF(key);
        }
        PyObject *data = PyBytes_FromStringAndSize((const char *)f, caplen);
        if (data == NULL)
            return NULL;
        self->pos = end;
        PyObject *ts = timestamp(self, sec, frac);
        if (ts == NULL || set_records(self) < 0) {
            Py_XDECREF(ts);
            Py_DECREF(data);
            return NULL;
        }
        if (self->segment != NULL) {
            PyObject *seg = NULL;
            int rc = plain_segment(self, f, caplen, ts, &seg);
            if (rc < 0) {
                Py_DECREF(ts);
                Py_DECREF(data);
                return NULL;
            }
            if (rc == 1) {
                Py_DECREF(data);
                return make_frame(self, ts, segment_obj, seg);
            }
        }
        return make_frame(self, ts, self->linktype, data);
    }
}

/* One step at a time: Python code that runs inside a step (read(), a setattr,
 * a finalizer) must not step the same walk, which would replace the buffer that
 * the outer step points into. Python's generators refuse the same way. */
static PyObject *
records_next(Records *self)
{
    if (self->running) {
        PyErr_SetString(PyExc_ValueError, "capture.sources._pcapwalk.Records already executing");
        return NULL;
    }
    self->running = 1;
    PyObject *frame = records_step(self);
    self->running = 0;
    return frame;
}

static PyObject *
records_new(PyTypeObject *type, PyObject *args, PyObject *Py_UNUSED(kwargs))
{
    PyObject *read, *skip, *touched, *owner, *frame, *cut, *linktype;
    int big_endian;
    unsigned long long per_second;
    unsigned int shard_index, shard_count;
    int probe = 0;
    PyObject *segment = Py_None, *verdicts = Py_None, *foreign = Py_None, *span = Py_None;
    if (!PyArg_ParseTuple(args, "OpKOOOIIOOO|pOOOO:Records", &read, &big_endian, &per_second,
                          &linktype, &skip, &touched, &shard_index, &shard_count, &owner,
                          &frame, &cut, &probe, &segment, &verdicts, &foreign, &span))
        return NULL;
    PyObject *blocks = NULL;
    Py_ssize_t span_start = 0, span_end = 0;
    if (span != Py_None) {
        /* (bytes, start, end): blocks epb_span passed, walked where they lie. */
        if (!PyTuple_Check(span) || PyTuple_GET_SIZE(span) != 3
            || !PyBytes_Check(PyTuple_GET_ITEM(span, 0))) {
            PyErr_SetString(PyExc_TypeError, "span must be (bytes, start, end) or None");
            return NULL;
        }
        blocks = PyTuple_GET_ITEM(span, 0);
        span_start = PyLong_AsSsize_t(PyTuple_GET_ITEM(span, 1));
        span_end = span_start == -1 && PyErr_Occurred() ? -1
                                                         : PyLong_AsSsize_t(PyTuple_GET_ITEM(span, 2));
        if (PyErr_Occurred())
            return NULL;
        if (span_start < 0 || span_start > span_end || span_end > PyBytes_GET_SIZE(blocks)) {
            PyErr_SetString(PyExc_ValueError, "span out of its bytes");
            return NULL;
        }
    }
    if (foreign != Py_None && !PyAnySet_Check(foreign)) {
        PyErr_SetString(PyExc_TypeError, "foreign must be a set or None");
        return NULL;
    }
    if (verdicts != Py_None && !PyList_CheckExact(verdicts)) {
        PyErr_SetString(PyExc_TypeError, "verdicts must be a list or None");
        return NULL;
    }
    if (segment != Py_None
        && (!PyType_Check(segment)
            || !PyType_IsSubtype((PyTypeObject *)segment, &PyTuple_Type))) {
        PyErr_SetString(PyExc_TypeError, "segment must be a tuple subclass or None");
        return NULL;
    }
    if (shard_count == 0 || shard_index >= shard_count) {
        PyErr_SetString(PyExc_ValueError, "shard index must be below a positive count");
        return NULL;
    }
    if (!PyType_Check(frame) || !PyType_IsSubtype((PyTypeObject *)frame, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "frame must be a tuple subclass");
        return NULL;
    }
    if (skip != Py_None && (!PyDict_Check(skip) || !PyDict_Check(touched))) {
        PyErr_SetString(PyExc_TypeError, "skip and touched must be dicts");
        return NULL;
    }
    if (per_second == 0) {
        PyErr_SetString(PyExc_ValueError, "per_second must be positive");
        return NULL;
    }
    Records *self = (Records *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    Py_INCREF(read);
    self->read = read;
    self->skip = skip == Py_None ? NULL : Py_NewRef(skip);
    self->touched = skip == Py_None ? NULL : Py_NewRef(touched);
    self->owner = Py_NewRef(owner);
    self->frame = (PyTypeObject *)Py_NewRef(frame);
    self->segment = segment == Py_None ? NULL : (PyTypeObject *)Py_NewRef(segment);
    self->cut = Py_NewRef(cut);
    self->linktype = Py_NewRef(linktype);
    self->per_second = per_second;
    self->shard_index = shard_index;
    self->shard_count = shard_count;
    self->per_second_obj = PyLong_FromUnsignedLongLong(per_second);
    self->buf = Py_NewRef(blocks != NULL ? blocks : empty_bytes);
    self->epb = blocks != NULL;
    self->pos = span_start;
    self->size = span_end;
    self->sec_obj = PyLong_FromLong(0);
    self->big_endian = big_endian;
    self->probe = probe && skip != Py_None;
    self->verdicts = self->probe && verdicts != Py_None ? Py_NewRef(verdicts) : NULL;
    self->foreign = skip != Py_None && shard_count > 1 && foreign != Py_None
                        ? Py_NewRef(foreign)
                        : NULL;
    /* Ticks only with a table (as in frames.py). */
    self->tick_sec = touched == Py_None ? ((long long)1 << 62) : -1;
    PyObject *start = PyObject_GetAttr(owner, records_name);
    if (start == NULL || self->per_second_obj == NULL || self->sec_obj == NULL) {
        Py_XDECREF(start);
        Py_DECREF(self);
        return NULL;
    }
    self->records = PyLong_AsLongLong(start);
    Py_DECREF(start);
    if (self->records == -1 && PyErr_Occurred()) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static int
records_traverse(Records *self, visitproc visit, void *arg)
{
    Py_VISIT(self->read);
    Py_VISIT(self->skip);
    Py_VISIT(self->touched);
    Py_VISIT(self->owner);
    Py_VISIT(self->frame);
    Py_VISIT(self->segment);
    Py_VISIT(self->verdicts);
    Py_VISIT(self->foreign);
    Py_VISIT(self->cut);
    return 0;
}

static int
records_clear(Records *self)
{
    Py_CLEAR(self->read);
    Py_CLEAR(self->skip);
    Py_CLEAR(self->touched);
    Py_CLEAR(self->owner);
    Py_CLEAR(self->frame);
    Py_CLEAR(self->segment);
    Py_CLEAR(self->verdicts);
    Py_CLEAR(self->foreign);
    Py_CLEAR(self->cut);
    Py_CLEAR(self->linktype);
    Py_CLEAR(self->per_second_obj);
    Py_CLEAR(self->buf);
    Py_CLEAR(self->sec_obj);
    for (int i = 0; i < KEY_SLOTS; i++)
        Py_CLEAR(self->recent[i].key);
    return 0;
}

static void
records_dealloc(Records *self)
{
    PyObject_GC_UnTrack(self);
    records_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
records_get_records(Records *self, void *Py_UNUSED(closure))
{
    return PyLong_FromLongLong(self->records);
}

static PyGetSetDef records_getset[] = {
    {"records", (getter)records_get_records, NULL, "Records read so far.", NULL},
    {NULL},
};

static PyTypeObject RecordsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "capture.sources._pcapwalk.Records",
    .tp_basicsize = sizeof(Records),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The frames of a classic-pcap stream, or of a run of pcapng packet blocks "
              "(see capture/sources/_pcapwalk.c).",
    .tp_new = records_new,
    .tp_dealloc = (destructor)records_dealloc,
    .tp_traverse = (traverseproc)records_traverse,
    .tp_clear = (inquiry)records_clear,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)records_next,
    .tp_getset = records_getset,
};

#define MAX_BLOCK (MAX_FRAME + (1 << 20)) /* frames._MAX_BLOCK */

/* One simple Enhanced Packet Block of a pcapng file at b[pos:n] (see frames.epb_run_py,
 * the reference: read it first): 1 with its length and its interface's link type and
 * resolution (what epb_span needs: a walk of the span reads the rest of the block
 * itself), 0 when more bytes are needed, -1 when it is not simple. */
static int
simple_epb(const unsigned char *b, Py_ssize_t n, Py_ssize_t pos, int big, PyObject *ifs,
           uint32_t *length, long long *linktype, long long *resolution)
{
    uint32_t type = u32(b + pos, big), len = u32(b + pos + 4, big);
    if (type != 6 || len % 4 || len < 32 || len > MAX_BLOCK)
        return -1;
    if (n - pos < (Py_ssize_t)len)
        return 0;
    uint32_t intf = u32(b + pos + 8, big), cap = u32(b + pos + 20, big);
    if ((uint64_t)len != 32 + (uint64_t)cap + (4 - cap % 4) % 4 || cap > MAX_FRAME
        || u32(b + pos + len - 4, big) != len || (Py_ssize_t)intf >= PySequence_Fast_GET_SIZE(ifs))
        return -1;
    PyObject *pair = PySequence_Fast_GET_ITEM(ifs, intf);
    if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2)
        return -1;
    int overflow = 0;
    long long lt = PyLong_AsLongLongAndOverflow(PyTuple_GET_ITEM(pair, 0), &overflow);
    long long res = overflow ? 0 : PyLong_AsLongLongAndOverflow(PyTuple_GET_ITEM(pair, 1), &overflow);
    if (PyErr_Occurred())
        PyErr_Clear();
    if (overflow || (res != 1000000 && res != 1000000000))
        return -1;
    uint64_t t = (uint64_t)u32(b + pos + 12, big) << 32 | u32(b + pos + 16, big);
    if (t / (uint64_t)res >= 0xFFFFFFFFu)
        return -1;
    *length = len;
    *linktype = lt;
    *resolution = res;
    return 1;
}

/* epb_span(buf, pos, big_endian, interfaces) is the last three items of
 * capture.sources.frames.epb_run_py: the simple Enhanced Packet Blocks from buf[pos:], up to the first that is not simple, of
 * another kind or not whole, for a Records walk of them where they lie (its span);
 * (pos after them, (linktype, resolution) or None, why it stopped: 0 more bytes, 1 not
 * simple, 2 another kind). */
static PyObject *
epb_span(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    /* The interfaces: a list (the reader's own, grown as blocks describe them: a
       tuple made again for each block was quadratic in them) or a tuple. */
    if (nargs != 4 || !PyBytes_Check(args[0])
        || !(PyTuple_Check(args[3]) || PyList_Check(args[3]))) {
        PyErr_SetString(PyExc_TypeError,
                        "epb_span(buf: bytes, pos: int, big_endian: bool, interfaces: list)");
        return NULL;
    }
    const unsigned char *b = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    Py_ssize_t n = PyBytes_GET_SIZE(args[0]);
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]);
    if (pos == -1 && PyErr_Occurred())
        return NULL;
    if (pos < 0 || pos > n) {
        PyErr_SetString(PyExc_ValueError, "pos out of the buffer");
        return NULL;
    }
    int big = PyObject_IsTrue(args[2]);
    if (big < 0)
        return NULL;
    PyObject *ifs = args[3];
    long long kind_lt = -1, kind_res = -1;
    int why = 0;
    uint32_t len;
    long long lt, res;
    while (n - pos >= 8) {
        int rc = simple_epb(b, n, pos, big, ifs, &len, &lt, &res);
        if (rc <= 0) {
            why = rc < 0;
            break;
        }
        if (kind_res >= 0 && (lt != kind_lt || res != kind_res)) {
            why = 2;
            break;
        }
        kind_lt = lt;
        kind_res = res;
        pos += len;
    }
    if (kind_res < 0)
        return Py_BuildValue("(nOi)", pos, Py_None, why);
    return Py_BuildValue("(n(LL)i)", pos, kind_lt, kind_res, why);
}

static PyMethodDef methods[] = {
    {"epb_span", (PyCFunction)(void (*)(void))epb_span, METH_FASTCALL,
     "Where the simple pcapng packet blocks at pos end, and their kind (frames.epb_run_py)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "capture.sources._pcapwalk",
    .m_doc = "The classic-pcap record walk of a scan, in C (see frames.py).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__pcapwalk(void)
{
    if (PyType_Ready(&RecordsType) < 0)
        return NULL;
    for (uint32_t n = 0; n < 256; n++) {  /* CRC-32, reflected polynomial 0xEDB88320 */
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[0][n] = c;
    }
    for (int k = 1; k < 4; k++)
        for (uint32_t n = 0; n < 256; n++)
            crc_table[k][n] = crc_table[k - 1][n] >> 8 ^ crc_table[0][crc_table[k - 1][n] & 0xFF];
    records_name = PyUnicode_InternFromString("records");
    empty_bytes = PyBytes_FromStringAndSize(NULL, 0);
    empty_tuple = PyTuple_New(0);
    tick_obj = PyLong_FromLong(TICK);
    verdict_obj = PyLong_FromLong(VERDICT);
    segment_obj = PyLong_FromLong(SEGMENT);
    if (records_name == NULL || empty_bytes == NULL || empty_tuple == NULL || tick_obj == NULL
        || verdict_obj == NULL || segment_obj == NULL)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "Records", (PyObject *)&RecordsType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
