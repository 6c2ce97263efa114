"""``Catalog.filter(packages="etcd")``: a single string is refused, not read as its characters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import imgextract


def _catalog(root: Path) -> imgextract.Catalog:
    (root / "etcd").mkdir(parents=True)
    objects = [
        {"schema": "olm.package", "name": "etcd", "defaultChannel": "stable"},
        {"schema": "olm.channel", "package": "etcd", "name": "stable", "entries": [{"name": "etcd.v1.0.0"}]},
        {
            "schema": "olm.bundle",
            "package": "etcd",
            "name": "etcd.v1.0.0",
            "image": "example.test/etcd@sha256:" + "1" * 64,
            "properties": [{"type": "olm.package", "value": {"packageName": "etcd", "version": "1.0.0"}}],
        },
    ]
    (root / "etcd" / "catalog.json").write_text("".join(json.dumps(o) + "\n" for o in objects))
    return imgextract.Catalog.open(root)


@pytest.mark.parametrize("field", ["packages", "channels"])
def test_a_single_string_is_a_usage_error(tmp_path: Path, field: str) -> None:
    cat = _catalog(tmp_path / "fbc")
    value = "etcd" if field == "packages" else "stable"
    single: dict[str, Any] = {field: value}
    listed: dict[str, Any] = {field: [value]}
    with pytest.raises(
        imgextract.UsageError, match=f"{field} takes a list of names, got a single string '{value}'"
    ):
        cat.filter(**single)
    assert [p.name for p in cat.filter(**listed).packages()] == ["etcd"]


def test_pull_catalog_refuses_it_before_pulling(tmp_path: Path) -> None:
    _catalog(tmp_path / "fbc")
    with pytest.raises(imgextract.UsageError, match="packages takes a list"):
        imgextract.pull_catalog(tmp_path / "fbc", tmp_path / "out", packages="etcd")
    assert not (tmp_path / "out").exists()
