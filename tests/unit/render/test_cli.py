"""``bundle-extract render`` on directories: bytes on stdout, one-line errors with opm's outcome."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.e2e.cli import run_cli

DATA = Path(__file__).resolve().parents[2] / "data" / "render"
WIDGET = DATA / "widget-operator"


def test_yaml_bytes_on_stdout(tmp_path: Path) -> None:
    run = run_cli("render", str(WIDGET), "-o", "yaml", "-q", home=tmp_path)
    assert run.code == 0, run.stderr
    assert run.stdout == (DATA / "expected" / "widget-dir.yaml").read_text()


def test_bundle_without_csv_is_one_line_exit_6(tmp_path: Path) -> None:
    root = tmp_path / "b"
    shutil.copytree(WIDGET, root)
    for p in (root / "manifests").glob("*clusterserviceversion*"):
        p.unlink()
    run = run_cli("render", str(root), home=tmp_path)
    assert run.code == 6
    assert run.stdout == ""
    lines = [ln for ln in run.stderr.splitlines() if "no csv in bundle" in ln]
    assert len(lines) == 1 and f'render reference "{root}"' in lines[0]
    assert "Traceback" not in run.stderr


def test_unknown_migrate_level_is_usage(tmp_path: Path) -> None:
    run = run_cli("render", str(WIDGET), "--migrate-level", "split-icon", home=tmp_path)
    assert run.code == 2 and "Traceback" not in run.stderr
