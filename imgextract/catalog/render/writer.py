"""Write FBC objects as ``opm render`` does: ``-o json``, ``-o yaml``, and ``-o ndjson`` (ours).

Objects are dicts in opm's field order whose property values may be :class:`~.gojson.RawJSON` (kept as
opm keeps a ``json.RawMessage``).  opm's ``declcfg.WriteJSON``/``WriteYAML`` order the output: by package
name, then within a package ``olm.package`` objects, channels and bundles (each by name), the other
schemas (by schema), deprecations; the objects of no package last (see :func:`opm_sorted`);
``ordered=False`` keeps the given order instead.

* json: Go's encoder with ``SetIndent("", "    ")`` and HTML escaping off, one object after another;
* yaml: each object as ``---`` + ``sigs.k8s.io/yaml.JSONToYAML`` of that JSON;
* ndjson: one compact object per line (the JSON without indentation).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import IO, Any, TypeVar

from imgextract.catalog.render import gojson

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
FORMATS = ("json", "yaml", "ndjson")
_KNOWN = {"olm.package": 0, "olm.channel": 1, "olm.bundle": 2, "olm.deprecations": 4}
_OTHERS = 3  # a package's other objects come after its bundles, before its deprecations


def _str(v: Any) -> str:
    return v if isinstance(v, str) else ""


def order_key(o: dict[str, Any]) -> tuple[Any, ...] | None:
    """Where one object goes in opm's output (only its ``schema``, ``name`` and ``package`` count):
    ``(group, sort key)``; None for an object opm does not write (a package, channel, bundle or
    deprecation whose package name is empty)."""
    schema = _str(o.get("schema"))
    rank = _KNOWN.get(schema, _OTHERS)
    pkg = _str(o.get("name")) if rank == 0 else _str(o.get("package"))
    if not pkg:
        # writeToEncoder skips the "" package; its other objects are written last, as they came
        return None if rank != _OTHERS else ((1, b"", 0), ())
    if rank in (1, 2):
        sub: tuple[bytes, ...] = (_str(o.get("name")).encode(),)  # sort.Slice by name
    elif rank == _OTHERS:
        sub = (schema.encode(),)  # sort.SliceStable by schema alone
    else:
        sub = ()  # packages and deprecations: as they came
    return ((0, pkg.encode(), rank), sub)


def opm_sorted(items: Iterable[T], key: Callable[[T], tuple[Any, ...] | None]) -> list[T]:
    """``items`` in opm's output order (``declcfg.writeToEncoder``), ``key`` giving each one's
    :func:`order_key`: by package name; per package its ``olm.package`` objects, channels and
    bundles (each by name, with ``sort.Slice``: an unstable sort whose order for equal names, say two
    references rendering one bundle name, Go's algorithm decides, as :func:`~.gosort.go_sort`
    reproduces), the other objects (stable, by schema alone), deprecations; then the objects of no
    package, as they came.  Objects opm does not write are dropped."""
    groups: dict[tuple[Any, ...], list[tuple[Any, T]]] = {}
    for item in items:
        k = key(item)
        if k is not None:
            groups.setdefault(k[0], []).append((k[1], item))
    out: list[T] = []
    for g in sorted(groups):
        members = groups[g]
        if g[0] == 0 and g[2] in (1, 2) and len(members) > 12:
            from imgextract.catalog.render.gosort import go_sort

            members = go_sort(members, key=lambda m: m[0])
        else:  # insertion sort (up to 12 elements), sort.SliceStable, or no sort: all stable
            members.sort(key=lambda m: m[0])
        out.extend(item for _sub, item in members)
    return out


def opm_order(objs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """opm's output order (``organizeByPackage`` + the per-package sorts)."""
    return opm_sorted(objs, order_key)


def compact(obj: dict[str, Any]) -> str:
    """The object as Go's encoder writes it (no HTML escaping), before indentation.  An object
    normalised from another schema carries its re-encoded blob under ``__raw__``."""
    raw = obj.get("__raw__")
    if isinstance(raw, gojson.RawJSON):
        return gojson.compact(raw)
    return gojson.marshal(obj, escape_html=False, sort_keys=False)


def _yaml_value(text: str) -> Any:
    from imgextract.catalog.render.goyaml import go_resolve  # YAML only for -o yaml

    # JSONToYAML parses the JSON with go-yaml: numbers are resolved as YAML plain scalars
    return json.loads(text, parse_int=go_resolve, parse_float=go_resolve)


def encode(obj: dict[str, Any], fmt: str) -> str:
    """One object in ``fmt`` (json | yaml | ndjson), with its trailing newline."""
    text = compact(obj)
    if fmt == "json":
        return gojson.indent(text) + "\n"
    if fmt == "ndjson":
        return text + "\n"
    if fmt == "yaml":
        from imgextract.catalog.render.goyamlout import dump

        return "---\n" + dump(_yaml_value(text))
    raise ValueError(f"unknown output format {fmt!r} (json, yaml, ndjson)")


def write(objs: Iterable[dict[str, Any]], fp: IO[str], fmt: str, *, ordered: bool = True) -> None:
    """Write every object of ``objs`` to ``fp`` in ``fmt``; ``ordered`` applies opm's order."""
    items = opm_order(objs) if ordered else objs
    for obj in items:
        fp.write(encode(obj, fmt))


def write_fbc(objs: Iterable[dict[str, Any]], fmt: str, fp: IO[str], *, ordered: bool = False) -> int:
    """Catalog objects as decoded from FBC files (plain dicts), re-written as ``opm render`` writes a
    catalog: each one normalised (:func:`~.fbc.normalize`), streamed in the given order unless
    ``ordered``.  Returns how many objects were written."""
    from imgextract.catalog.render.fbc import normalize

    n = 0
    items = opm_order(normalize(o) for o in objs) if ordered else (normalize(o) for o in objs)
    for obj in items:
        fp.write(encode(obj, fmt))
        n += 1
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
