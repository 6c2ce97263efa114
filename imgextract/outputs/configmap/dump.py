"""ConfigMaps as a multi-document YAML string: block scalars for multi-line text, keys in the given order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from imgextract.bundles.annotations import go_yaml_typed

_Base: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_Base):
    """Literal block style for multi-line strings (the emitter falls back to quoting when it must).

    Never anchors and aliases: a manifest that shares a dict between two places (labels on a Job and
    its pod template) is written out twice, as kubectl users expect to read it.
    """

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        style: str | None = "|"
    else:  # kubectl reads YAML 1.1 as go-yaml v2 does: quote what it would read as no string (y, 1e3)
        style = "'" if go_yaml_typed(value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(objects: Iterable[dict[str, Any]]) -> str:
    """``---``-separated YAML documents, deterministic for the same input."""
    return yaml.dump_all(
        list(objects),
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        explicit_start=True,
        width=1 << 30,
    )
