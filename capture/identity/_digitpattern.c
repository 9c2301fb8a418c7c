/* libphonenumber's metadata patterns, matched without compiling them with re.
 *
 * capture/identity/digitpatterns.py is the reference (read it first). Reading a
 * number of a region for the first time makes libphonenumber compile that region's
 * patterns with re: about a million instructions each, since re's parser and compiler
 * are Python. On traffic from many subscribers of many countries that compiling was
 * the largest single cost of identity detection (150 M instructions for the 162
 * patterns 289 numbers of 11 regions needed, against 112 M for reading the numbers).
 *
 * The patterns that decide what a number is (each number type's national-number
 * pattern, the leading digits of a region or format, the international and national
 * prefixes) use a small part of regular-expression syntax: digits, \d, classes of
 * digits ([0-9], [^0], [2-57-9]), non-capturing groups, alternation and greedy
 * quantifiers (?, *, +, {n}, {n,}, {n,m}). program(pattern) compiles a pattern of that
 * part into a backtracking program (Thompson's instructions, Pike's priorities: a
 * SPLIT tries its first branch first) and returns it as bytes; None for any other
 * pattern (a capturing group, an anchor, a lazy quantifier, a letter, a repeat over
 * 100, a pattern past MAX_PROGRAM instructions), which re then compiles as before.
 *
 * match(program, text, full) runs it from the start of text and returns the end of
 * the first match in re's order (greedy, leftmost alternative first), as re's match
 * (full false) or fullmatch (full true) would: -1 for no match, -2 for "ask re": text
 * is not ASCII digits alone (\d in a str pattern also matches other scripts' digits),
 * the search took more than MAX_STEPS steps, or more than MAX_STACK choices were
 * pending. Counted repeats are unrolled (x{2,4} is x x (?:x (?:x)?)?, the order in which
 * a greedy repeat tries its counts); * and + over what may match nothing are refused,
 * since re stops such a loop where this program would not.
 *
 * The program's bytes are checked as they run (a jump out of the program ends the run
 * with -2), so bytes from anywhere cannot make it read outside them.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum { OP_CLASS, OP_SPLIT, OP_JMP, OP_MATCH };

/* CLASS: a = the digits it takes, a bit each (bit d for digit d). SPLIT: try pc + a,
 * then pc + b. JMP: go on at pc + a. MATCH: a match ends here. */
typedef struct {
    int32_t op, a, b;
} Inst;

#define MAX_PROGRAM 16384 /* instructions: the largest metadata pattern needs ~2,000 */
#define MAX_REPEAT 100
#define MAX_DEPTH 50 /* nested groups */
#define MAX_STEPS 200000
#define MAX_STACK 1024
#define ALL_DIGITS 0x3FF

typedef struct {
    Inst *code;
    Py_ssize_t len, cap;
    int nullable; /* may match the empty string */
} Frag;

typedef struct {
    const char *p, *end;
    int depth;
} Parser;

static void
frag_free(Frag *f)
{
    PyMem_Free(f->code);
    f->code = NULL;
    f->len = f->cap = 0;
}

static int
frag_reserve(Frag *f, Py_ssize_t more)
{
    if (f->len + more > MAX_PROGRAM)
        return 0;
    if (f->len + more <= f->cap)
        return 1;
    Py_ssize_t cap = f->cap ? f->cap : 16;
    while (cap < f->len + more)
        cap *= 2;
    Inst *code = PyMem_Realloc(f->code, (size_t)cap * sizeof(Inst));
    if (code == NULL)
        return 0;
    f->code = code;
    f->cap = cap;
    return 1;
}

static int
emit(Frag *f, int32_t op, int32_t a, int32_t b)
{
    if (!frag_reserve(f, 1))
        return 0;
    f->code[f->len++] = (Inst){op, a, b};
    return 1;
}

/* Appends src's instructions: its jumps are relative, so a copy works anywhere. */
static int
append(Frag *dst, const Frag *src)
{
    if (!frag_reserve(dst, src->len))
        return 0;
    if (src->len)
        memcpy(dst->code + dst->len, src->code, (size_t)src->len * sizeof(Inst));
    dst->len += src->len;
    return 1;
}

static int parse_alt(Parser *P, Frag *out);

