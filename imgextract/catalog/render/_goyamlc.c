/* The event loop of goyamlevents._load_events in C (optional: goyaml.py reads documents without it).
 *
 * load(text, resolve_first, resolve_value, resolve_key, max_depth) parses ``text`` (str: its UTF-8,
 * or bytes, as PyYAML's CParser takes them) with libyaml's event API and builds the dicts, lists
 * and strings of the first document straight from the events.  It answers (value, numbers) or None
 * where goyaml's Python loop would hand the document on: any tag or %TAG directive (the Python loop
 * then reads tagged values itself), a collection, an alias or the plain ``<<`` as a key,
 * ``max_depth`` open collections, no document or a second one, NaN or an infinity, a key that
 * resolves to null, and any libyaml error.
 *
 * Anchors and aliases are read as the node tree (goyamlnodes) reads them: an alias of a collection is
 * an independent copy of its anchor's complete value, an alias of a scalar its text resolved again
 * as a value (resolve_value: ``&k 1: a`` then ``*k`` is the int 1).  It hands on an alias to an
 * undefined anchor or to one whose node is still open (recursion), a redefined anchor (the node
 * tree's composer refuses it), an expansion that would pass ``max_depth``, and, checked before each
 * copy, any document whose aliased decodes could come near go-yaml's excessive-aliasing share: an
 * upper bound of the node tree's own count (an alias's target and every collection below it twice,
 * every other node below it once) past ALIAS_FREE with a share past 0.9 of the decodes, or past
 * DECODES_MAX decodes.  So an alias bomb is never expanded here (the copies stay below nine times
 * the document's own nodes) and the node tree reports it.
 *
 * No go-yaml rule lives here: a plain scalar whose first character is in ``resolve_first`` (or that
 * is empty) goes to the Python callbacks ``resolve_value(s)`` (its value) and ``resolve_key(s)``
 * (the key's text, or None: hand the document on).  With the optional ``verbatim_first`` (a
 * subset of ``resolve_first``) and ``words`` (a dict), a plain scalar whose first character is in
 * ``verbatim_first`` and whose text is no key of ``words`` is its own text, as key or value,
 * without a callback: the callbacks answer ``words.get(s, s)`` for those (a CRD's ``type``,
 * ``name``, ``format`` and ``object``: most of the callbacks otherwise).  ``resolve_value`` is asked once
 * per load for a short text, its answer kept for the text's later occurrences (it is go-yaml's value of
 * the text; a load keeps the first RESOLVED_MAX texts' answers).  The numbers flag is set for a float and
 * for an int outside int64; an int past uint64 becomes a float, as the Python loop does.  An exception from
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
#define TEXT_CACHE 256    /* short ASCII scalar texts kept per load (a power of two) */
#define TEXT_CACHE_MAX 32 /* bytes: a longer text is decoded each time */
#define RESOLVED_MAX 1024 /* short texts whose resolved value a load keeps (the first ones met) */

/* An anchor's node: a scalar's text and whether it goes to resolve_value (resolved again at each
 * alias, as the node tree resolves each alias of it), or a complete collection with its size. */
typedef struct {
    PyObject *value;       /* the scalar's text, or the collection (never changed once complete) */
    int scalar;            /* 1: a scalar */
    int resolve;           /* a scalar: its value comes from resolve_value */
    Py_ssize_t nodes;      /* a collection: the nodes below it, aliases expanded, keys included */
    Py_ssize_t colls;      /* a collection: the collections among them */
    Py_ssize_t height;     /* a collection: its levels of collections (1: no collection inside) */
} anchor_t;

typedef struct {
    PyObject *container; /* the parent collection (NULL: the document's root) */
    PyObject *key;       /* the parent mapping's key waiting for this collection, or NULL */
    PyObject *anchor;    /* the parent's anchor name (bytes), or NULL */
    Py_ssize_t nodes0;   /* the parent's st->nodes, st->colls when it started */
    Py_ssize_t colls0;
    Py_ssize_t height;   /* the parent's deepest child so far */
} frame_t;

