"""Resolution work is bounded: many very deep entries fail fast instead of costing depth x entries syscalls."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from imgextract.errors import LimitExceeded
from imgextract.layers import fsroot
from imgextract.layers.applier import Applier


def _deep_layer(depth: int, files: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        parts = [f"d{i % 10}" for i in range(depth)]
        for i in range(depth):
            info = tarfile.TarInfo("/".join(parts[: i + 1]))
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tf.addfile(info)
        for n in range(files):
            info = tarfile.TarInfo("/".join([*parts, f"f{n}"]))
            tf.addfile(info, io.BytesIO(b""))
    return buf.getvalue()


def test_deep_entries_hit_the_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fsroot, "BASE_STEPS", 20_000)
    (tmp_path / "root").mkdir()
    applier = Applier(tmp_path / "root")
    with pytest.raises(LimitExceeded, match="resolution work"):
        applier.apply(io.BytesIO(_deep_layer(depth=400, files=400)))
    applier.close()


def test_ordinary_depth_stays_within_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fsroot, "BASE_STEPS", 20_000)
    (tmp_path / "root").mkdir()
    applier = Applier(tmp_path / "root")
    applier.apply(io.BytesIO(_deep_layer(depth=30, files=2000)))
    applier.finalize()
    assert len(list((tmp_path / "root").rglob("f*"))) == 2000
