"""Security: ConfigMap annotations read back are strings; a YAML alias bomb in one is refused
rather than expanded by ``str()``."""

from __future__ import annotations

import pytest

from imgextract.errors import InvalidBundleError
from imgextract.outputs.configmap.reader import load_yaml, read


def test_alias_bomb_annotation_is_refused() -> None:
    lines = ['x0: &a0 ["lol"]']
    for i in range(1, 6):
        lines.append(f"x{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    doc = (
        "\n".join(lines)
        + "\nkind: ConfigMap\nmetadata:\n  name: b\n  annotations:\n    k: *a5\ndata:\n  a.yaml: x\n"
    )
    with pytest.raises(InvalidBundleError):
        read(load_yaml(doc))