/* go-yaml's alias accounting as the node tree counts it (goyamlnodes._Walk) can only refuse a
 * document whose aliased decodes pass 100 and make up more than 0.10-0.99 of its decodes: the loop
 * stands aside (the node tree decides, and reports) once its upper bound of the aliased decodes
 * passes ALIAS_FREE and either their share could pass 0.9 or the decodes DECODES_MAX. */
#define ALIAS_FREE 100
#define DECODES_MAX 300000

typedef struct {
    yaml_parser_t parser;
    int parser_ready;
    frame_t stack[STACK_LIMIT];
    Py_ssize_t depth;
    PyObject *cur; /* the collection being filled (NULL: none yet) */
    PyObject *key; /* in a mapping: the key waiting for its value (NULL: the next node is a key) */
    PyObject *cur_anchor;   /* the current collection's anchor name (bytes), or NULL */
    Py_ssize_t cur_nodes0;  /* st->nodes and st->colls when the current collection started */
    Py_ssize_t cur_colls0;
    Py_ssize_t cur_height;  /* the current collection's deepest child so far (0: none a collection) */
    Py_ssize_t nodes;       /* nodes built so far (aliases expanded, keys included) */
    Py_ssize_t colls;       /* collections among them */
    Py_ssize_t decodes;     /* the node tree's decodes so far (a lower bound) */
    Py_ssize_t aliased;     /* its aliased decodes (an upper bound) */
    PyObject *names;        /* anchor name (bytes) -> index in anchors, or None while its node is open */
    anchor_t *anchors;
    Py_ssize_t nanchors, capanchors;
    PyObject *texts[TEXT_CACHE]; /* see scalar_text: the last short ASCII text decoded per slot, or NULL */
    PyObject *resolved;          /* see resolved: short text -> resolve_value's answer, or NULL */
} state_t;

static void
state_clear(state_t *st)
{
    while (st->depth > 0) {
        st->depth--;
        Py_XDECREF(st->stack[st->depth].container);
        Py_XDECREF(st->stack[st->depth].key);
        Py_XDECREF(st->stack[st->depth].anchor);
    }
    Py_CLEAR(st->cur);
    Py_CLEAR(st->key);
    Py_CLEAR(st->cur_anchor);
    Py_CLEAR(st->names);
    for (Py_ssize_t i = 0; i < st->nanchors; i++) {
        Py_DECREF(st->anchors[i].value);
    }
    PyMem_Free(st->anchors);
    st->anchors = NULL;
    st->nanchors = st->capanchors = 0;
    for (int i = 0; i < TEXT_CACHE; i++) {
        Py_CLEAR(st->texts[i]);
    }
    Py_CLEAR(st->resolved);
    if (st->parser_ready) {
        yaml_parser_delete(&st->parser);
        st->parser_ready = 0;
    }
}

/* An anchor's name as a key of st->names (a new reference), or NULL with an exception set. */
static PyObject *
anchor_name(const yaml_char_t *anchor)
{
    return PyBytes_FromString((const char *)anchor);
}

/* Mark ``name`` as defined, its node still open: 1, or 0 when it was defined before (the node
 * tree's composer refuses a redefined anchor: hand on), -1 with an exception. */
static int
anchor_open(state_t *st, PyObject *name)
{
    if (st->names == NULL && (st->names = PyDict_New()) == NULL) {
        return -1;
    }
    int known = PyDict_Contains(st->names, name);
    if (known != 0) {
        return known < 0 ? -1 : 0;
    }
    return PyDict_SetItem(st->names, name, Py_None) < 0 ? -1 : 1;
}

/* Store a complete node under ``name`` (opened by anchor_open): 0, or -1 with an exception.  Takes a
 * new reference to ``a->value``. */
static int
anchor_store(state_t *st, PyObject *name, const anchor_t *a)
{
    if (st->nanchors == st->capanchors) {
        Py_ssize_t cap = st->capanchors ? 2 * st->capanchors : 8;
        anchor_t *grown = PyMem_Realloc(st->anchors, (size_t)cap * sizeof(anchor_t));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        st->anchors = grown;
        st->capanchors = cap;
    }
    PyObject *index = PyLong_FromSsize_t(st->nanchors);
    if (index == NULL) {
        return -1;
    }
    int failed = PyDict_SetItem(st->names, name, index);
    Py_DECREF(index);
    if (failed) {
        return -1;
    }
    st->anchors[st->nanchors] = *a;
    Py_INCREF(a->value);
    st->nanchors++;
    return 0;
}

