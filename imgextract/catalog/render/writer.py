"""Write FBC objects as ``opm render`` does: ``-o json``, ``-o yaml``, and ``-o ndjson`` (ours).

Objects are dicts in opm's field order whose property values may be :class:`~.gojson.RawJSON` (kept as
opm keeps a ``json.RawMessage``).  opm's ``declcfg.WriteJSON``/``WriteYAML`` order the output: by package
name, then within a package ``olm.package`` objects, channels, bundles (each by name), deprecations, and
the other schemas (by schema, then name); ``ordered=False`` keeps the given order instead.

* json: Go's encoder with ``SetIndent("", "    ")`` and HTML escaping off, one object after another;
* yaml: each object as ``---`` + ``sigs.k8s.io/yaml.JSONToYAML`` of that JSON;
* ndjson: one compact object per line (the JSON without indentation).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, TypeVar

from imgextract.catalog.render import FORMATS, gojson

__all__ = [
    "FORMATS",
    "encode",
    "opm_order",
    "opm_sorted",
    "order_key",
    "to_python",
    "write",
    "write_fbc",
    "write_json",
    "write_ndjson",
    "write_yaml",
]

T = TypeVar("T")
_ORDER = {"olm.package": 0, "olm.channel": 1, "olm.bundle": 2, "olm.deprecations": 3}


def _str(v: Any) -> str:
    return v if isinstance(v, str) else ""


def order_key(o: dict[str, Any]) -> tuple[Any, ...]:
    """The sort key of one object in opm's output order (only its ``schema``, ``name`` and
    ``package`` count)."""
    schema = _str(o.get("schema"))
    rank = _ORDER.get(schema, 4)
    pkg = _str(o.get("name")) if schema == "olm.package" else _str(o.get("package"))
    if rank == 0:
        sub: tuple[str, ...] = (_str(o.get("name")),)
    elif rank in (1, 2):
        sub = (_str(o.get("name")),)
    elif rank == 3:
        sub = (_str(o.get("package")),)
    else:
        sub = (schema, _str(o.get("name")))
    return (pkg.encode(), rank, tuple(s.encode() for s in sub))


def opm_sorted(items: Iterable[T], key: Callable[[T], tuple[Any, ...]]) -> list[T]:
    """``items`` in opm's output order, ``key`` giving each one's :func:`order_key`: grouped by
    package and kind (``organizeByPackage``), each group sorted with ``slices.SortFunc`` by name (or
    schema and name), an unstable sort whose order for equal names (two references rendering one
    bundle name) Go's algorithm decides, as :func:`~.gosort.go_sort` reproduces."""
    groups: dict[tuple[Any, ...], list[tuple[Any, T]]] = {}
    for item in items:
        k = key(item)
        groups.setdefault(k[:2], []).append((k[2], item))
    out: list[T] = []
    for g in sorted(groups):
        members = groups[g]
        if len(members) > 12:
            from imgextract.catalog.render.gosort import go_sort

            members = go_sort(members, key=lambda m: m[0])
        else:  # insertion sort: stable
            members.sort(key=lambda m: m[0])
        out.extend(item for _sub, item in members)
    return out


def opm_order(objs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """opm's output order (``organizeByPackage`` + the per-package sorts)."""
    return opm_sorted(objs, order_key)


def _encoded(obj: dict[str, Any]) -> Any:
    """What Go's encoder writes for the object: an object normalised from another schema carries
    its re-encoded blob under ``__raw__`` (a RawJSON, written as it is, compacted)."""
    raw = obj.get("__raw__")
    return raw if isinstance(raw, gojson.RawJSON) else obj


def compact(obj: dict[str, Any]) -> str:
    """The object as Go's encoder writes it (no HTML escaping), before indentation."""
    return gojson.marshal(_encoded(obj), escape_html=False, sort_keys=False)


def _yaml_value(text: str) -> Any:
    from imgextract.catalog.render.goresolve import go_resolve  # YAML only for -o yaml

    # JSONToYAML parses the JSON with go-yaml: numbers are resolved as YAML plain scalars
    return json.loads(text, parse_int=go_resolve, parse_float=go_resolve)


def encode(obj: dict[str, Any], fmt: str) -> str:
    """One object in ``fmt`` (json | yaml | ndjson), with its trailing newline."""
    if fmt == "json":  # indent(compact(obj)), written indented at once
        return gojson.marshal_indent(_encoded(obj), escape_html=False, sort_keys=False) + "\n"
    text = compact(obj)
    if fmt == "ndjson":
        return text + "\n"
    if fmt == "yaml":
        from imgextract.catalog.render.goyamlout import dump

        return "---\n" + dump(_yaml_value(text))
    raise ValueError(f"unknown output format {fmt!r} (json, yaml, ndjson)")


def write(objs: Iterable[dict[str, Any]], fp: IO[str], fmt: str, *, ordered: bool = True) -> None:
    """Write every object of ``objs`` to ``fp`` in ``fmt``; ``ordered`` applies opm's order, each
    object encoded as it comes and its text parked on disk until the order is known (memory holds
    one object and the places of the others)."""
    if not ordered:
        for obj in objs:
            fp.write(encode(obj, fmt))
        return
    from imgextract.catalog.render.spill import Spill

    with Spill() as spill:
        placed = [(order_key(o), spill.put(encode(o, fmt).encode("utf-8", "surrogatepass"))) for o in objs]
        for _key, place in opm_sorted(placed, key=lambda p: p[0]):
            fp.write(spill.get(place).decode("utf-8", "surrogatepass"))


def write_fbc(objs: Iterable[dict[str, Any]], fmt: str, fp: IO[str], *, ordered: bool = False) -> int:
    """Catalog objects as decoded from FBC files (plain dicts), re-written as ``opm render`` writes a
    catalog: each one normalised (:func:`~.fbc.normalize`), streamed in the given order unless
    ``ordered``.  Returns how many objects were written."""
    from imgextract.catalog.render.fbc import normalize

    n = 0

    def normalized() -> Iterator[dict[str, Any]]:
        nonlocal n
        for o in objs:
            n += 1
            yield normalize(o)

    write(normalized(), fp, fmt, ordered=ordered)
    return n


def write_json(objs: Iterable[dict[str, Any]], fp: IO[str], *, ordered: bool = True) -> None:
    """``opm render -o json``."""
    write(objs, fp, "json", ordered=ordered)


def write_yaml(objs: Iterable[dict[str, Any]], fp: IO[str], *, ordered: bool = True) -> None:
    """``opm render -o yaml``."""
    write(objs, fp, "yaml", ordered=ordered)


def write_ndjson(objs: Iterable[dict[str, Any]], fp: IO[str], *, ordered: bool = True) -> None:
    """One compact JSON object per line."""
    write(objs, fp, "ndjson", ordered=ordered)


def to_python(obj: dict[str, Any]) -> dict[str, Any]:
    """Plain Python values (property values decoded) for library callers."""
    result: dict[str, Any] = json.loads(compact(obj))
    return result