static int
parse_class(Parser *P, int32_t *mask)
{
    /* After '['. Digits, ranges of digits and \d, optionally negated (the input is
     * digits alone, so the complement is taken among digits). */
    int negate = 0, bits = 0, items = 0;
    if (P->p < P->end && *P->p == '^') {
        negate = 1;
        P->p++;
    }
    while (P->p < P->end && *P->p != ']') {
        char c = *P->p;
        if (c == '\\') {
            if (P->p + 1 >= P->end || P->p[1] != 'd')
                return 0;
            bits = ALL_DIGITS;
            P->p += 2;
        }
        else if (c >= '0' && c <= '9') {
            int low = c - '0', high = low;
            if (P->p + 2 < P->end && P->p[1] == '-' && P->p[2] != ']') {
                if (P->p[2] < '0' || P->p[2] > '9')
                    return 0;
                high = P->p[2] - '0';
                if (high < low)
                    return 0;
                P->p += 3;
            }
            else
                P->p++;
            for (int d = low; d <= high; d++)
                bits |= 1 << d;
        }
        else
            return 0;
        items++;
    }
    if (P->p >= P->end || items == 0)
        return 0;
    P->p++; /* ']' */
    *mask = negate ? (~bits & ALL_DIGITS) : bits;
    return 1;
}

static int
parse_atom(Parser *P, Frag *out)
{
    char c = *P->p;
    if (c >= '0' && c <= '9') {
        P->p++;
        out->nullable = 0;
        return emit(out, OP_CLASS, 1 << (c - '0'), 0);
    }
    if (c == '\\') {
        if (P->p + 1 >= P->end || P->p[1] != 'd')
            return 0;
        P->p += 2;
        out->nullable = 0;
        return emit(out, OP_CLASS, ALL_DIGITS, 0);
    }
    if (c == '[') {
        int32_t mask;
        P->p++;
        if (!parse_class(P, &mask))
            return 0;
        out->nullable = 0;
        return emit(out, OP_CLASS, mask, 0);
    }
    if (c == '(') {
        /* Non-capturing only. libphonenumber hands the patterns with capturing groups
         * (the formats' "(\\d{3})(\\d{4})") to re.sub, which takes re's own alone. */
        if (P->end - P->p < 3 || P->p[1] != '?' || P->p[2] != ':' || P->depth >= MAX_DEPTH)
            return 0;
        P->p += 3;
        P->depth++;
        if (!parse_alt(P, out))
            return 0;
        P->depth--;
        if (P->p >= P->end || *P->p != ')')
            return 0;
        P->p++;
        return 1;
    }
    return 0;
}

static int
parse_number(Parser *P, int *value)
{
    int n = 0, digits = 0;
    while (P->p < P->end && *P->p >= '0' && *P->p <= '9') {
        n = n * 10 + (*P->p - '0');
        if (n > MAX_REPEAT)
            return 0;
        P->p++;
        digits++;
    }
    *value = n;
    return digits > 0;
}

/* Reads a quantifier after an atom, if any: min and max (-1 for none). */
static int
parse_quantifier(Parser *P, int *min, int *max)
{
    *min = *max = 1;
    if (P->p >= P->end)
        return 1;
    switch (*P->p) {
    case '?':
        *min = 0;
        P->p++;
        break;
    case '*':
        *min = 0;
        *max = -1;
        P->p++;
        break;
    case '+':
        *max = -1;
        P->p++;
        break;
    case '{':
        P->p++;
        if (!parse_number(P, min))
            return 0;
        *max = *min;
        if (P->p < P->end && *P->p == ',') {
            P->p++;
            if (P->p < P->end && *P->p == '}')
                *max = -1;
            else if (!parse_number(P, max) || *max < *min)
                return 0;
        }
        if (P->p >= P->end || *P->p != '}')
            return 0;
        P->p++;
        break;
    default:
        return 1;
    }
    /* A lazy (?) or possessive (+) quantifier, or a repeat of a repeat: re's. */
    if (P->p < P->end && (*P->p == '?' || *P->p == '+' || *P->p == '*' || *P->p == '{'))
        return 0;
    return 1;
}

/* out = atom repeated min..max (-1: unbounded) times, greedily. */
static int
repeat(Frag *out, const Frag *atom, int min, int max)
{
    Py_ssize_t L = atom->len;
    for (int i = 0; i < min; i++)
        if (!append(out, atom))
            return 0;
    if (max < 0) {
        if (atom->nullable)
            return 0;
        if (!emit(out, OP_SPLIT, 1, (int32_t)(L + 2)) || !append(out, atom) ||
            !emit(out, OP_JMP, (int32_t)-(L + 1), 0))
            return 0;
    }
    else {
        /* (?:x(?:x(?:x)?)?)? built from the inside out. */
        Frag optional = {NULL, 0, 0, 1};
        for (int i = 0; i < max - min; i++) {
            Frag next = {NULL, 0, 0, 1};
            if (!emit(&next, OP_SPLIT, 1, (int32_t)(L + optional.len + 1)) ||
                !append(&next, atom) || !append(&next, &optional)) {
                frag_free(&next);
                frag_free(&optional);
                return 0;
            }
            frag_free(&optional);
            optional = next;
        }
        int ok = append(out, &optional);
        frag_free(&optional);
        if (!ok)
            return 0;
    }
    out->nullable = min == 0 || atom->nullable;
    return 1;
}