/* The anchor an alias names: its entry, or NULL: *hand_on set (undefined, or its node still open:
 * an alias inside its own anchor's node), or an exception. */
static const anchor_t *
anchor_find(state_t *st, const yaml_char_t *anchor, int *hand_on)
{
    if (st->names == NULL) {
        *hand_on = 1;
        return NULL;
    }
    PyObject *name = anchor_name(anchor);
    if (name == NULL) {
        return NULL;
    }
    PyObject *index = PyDict_GetItemWithError(st->names, name); /* borrowed */
    Py_DECREF(name);
    if (index == NULL || index == Py_None) {
        if (!PyErr_Occurred()) {
            *hand_on = 1;
        }
        return NULL;
    }
    Py_ssize_t i = PyLong_AsSsize_t(index);
    if (i < 0 || i >= st->nanchors) {
        if (!PyErr_Occurred()) {
            *hand_on = 1;
        }
        return NULL;
    }
    return &st->anchors[i];
}

/* An independent copy of a complete collection built by this loop (dicts, lists and immutable
 * scalars): what the node tree builds again for each alias.  At most max_depth levels deep. */
static PyObject *
copy_value(PyObject *v)
{
    if (PyDict_CheckExact(v)) {
        PyObject *out = PyDict_New();
        PyObject *k, *x;
        Py_ssize_t pos = 0;
        if (out == NULL) {
            return NULL;
        }
        while (PyDict_Next(v, &pos, &k, &x)) {
            PyObject *c = copy_value(x);
            if (c == NULL || PyDict_SetItem(out, k, c) < 0) {
                Py_XDECREF(c);
                Py_DECREF(out);
                return NULL;
            }
            Py_DECREF(c);
        }
        return out;
    }
    if (PyList_CheckExact(v)) {
        Py_ssize_t n = PyList_GET_SIZE(v);
        PyObject *out = PyList_New(n);
        if (out == NULL) {
            return NULL;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *c = copy_value(PyList_GET_ITEM(v, i));
            if (c == NULL) {
                Py_DECREF(out);
                return NULL;
            }
            PyList_SET_ITEM(out, i, c);
        }
        return out;
    }
    Py_INCREF(v);
    return v;
}

/* A scalar's text as a str (a new reference, or NULL with an exception set).  A document repeats
 * its keys (a CRD's schema: ``type``, ``description`` ...) and many short values: a short ASCII text
 * decoded before comes back as the same str object, not a new decode, and its hash, computed once
 * when it first became a dict key, is not computed again.  A slot holds the last text of its hash;
 * strings are immutable, so sharing one is invisible to the caller. */
static PyObject *
scalar_text(state_t *st, const unsigned char *text, size_t length)
{
    if (length == 0 || length > TEXT_CACHE_MAX) {
        return PyUnicode_DecodeUTF8((const char *)text, (Py_ssize_t)length, "strict");
    }
    unsigned int h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < length; i++) {
        h = (h ^ text[i]) * 16777619u;
    }
    PyObject **slot = &st->texts[(h ^ (h >> 16)) & (TEXT_CACHE - 1)];
    PyObject *known = *slot; /* ASCII only: its characters are its UTF-8 bytes */
    if (known != NULL && (size_t)PyUnicode_GET_LENGTH(known) == length &&
        memcmp(PyUnicode_1BYTE_DATA(known), text, length) == 0) {
        Py_INCREF(known);
        return known;
    }
    PyObject *v = PyUnicode_DecodeUTF8((const char *)text, (Py_ssize_t)length, "strict");
    if (v != NULL && PyUnicode_IS_ASCII(v)) {
        Py_INCREF(v);
        Py_XSETREF(*slot, v);
    }
    return v;
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

/* resolve_value(v), then checked_number: the value to store (a new reference), or NULL with an
 * exception set or *hand_on set.  Steals ``v``.  A short text is resolved once per load: its answer
 * (go-yaml's value of the text: an immutable scalar, the same for the same text) is kept in
 * st->resolved (the first RESOLVED_MAX texts met: a document of distinct numbers keeps no entry per
 * number), so a CRD's many ``minimum: 0`` call back once, not once each. */
