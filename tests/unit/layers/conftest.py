"""Fixtures: an output root beside a 'victim' tree whose checksum must not change."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.layers.layerkit import tree_digest

HOST_FILES = ("/etc/passwd", "/etc/hostname")


def _host_state() -> dict[str, tuple[int, int, int, int]]:
    out = {}
    for p in HOST_FILES:
        if os.path.exists(p):
            st = os.lstat(p)
            out[p] = (st.st_mode, st.st_nlink, st.st_mtime_ns, st.st_size)
    return out


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    v = tmp_path / "victim"
    (v / "sub").mkdir(parents=True)
    (v / "file").write_text("precious")
    (v / "sub" / "deep").write_text("also precious")
    os.chmod(v / "file", 0o600)
    return v


@pytest.fixture
def out(tmp_path: Path, victim: Path) -> Iterator[Path]:
    """The extraction root; after the test the victim tree and host files are unchanged."""
    root = tmp_path / "out"
    root.mkdir()
    before, host_before = tree_digest(victim), _host_state()
    siblings_before = sorted(p.name for p in tmp_path.iterdir())
    yield root
    assert tree_digest(victim) == before, "the victim tree outside OUT changed"
    assert _host_state() == host_before, "host files changed (mode/link count/mtime/size)"
    assert sorted(p.name for p in tmp_path.iterdir()) == siblings_before, "something was created beside OUT"
