from __future__ import annotations

import os
from pathlib import Path

import pytest

from imgextract.errors import UsageError
from imgextract.outputs.directory import StagingDir, atomic_write, force_rmtree


def test_commit_renames_into_place(tmp_path: Path) -> None:
    out = tmp_path / "out"
    staging = StagingDir(out)
    with staging as root:
        (root / "f").write_text("x")
        staging.commit()
    assert (out / "f").read_text() == "x"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_failure_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(RuntimeError), StagingDir(out) as root:
        (root / "d").mkdir()
        os.chmod(root / "d", 0)
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_existing_nonempty_needs_force(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old").write_text("old")
    with pytest.raises(UsageError, match="not empty"), StagingDir(out):
        pass
    assert (out / "old").exists()
    staging = StagingDir(out, force=True)
    with staging as root:
        (root / "new").write_text("new")
        staging.commit()
    assert sorted(p.name for p in out.iterdir()) == ["new"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_empty_existing_dir_is_fine(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    staging = StagingDir(out)
    with staging as root:
        (root / "a").write_text("a")
        staging.commit()
    assert (out / "a").exists()


def test_force_rmtree_handles_mode_000(tmp_path: Path) -> None:
    d = tmp_path / "t" / "locked"
    d.mkdir(parents=True)
    (d / "f").write_text("x")
    os.chmod(d, 0)
    force_rmtree(tmp_path / "t")
    assert not (tmp_path / "t").exists()


def test_atomic_write(tmp_path: Path) -> None:
    p = tmp_path / "cm.yaml"
    atomic_write(p, b"data")
    assert p.read_bytes() == b"data" and oct(p.stat().st_mode & 0o777) == "0o644"
    assert [x.name for x in tmp_path.iterdir()] == ["cm.yaml"]
