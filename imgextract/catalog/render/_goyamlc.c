/* The event loop of goyamlevents._load_events in C (optional: goyaml.py reads documents without it).
 *
 * load(text, resolve_first, resolve_value, resolve_key, max_depth) parses ``text`` (str: its UTF-8,
 * or bytes, as PyYAML's CParser takes them) with libyaml's event API and builds the dicts, lists
 * and strings of the first document straight from the events.  It answers (value, numbers) or None
 * where goyaml's Python loop would hand the document on: an anchor, an alias, any tag or %TAG
 * directive (the Python loop then reads tagged values itself), a collection or the plain ``<<`` as a
 * key, ``max_depth`` open collections, no document or a second one, NaN or an infinity, a key that
 * resolves to null, and any libyaml error.
 *
 * No go-yaml rule lives here: a plain scalar whose first character is in ``resolve_first`` (or that
 * is empty) goes to the Python callbacks ``resolve_value(s)`` (its value) and ``resolve_key(s)``
 * (the key's text, or None: hand the document on).  With the optional ``verbatim_first`` (a
 * subset of ``resolve_first``) and ``words`` (a dict), a plain scalar whose first character is in
 * ``verbatim_first`` and whose text is no key of ``words`` is its own text, as key or value,
 * without a callback: the callbacks answer ``words.get(s, s)`` for those (a CRD's ``type``,
 * ``name``, ``format`` and ``object``: most of the callbacks otherwise).  The numbers flag is set for a float and for an
 * int outside int64; an int past uint64 becomes a float, as the Python loop does.  An exception from
 * a callback propagates (the caller treats ValueError, TypeError, OverflowError as "hand on").
 *
 * No recursion (an explicit stack of at most max_depth frames); every path deletes the event and
 * the parser and releases every reference it holds.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>
#include <yaml.h>

#define STACK_LIMIT 1024 /* the largest max_depth accepted */

typedef struct {
    PyObject *container; /* the parent collection (NULL: the document's root) */
    PyObject *key;       /* the parent mapping's key waiting for this collection, or NULL */
} frame_t;

typedef struct {
    yaml_parser_t parser;
    int parser_ready;
    frame_t stack[STACK_LIMIT];
    Py_ssize_t depth;
    PyObject *cur; /* the collection being filled (NULL: none yet) */
    PyObject *key; /* in a mapping: the key waiting for its value (NULL: the next node is a key) */
} state_t;

static void
state_clear(state_t *st)
{
    while (st->depth > 0) {
        st->depth--;
        Py_XDECREF(st->stack[st->depth].container);
        Py_XDECREF(st->stack[st->depth].key);
    }
    Py_CLEAR(st->cur);
    Py_CLEAR(st->key);
    if (st->parser_ready) {
        yaml_parser_delete(&st->parser);
        st->parser_ready = 0;
    }
}

/* 1: an event; 0: libyaml failed (hand on, or MemoryError set: -1) */
static int
next_event(state_t *st, yaml_event_t *event)
{
    if (yaml_parser_parse(&st->parser, event)) {
        return 1;
    }
    if (st->parser.error == YAML_MEMORY_ERROR) {
        PyErr_NoMemory(); /* PyYAML's CParser raises MemoryError, which the Python loop lets through */
        return -1;
    }
    return 0;
}

/* The numbers flag for a resolved value, as the Python loop sets it.  Returns the value to store (a
 * new reference: an int past uint64 becomes a float), or NULL: with an exception set, or with
 * *hand_on set (NaN, an infinity: hand the document on).  Steals ``v``. */
static PyObject *
checked_number(PyObject *v, int *numbers, int *hand_on)
{
    if (PyFloat_CheckExact(v)) {
        double d = PyFloat_AS_DOUBLE(v);
        if (isnan(d) || isinf(d)) {
            Py_DECREF(v);
            *hand_on = 1;
            return NULL;
        }
        *numbers = 1;
        return v;
    }
    if (PyLong_CheckExact(v)) {
        int overflow = 0;
        long long small = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (small == -1 && PyErr_Occurred()) {
            Py_DECREF(v);
            return NULL;
        }
        if (overflow == 0) {
            return v;
        }
        *numbers = 1;
        if (overflow > 0) {
            unsigned long long big = PyLong_AsUnsignedLongLong(v);
            if (big == (unsigned long long)-1 && PyErr_Occurred()) {
                if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
                    Py_DECREF(v);
                    return NULL;
                }
                PyErr_Clear();
                PyObject *f = PyNumber_Float(v); /* float(v); OverflowError propagates */
                Py_DECREF(v);
                return f;
            }
        }
        return v;
    }
    return v;
}

