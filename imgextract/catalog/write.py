"""Write FBC objects as ``json`` (opm's indented concatenation), ``yaml`` (``---`` documents) or
``ndjson`` (one compact object per line), streaming one object at a time."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO, Any

import yaml

FORMATS = ("json", "yaml", "ndjson")


def write_objects(objects: Iterable[dict[str, Any]], fmt: str, out: IO[str]) -> int:
    """Write every object to ``out``; return how many were written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown output format {fmt!r}")
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    n = 0
    for obj in objects:
        if fmt == "json":
            out.write(json.dumps(obj, indent=4, ensure_ascii=False) + "\n")
        elif fmt == "ndjson":
            out.write(json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n")
        else:
            out.write(
                "---\n" + yaml.dump(obj, Dumper=dumper, sort_keys=True, allow_unicode=True, width=1 << 30)
            )
        n += 1
    return n
