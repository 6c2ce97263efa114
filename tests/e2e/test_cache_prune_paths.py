"""``cache prune`` on a cache directory that is not there, or is a file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.e2e.cli import Run


def test_a_missing_cache_is_nothing_to_prune_and_a_file_is_a_usage_error(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    r = cli("cache", "prune", "--all", "--cache-dir", str(tmp_path / "none"))
    assert r.code == 0 and r.stdout.strip() == f"{tmp_path / 'none'}: no cache"
    (tmp_path / "file").write_text("x")
    r = cli("cache", "prune", "--all", "--cache-dir", str(tmp_path / "file"))
    assert r.code == 2, r.stderr
    assert r.stderr.strip().endswith("not a directory") and len(r.stderr.strip().splitlines()) == 1
    assert (tmp_path / "file").read_text() == "x"