static PyObject *
resolved(state_t *st, PyObject *resolve_value, PyObject *v, int *numbers, int *hand_on)
{
    int memo = PyUnicode_GET_LENGTH(v) <= TEXT_CACHE_MAX;
    PyObject *r = NULL;
    if (memo && st->resolved != NULL) {
        r = PyDict_GetItemWithError(st->resolved, v); /* borrowed */
        if (r == NULL && PyErr_Occurred()) {
            Py_DECREF(v);
            return NULL;
        }
        Py_XINCREF(r);
    }
    if (r == NULL) {
        r = PyObject_CallOneArg(resolve_value, v);
        /* bounded: a document of distinct numbers would keep an entry per number, for nothing */
        if (r != NULL && memo && (st->resolved == NULL || PyDict_GET_SIZE(st->resolved) < RESOLVED_MAX) &&
            ((st->resolved == NULL && (st->resolved = PyDict_New()) == NULL) ||
             PyDict_SetItem(st->resolved, v, r) < 0)) {
            Py_CLEAR(r);
        }
    }
    Py_DECREF(v);
    if (r == NULL) {
        return NULL;
    }
    return checked_number(r, numbers, hand_on);
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
            PyObject *name = NULL;
            if (event.data.scalar.tag != NULL) {
                yaml_event_delete(&event);
                return 0;
            }
            if (event.data.scalar.anchor != NULL && (name = anchor_name(event.data.scalar.anchor)) == NULL) {
                yaml_event_delete(&event);
                return -1;
            }
            v = scalar_text(st, text, length);
            yaml_event_delete(&event);
            if (v == NULL) {
                Py_XDECREF(name);
                return -1;
            }
            if (word) { /* its own text, unless it is one of the words */
                int known = PyDict_Contains(words, v);
                if (known < 0) {
                    Py_DECREF(v);
                    Py_XDECREF(name);
                    return -1;
                }
                resolve = known;
            }
            if (name != NULL) { /* its text, resolved again as a value at each alias */
                anchor_t a = {v, 1, resolve, 0, 0, 0};
                int opened = anchor_open(st, name);
                if (opened <= 0 || anchor_store(st, name, &a) < 0) {
                    Py_DECREF(v);
                    Py_DECREF(name);
                    return opened == 0 ? 0 : -1;
                }
                Py_DECREF(name);
            }
            st->nodes++;
            st->decodes++;
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
                v = resolved(st, resolve_value, v, numbers, &hand_on);
                if (v == NULL) {
                    return hand_on ? 0 : -1;
                }
            }
        }
        else if (type == YAML_MAPPING_START_EVENT || type == YAML_SEQUENCE_START_EVENT) {
            int tagged = type == YAML_MAPPING_START_EVENT ? event.data.mapping_start.tag != NULL
                                                          : event.data.sequence_start.tag != NULL;
            const yaml_char_t *anchor = type == YAML_MAPPING_START_EVENT ? event.data.mapping_start.anchor
                                                                         : event.data.sequence_start.anchor;
            PyObject *name = NULL;
            if (!tagged && anchor != NULL && (name = anchor_name(anchor)) == NULL) {
                yaml_event_delete(&event);
                return -1;
            }
            yaml_event_delete(&event);
            if (tagged || (st->cur != NULL && st->key == NULL && PyDict_CheckExact(st->cur)) ||
                st->depth >= max_depth) {
                Py_XDECREF(name);
                return 0; /* a tag, a collection as a key, too deep */
            }
            if (name != NULL) {
                int opened = anchor_open(st, name);
                if (opened <= 0) {
                    Py_DECREF(name);
                    return opened; /* 0: a redefined anchor */
                }
            }
            PyObject *fresh = type == YAML_MAPPING_START_EVENT ? PyDict_New() : PyList_New(0);
            if (fresh == NULL) {
                Py_XDECREF(name);
                return -1;
            }
            st->nodes++;
            st->colls++;
            st->decodes++;
            st->stack[st->depth].container = st->cur;
            st->stack[st->depth].key = st->key;
            st->stack[st->depth].anchor = st->cur_anchor;
            st->stack[st->depth].nodes0 = st->cur_nodes0;
            st->stack[st->depth].colls0 = st->cur_colls0;
            st->stack[st->depth].height = st->cur_height;
            st->depth++;
            st->cur = fresh;
            st->key = NULL;
            st->cur_anchor = name;
            st->cur_nodes0 = st->nodes;
            st->cur_colls0 = st->colls;
            st->cur_height = 0;
            continue;
        }
        else if (type == YAML_MAPPING_END_EVENT || type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&event);
            if (st->depth == 0 || st->key != NULL) {
                return 0; /* (libyaml never sends these: a key without its value, an end without a start) */
            }
            v = st->cur;
            Py_ssize_t height = st->cur_height + 1;
            if (st->cur_anchor != NULL) { /* complete: what its aliases copy */
                anchor_t a = {v, 0, 0, st->nodes - st->cur_nodes0, st->colls - st->cur_colls0, height};
                if (anchor_store(st, st->cur_anchor, &a) < 0) {
                    return -1;
                }
                Py_CLEAR(st->cur_anchor);
            }
            st->depth--;
            st->cur = st->stack[st->depth].container;
            st->key = st->stack[st->depth].key;
            st->cur_anchor = st->stack[st->depth].anchor;
            st->cur_nodes0 = st->stack[st->depth].nodes0;
            st->cur_colls0 = st->stack[st->depth].colls0;
            st->cur_height = st->stack[st->depth].height > height ? st->stack[st->depth].height : height;
            st->stack[st->depth].container = NULL;
            st->stack[st->depth].key = NULL;
            st->stack[st->depth].anchor = NULL;
        }
        else if (type == YAML_ALIAS_EVENT) {
            int hand_on = 0;
            const anchor_t *found = anchor_find(st, event.data.alias.anchor, &hand_on);
            yaml_event_delete(&event);
            if (found == NULL) {
                return hand_on ? 0 : -1; /* undefined, or inside its own anchor's node */
            }
            if (st->cur != NULL && st->key == NULL && PyDict_CheckExact(st->cur)) {
                return 0; /* an alias as a key */
            }
            anchor_t a = *found;
            if (a.scalar) {
                Py_INCREF(a.value);
                v = a.value;
                if (a.resolve) {
                    v = resolved(st, resolve_value, v, numbers, &hand_on);
                    if (v == NULL) {
                        return hand_on ? 0 : -1;
                    }
                }
                st->nodes++;
                st->decodes++;
            }
            else {
                /* the node tree counts the alias's target and every collection below it twice,
                 * every other node below it once, all as aliased decodes */
                Py_ssize_t cost = 1 + a.nodes + a.colls;
                Py_ssize_t aliased = st->aliased + cost, decodes = st->decodes + 1 + cost;
                if ((aliased > ALIAS_FREE && (aliased * 10 > decodes * 9 || decodes > DECODES_MAX)) ||
                    st->depth + a.height > max_depth) {
                    return 0; /* maybe excessive aliasing (the node tree's to say), or too deep */
                }
                if ((v = copy_value(a.value)) == NULL) {
                    return -1;
                }
                st->aliased = aliased;
                st->decodes = decodes;
                st->nodes += 1 + a.nodes;
                st->colls += 1 + a.colls;
                if (a.height > st->cur_height) {
                    st->cur_height = a.height;
                }
            }
        }
        else { /* the document ends early */
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

    if (st->aliased > ALIAS_FREE && st->decodes > DECODES_MAX) {
        return 0; /* go-yaml's allowed share of aliased decodes falls past 400,000 decodes */
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
    st->cur_anchor = NULL;
    st->cur_nodes0 = st->cur_colls0 = st->cur_height = 0;
    st->nodes = st->colls = st->aliased = 0;
    st->decodes = 1; /* the document's node (go-yaml counts it; the root is counted as it starts) */
    st->names = NULL;
    st->anchors = NULL;
    st->nanchors = st->capanchors = 0;
    memset(st->texts, 0, sizeof(st->texts));
    st->resolved = NULL;
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