static int
parse_concat(Parser *P, Frag *out)
{
    out->nullable = 1;
    while (P->p < P->end && *P->p != '|' && *P->p != ')') {
        Frag atom = {NULL, 0, 0, 1}, repeated = {NULL, 0, 0, 1};
        int min, max;
        int ok = parse_atom(P, &atom) && parse_quantifier(P, &min, &max);
        if (ok && min == 1 && max == 1) {
            ok = append(out, &atom);
            out->nullable = out->nullable && atom.nullable;
        }
        else if (ok) {
            ok = repeat(&repeated, &atom, min, max) && append(out, &repeated);
            out->nullable = out->nullable && repeated.nullable;
        }
        frag_free(&atom);
        frag_free(&repeated);
        if (!ok)
            return 0;
    }
    return 1;
}

static int
parse_alt(Parser *P, Frag *out)
{
    if (!parse_concat(P, out))
        return 0;
    while (P->p < P->end && *P->p == '|') {
        P->p++;
        Frag right = {NULL, 0, 0, 1}, both = {NULL, 0, 0, 1};
        int ok = parse_concat(P, &right) &&
                 emit(&both, OP_SPLIT, 1, (int32_t)(out->len + 2)) && append(&both, out) &&
                 emit(&both, OP_JMP, (int32_t)(right.len + 1), 0) && append(&both, &right);
        both.nullable = out->nullable || right.nullable;
        frag_free(&right);
        frag_free(out);
        if (!ok) {
            frag_free(&both);
            return 0;
        }
        *out = both;
    }
    return 1;
}

static PyObject *
program(PyObject *Py_UNUSED(self), PyObject *pattern)
{
    if (!PyUnicode_Check(pattern)) {
        PyErr_SetString(PyExc_TypeError, "program() takes a str");
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(pattern))
        Py_RETURN_NONE;
    Parser P;
    P.p = (const char *)PyUnicode_1BYTE_DATA(pattern);
    P.end = P.p + PyUnicode_GET_LENGTH(pattern);
    P.depth = 0;
    Frag code = {NULL, 0, 0, 1};
    if (!parse_alt(&P, &code) || P.p != P.end || !emit(&code, OP_MATCH, 0, 0)) {
        frag_free(&code);
        if (PyErr_Occurred())
            return NULL;
        Py_RETURN_NONE;
    }
    PyObject *bytes =
        PyBytes_FromStringAndSize((const char *)code.code, code.len * (Py_ssize_t)sizeof(Inst));
    frag_free(&code);
    return bytes;
}

/* The end of the first match of code at the start of s[:n] (full: one ending at n),
 * -1 for none, -2 for "ask re". */
static Py_ssize_t
run(const Inst *code, Py_ssize_t ncode, const char *s, Py_ssize_t n, int full)
{
    struct {
        Py_ssize_t pc, sp;
    } stack[MAX_STACK];
    int depth = 0;
    long steps = 0;
    Py_ssize_t pc = 0, sp = 0;
    for (;;) {
        if (++steps > MAX_STEPS || pc < 0 || pc >= ncode)
            return -2;
        const Inst *in = &code[pc];
        int fail = 0;
        switch (in->op) {
        case OP_CLASS:
            if (sp < n && (in->a >> (s[sp] - '0')) & 1) {
                pc++;
                sp++;
            }
            else
                fail = 1;
            break;
        case OP_SPLIT:
            if (depth >= MAX_STACK)
                return -2;
            stack[depth].pc = pc + in->b;
            stack[depth].sp = sp;
            depth++;
            pc += in->a;
            break;
        case OP_JMP:
            pc += in->a;
            break;
        case OP_MATCH:
            if (!full || sp == n)
                return sp;
            fail = 1;
            break;
        default:
            return -2;
        }
        if (fail) {
            if (depth == 0)
                return -1;
            depth--;
            pc = stack[depth].pc;
            sp = stack[depth].sp;
        }
    }
}

/* run() of program over text; -2 (ask re) for text that is not ASCII digits, or for a
 * program whose size is no whole number of instructions. */