/* The body of load(): 1 done (*result, *numbers set), 0 hand on, -1 exception. */
static int
run(state_t *st, const unsigned char *input, size_t size, const char first[128], PyObject *resolve_value,
    PyObject *resolve_key, Py_ssize_t max_depth, const char verbatim[128], PyObject *words, PyObject **result,
    int *numbers)
{
    yaml_event_t event;
    int got;

    if (!yaml_parser_initialize(&st->parser)) {
        PyErr_NoMemory();
        return -1;
    }
    st->parser_ready = 1;
    yaml_parser_set_input_string(&st->parser, input, size);

    if ((got = next_event(st, &event)) <= 0) { /* the stream's start */
        return got;
    }
    yaml_event_delete(&event);
    if ((got = next_event(st, &event)) <= 0) {
        return got;
    }
    {
        int is_start = event.type == YAML_DOCUMENT_START_EVENT;
        int directives = event.type == YAML_DOCUMENT_START_EVENT &&
                         event.data.document_start.tag_directives.start != NULL;
        yaml_event_delete(&event);
        if (!is_start || directives) {
            return 0; /* no document (the node tree says what that is), or %TAG: the Python loop */
        }
    }

    for (;;) {
        PyObject *v = NULL;
        yaml_event_type_t type;

        if ((got = next_event(st, &event)) <= 0) {
            return got;
        }
        type = event.type;
        if (type == YAML_SCALAR_EVENT) {
            const unsigned char *text = event.data.scalar.value;
            size_t length = event.data.scalar.length;
            int resolve = event.data.scalar.plain_implicit &&
                          (length == 0 || (text[0] < 128 && first[text[0]]));
            int merge = event.data.scalar.plain_implicit && length == 2 && text[0] == '<' && text[1] == '<';
            /* a word's first character, in verbatim_first (read now: the event owns the text) */
            int word = resolve && words != NULL && length > 0 && verbatim[text[0]];
            if (event.data.scalar.anchor != NULL || event.data.scalar.tag != NULL) {
                yaml_event_delete(&event);
                return 0;
            }
            v = PyUnicode_DecodeUTF8((const char *)text, (Py_ssize_t)length, "strict");
            yaml_event_delete(&event);
            if (v == NULL) {
                return -1;
            }
            if (word) { /* its own text, unless it is one of the words */
                int known = PyDict_Contains(words, v);
                if (known < 0) {
                    Py_DECREF(v);
                    return -1;
                }
                resolve = known;
            }
            if (st->cur != NULL && st->key == NULL && PyDict_CheckExact(st->cur)) { /* a key */
                if (merge) {
                    Py_DECREF(v);
                    return 0;
                }
                if (resolve) {
                    PyObject *k = PyObject_CallOneArg(resolve_key, v);
                    Py_DECREF(v);
                    if (k == NULL) {
                        return -1;
                    }
                    if (k == Py_None) {
                        Py_DECREF(k);
                        return 0;
                    }
                    v = k;
                }
                st->key = v;
                continue;
            }
            if (resolve) {
                int hand_on = 0;
                PyObject *r = PyObject_CallOneArg(resolve_value, v);
                Py_DECREF(v);
                if (r == NULL) {
                    return -1;
                }
                v = checked_number(r, numbers, &hand_on);
                if (v == NULL) {
                    return hand_on ? 0 : -1;
                }
            }
        }
        else if (type == YAML_MAPPING_START_EVENT || type == YAML_SEQUENCE_START_EVENT) {
            int marked = type == YAML_MAPPING_START_EVENT
                             ? (event.data.mapping_start.anchor != NULL || event.data.mapping_start.tag != NULL)
                             : (event.data.sequence_start.anchor != NULL ||
                                event.data.sequence_start.tag != NULL);
            yaml_event_delete(&event);
            if (marked || (st->cur != NULL && st->key == NULL && PyDict_CheckExact(st->cur)) ||
                st->depth >= max_depth) {
                return 0; /* an anchor or a tag, a collection as a key, too deep */
            }
            PyObject *fresh = type == YAML_MAPPING_START_EVENT ? PyDict_New() : PyList_New(0);
            if (fresh == NULL) {
                return -1;
            }
            st->stack[st->depth].container = st->cur;
            st->stack[st->depth].key = st->key;
            st->depth++;
            st->cur = fresh;
            st->key = NULL;
            continue;
        }
        else if (type == YAML_MAPPING_END_EVENT || type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&event);
            if (st->depth == 0 || st->key != NULL) {
                return 0; /* (libyaml never sends these: a key without its value, an end without a start) */
            }
            v = st->cur;
            st->depth--;
            st->cur = st->stack[st->depth].container;
            st->key = st->stack[st->depth].key;
            st->stack[st->depth].container = NULL;
            st->stack[st->depth].key = NULL;
        }
        else { /* an alias, or the document ends early */
            yaml_event_delete(&event);
            return 0;
        }

        if (st->cur == NULL) { /* the root */
            *result = v;
            break;
        }
        if (PyDict_CheckExact(st->cur)) {
            int failed = PyDict_SetItem(st->cur, st->key, v);
            Py_DECREF(v);
            Py_CLEAR(st->key);
            if (failed) {
                return -1;
            }
        }
        else {
            int failed = PyList_Append(st->cur, v);
            Py_DECREF(v);
            if (failed) {
                return -1;
            }
        }
    }

    /* the document's end, then the stream's: anything else is a second document */
    for (int i = 0; i < 2; i++) {
        int want = i == 0 ? YAML_DOCUMENT_END_EVENT : YAML_STREAM_END_EVENT;
        if ((got = next_event(st, &event)) <= 0) {
            return got;
        }
        got = (int)event.type == want;
        yaml_event_delete(&event);
        if (!got) {
            return 0;
        }
    }
    return 1;
}

