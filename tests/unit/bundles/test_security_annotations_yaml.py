"""Security: annotations.yaml comes from the image; a YAML alias bomb (a few hundred bytes that expand
exponentially when a value is turned into a string) must be refused, not expanded."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgextract.bundles.annotations import read_annotations
from imgextract.errors import InvalidBundleError


def alias_bomb(levels: int) -> str:
    lines = ['a0: &a0 ["lol"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    lines.append(f"annotations:\n  operators.operatorframework.io.bundle.package.v1: *a{levels}")
    return "\n".join(lines) + "\n"


def test_alias_bomb_value_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "annotations.yaml"
    path.write_text(alias_bomb(5))  # 100k list entries: small enough to survive if not refused
    with pytest.raises(InvalidBundleError):
        read_annotations(path)


def test_scalar_values_still_read(tmp_path: Path) -> None:
    path = tmp_path / "annotations.yaml"
    path.write_text("annotations:\n  a: x\n  b: 1\n  c:\n")
    assert read_annotations(path) == {"a": "x", "b": "1", "c": ""}
