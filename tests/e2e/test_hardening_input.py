"""Clear errors for odd input: one line, a usage error (exit 2), and nothing written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.e2e.cli import Run


def _one_line(r: Run) -> str:
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "internal error" not in lines[0]
    return lines[0]


def test_host_label_over_63_characters_is_a_usage_error(cli: Callable[..., Run], tmp_path: Path) -> None:
    host = "a" * 70 + ".example"
    r = cli("pull", f"{host}/team/app:v1", "-o", str(tmp_path / "out"))
    assert r.code == 2, r.stderr
    assert "63 characters" in _one_line(r)
    assert not (tmp_path / "out").exists()


def test_a_10_kb_reference_is_shortened_on_stderr(cli: Callable[..., Run], tmp_path: Path) -> None:
    ref = "team/" + "a" * 10_000 + ":v1"
    r = cli("pull", ref, "-o", str(tmp_path / "out"))
    assert r.code == 2, r.stderr
    line = _one_line(r)
    assert len(line) < 1000 and "more characters" in line


def test_empty_platform_is_a_usage_error(cli: Callable[..., Run], tmp_path: Path) -> None:
    r = cli("pull", "localhost:1/team/app:v1", "-o", str(tmp_path / "out"), "--platform", "")
    assert r.code == 2, r.stderr
    assert "--platform" in _one_line(r)


def test_dangling_symlink_as_out_is_named_as_such(cli: Callable[..., Run], tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.symlink_to(tmp_path / "nowhere")
    r = cli("pull", "localhost:1/team/app:v1", "-o", str(out))
    assert r.code == 2, r.stderr
    assert "dangling symlink" in _one_line(r)
    assert out.is_symlink()


def test_symlink_to_an_empty_directory_as_out_is_named_as_such(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    target = tmp_path / "empty"
    target.mkdir()
    out = tmp_path / "out"
    out.symlink_to(target)
    r = cli("pull", "localhost:1/team/app:v1", "-o", str(out))
    assert r.code == 2, r.stderr
    line = _one_line(r)
    assert "symlink to a directory" in line and str(target) in line
    assert out.is_symlink() and list(target.iterdir()) == []