static PyObject *
load(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 5 && nargs != 7) {
        PyErr_SetString(PyExc_TypeError,
                        "load(text, resolve_first, resolve_value, resolve_key, max_depth[, verbatim_first, words])");
        return NULL;
    }
    PyObject *text = args[0], *resolve_first = args[1];
    if (!PyUnicode_Check(resolve_first) || !PyCallable_Check(args[2]) || !PyCallable_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "resolve_first must be a str, the resolvers callables");
        return NULL;
    }
    Py_ssize_t max_depth = PyLong_AsSsize_t(args[4]);
    if (max_depth == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (max_depth < 0 || max_depth > STACK_LIMIT) {
        PyErr_SetString(PyExc_ValueError, "max_depth out of range");
        return NULL;
    }
    char first[128] = {0};
    Py_ssize_t nfirst = PyUnicode_GET_LENGTH(resolve_first);
    for (Py_ssize_t i = 0; i < nfirst; i++) {
        Py_UCS4 c = PyUnicode_READ_CHAR(resolve_first, i);
        if (c >= 128) {
            PyErr_SetString(PyExc_ValueError, "resolve_first must be ASCII");
            return NULL;
        }
        first[c] = 1;
    }
    char verbatim[128] = {0};
    PyObject *words = NULL;
    if (nargs == 7) {
        if (!PyUnicode_Check(args[5]) || !PyDict_CheckExact(args[6])) {
            PyErr_SetString(PyExc_TypeError, "verbatim_first must be a str, words a dict");
            return NULL;
        }
        Py_ssize_t nverbatim = PyUnicode_GET_LENGTH(args[5]);
        for (Py_ssize_t i = 0; i < nverbatim; i++) {
            Py_UCS4 c = PyUnicode_READ_CHAR(args[5], i);
            if (c >= 128 || !first[c]) {
                PyErr_SetString(PyExc_ValueError, "verbatim_first must be ASCII, within resolve_first");
                return NULL;
            }
            verbatim[c] = 1;
        }
        words = args[6];
    }

    /* PyYAML's CParser takes an exact str (as its UTF-8) or exact bytes; anything else is its
     * TypeError, which the Python loop turns into "hand on" */
    const char *input;
    Py_ssize_t size;
    if (PyUnicode_CheckExact(text)) {
        input = PyUnicode_AsUTF8AndSize(text, &size);
        if (input == NULL) {
            return NULL; /* a lone surrogate: UnicodeEncodeError, as PyYAML's */
        }
    }
    else if (PyBytes_CheckExact(text)) {
        input = PyBytes_AS_STRING(text);
        size = PyBytes_GET_SIZE(text);
    }
    else {
        Py_RETURN_NONE;
    }

    state_t *st = PyMem_Malloc(sizeof(state_t)); /* (the stack's frames are written before read) */
    if (st == NULL) {
        return PyErr_NoMemory();
    }
    st->parser_ready = 0;
    st->depth = 0;
    st->cur = NULL;
    st->key = NULL;
    PyObject *result = NULL;
    int numbers = 0;
    Py_INCREF(text); /* the parser reads its buffer until state_clear */
    Py_XINCREF(words); /* (a callback could drop the caller's last reference) */
    int outcome = run(st, (const unsigned char *)input, (size_t)size, first, args[2], args[3], max_depth, verbatim,
                      words, &result, &numbers);
    Py_XDECREF(words);
    state_clear(st);
    PyMem_Free(st);
    Py_DECREF(text);
    if (outcome < 0) {
        Py_XDECREF(result);
        return NULL;
    }
    if (outcome == 0) {
        Py_XDECREF(result);
        Py_RETURN_NONE;
    }
    PyObject *pair = PyTuple_New(2);
    if (pair == NULL) {
        Py_DECREF(result);
        return NULL;
    }
    PyObject *flag = numbers ? Py_True : Py_False;
    Py_INCREF(flag);
    PyTuple_SET_ITEM(pair, 0, result);
    PyTuple_SET_ITEM(pair, 1, flag);
    return pair;
}

static PyMethodDef methods[] = {
    {"load", (PyCFunction)(void (*)(void))load, METH_FASTCALL,
     "load(text, resolve_first, resolve_value, resolve_key, max_depth[, verbatim_first, words]) -> (value, numbers) "
     "or None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "_goyamlc",
    "goyaml's event loop over libyaml in C (see goyamlevents._load_events).",
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC
PyInit__goyamlc(void)
{
    PyObject *m = PyModule_Create(&module_def);
    /* 2: load takes verbatim_first and words (a module built from an older source does not) */
    if (m != NULL && PyModule_AddIntConstant(m, "API", 2) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