static Py_ssize_t
run_text(PyObject *program, PyObject *text, int full)
{
    if (!PyUnicode_IS_ASCII(text))
        return -2;
    const char *s = (const char *)PyUnicode_1BYTE_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    for (Py_ssize_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return -2;
    Py_ssize_t size = PyBytes_GET_SIZE(program);
    if (size % (Py_ssize_t)sizeof(Inst))
        return -2;
    const Inst *code = (const Inst *)PyBytes_AS_STRING(program);
    return run(code, size / (Py_ssize_t)sizeof(Inst), s, n, full);
}

/* Pattern(pattern, program): the base of digitpatterns.DigitPattern, whose match and
 * fullmatch of one str run here. A match is made by the subclass's _found(text, end,
 * full); what C cannot decide (other arguments, text that is not ASCII digits, a
 * search past its budget) goes to its _by_re(full, *args). No match is None, made
 * here: most of libphonenumber's tests of a number find none. */
typedef struct {
    PyObject_HEAD
    PyObject *pattern; /* str */
    PyObject *program; /* bytes */
} PatternObject;

static PyObject *s_found, *s_by_re;

static PyObject *
pattern_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *pattern, *program;
    if (kwargs != NULL && PyDict_GET_SIZE(kwargs)) {
        PyErr_SetString(PyExc_TypeError, "Pattern(pattern, program) takes no keywords");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "UO!:Pattern", &pattern, &PyBytes_Type, &program))
        return NULL;
    PatternObject *self = (PatternObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->pattern = Py_NewRef(pattern);
    self->program = Py_NewRef(program);
    return (PyObject *)self;
}

static void
pattern_dealloc(PatternObject *self)
{
    Py_CLEAR(self->pattern);
    Py_CLEAR(self->program);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
pattern_run(PatternObject *self, PyObject *const *args, Py_ssize_t nargs, int full)
{
    if (nargs == 1 && PyUnicode_CheckExact(args[0])) {
        Py_ssize_t end = run_text(self->program, args[0], full);
        if (end == -1)
            Py_RETURN_NONE;
        if (end >= 0) {
            PyObject *at = PyLong_FromSsize_t(end);
            if (at == NULL)
                return NULL;
            PyObject *call[4] = {(PyObject *)self, args[0], at, full ? Py_True : Py_False};
            PyObject *found = PyObject_VectorcallMethod(
                s_found, call, 4, NULL);
            Py_DECREF(at);
            return found;
        }
    }
    PyObject *small[8];
    if (nargs > 6) {
        PyErr_SetString(PyExc_TypeError, "too many arguments");
        return NULL;
    }
    small[0] = (PyObject *)self;
    small[1] = full ? Py_True : Py_False;
    for (Py_ssize_t i = 0; i < nargs; i++)
        small[2 + i] = args[i];
    return PyObject_VectorcallMethod(s_by_re, small, (size_t)(2 + nargs), NULL);
}

static PyObject *
pattern_match(PatternObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return pattern_run(self, args, nargs, 0);
}

static PyObject *
pattern_fullmatch(PatternObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return pattern_run(self, args, nargs, 1);
}

static PyMethodDef pattern_methods[] = {
    {"match", (PyCFunction)(void (*)(void))pattern_match, METH_FASTCALL,
     "re.Pattern.match."},
    {"fullmatch", (PyCFunction)(void (*)(void))pattern_fullmatch, METH_FASTCALL,
     "re.Pattern.fullmatch."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef pattern_members[] = {
    {"pattern", T_OBJECT_EX, offsetof(PatternObject, pattern), READONLY, "The pattern's text."},
    {"program", T_OBJECT_EX, offsetof(PatternObject, program), READONLY,
     "Its backtracking program (program())."},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject PatternType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "capture.identity._digitpattern.Pattern",
    .tp_basicsize = sizeof(PatternObject),
    .tp_dealloc = (destructor)pattern_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "A digit pattern whose match and fullmatch of a str run in C.",
    .tp_methods = pattern_methods,
    .tp_members = pattern_members,
    .tp_new = pattern_new,
};

static PyObject *
match(PyObject *Py_UNUSED(self), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyBytes_Check(args[0]) || !PyUnicode_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "match(program: bytes, text: str, full: bool)");
        return NULL;
    }
    int full = PyObject_IsTrue(args[2]);
    if (full < 0)
        return NULL;
    return PyLong_FromSsize_t(run_text(args[0], args[1], full));
}

static PyMethodDef methods[] = {
    {"program", program, METH_O,
     "The backtracking program of a digit pattern, as bytes; None outside the subset."},
    {"match", (PyCFunction)(void (*)(void))match, METH_FASTCALL,
     "End of the first match of a program at the start of text; -1 none, -2 ask re."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_digitpattern",
    "libphonenumber's digit patterns matched without re (see digitpatterns.py).", -1, methods,
};

PyMODINIT_FUNC
PyInit__digitpattern(void)
{
    s_found = PyUnicode_InternFromString("_found");
    s_by_re = PyUnicode_InternFromString("_by_re");
    if (s_found == NULL || s_by_re == NULL || PyType_Ready(&PatternType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "Pattern", (PyObject *)&PatternType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
