"""Resolution work is bounded: many very deep entries fail fast instead of costing depth x entries syscalls."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from imgextract.errors import LimitExceeded
from imgextract.layers import fsroot
from imgextract.layers.applier import Applier


def _deep_layer(depth: int, files: int, *, relink: bool = False) -> bytes:
    """A directory ``depth`` deep and ``files`` files in it; with ``relink`` a symlink is
    replaced before each file, so no directory fd the applier keeps is valid for the next file
    (each is resolved from the root again)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        parts = [f"d{i % 10}" for i in range(depth)]
        for i in range(depth):
            info = tarfile.TarInfo("/".join(parts[: i + 1]))
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tf.addfile(info)
        for n in range(files):
            if relink:
                info = tarfile.TarInfo("link")
                info.type, info.linkname = tarfile.SYMTYPE, f"t{n % 2}"
                tf.addfile(info)
            info = tarfile.TarInfo("/".join([*parts, f"f{n}"]))
            tf.addfile(info, io.BytesIO(b""))
    return buf.getvalue()


def test_deep_entries_hit_the_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fsroot, "BASE_STEPS", 20_000)
    (tmp_path / "root").mkdir()
    applier = Applier(tmp_path / "root")
    with pytest.raises(LimitExceeded, match="resolution work"):
        applier.apply(io.BytesIO(_deep_layer(depth=400, files=400, relink=True)))
    applier.close()


def test_deep_directories_listed_in_order_cost_one_step_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each directory below a kept one is opened from it: depth + files steps, not depth x files."""
    monkeypatch.setattr(fsroot, "BASE_STEPS", 20_000)
    (tmp_path / "root").mkdir()
    applier = Applier(tmp_path / "root")
    applier.apply(io.BytesIO(_deep_layer(depth=400, files=400)))
    applier.finalize()
    assert len(list((tmp_path / "root").rglob("f*"))) == 400


def test_ordinary_depth_stays_within_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fsroot, "BASE_STEPS", 20_000)
    (tmp_path / "root").mkdir()
    applier = Applier(tmp_path / "root")
    applier.apply(io.BytesIO(_deep_layer(depth=30, files=2000)))
    applier.finalize()
    assert len(list((tmp_path / "root").rglob("f*"))) == 2000
