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


def test_hostile_documents_are_errors_not_tracebacks(tmp_path: Path) -> None:
    # a manifest nested beyond any sane depth, and a catalog value Go's encoder refuses (NaN)
    root = tmp_path / "b"
    shutil.copytree(WIDGET, root)
    (root / "manifests" / "deep.json").write_text('{"kind": "X", "a": ' + "[" * 5000 + "]" * 5000 + "}")
    run = run_cli("render", str(root), home=tmp_path)
    assert "Traceback" not in run.stderr and run.code in (0, 6)
    fbc = tmp_path / "fbc"
    fbc.mkdir()
    # NaN is no JSON; after two JSON objects the stream stays JSON (YAMLOrJSONDecoder)
    (fbc / "c.json").write_text('{"schema": "acme.a"}{"schema": "acme.b"}{"schema": "acme.thing", "v": NaN}')
    run = run_cli("render", str(fbc), home=tmp_path)
    assert run.code == 6 and "Traceback" not in run.stderr
    assert "c.json: object 2: invalid JSON" in run.stderr


def test_lone_surrogate_in_a_catalog_is_rendered_as_opm_does(tmp_path: Path) -> None:
    """opm (Go's encoding/json) reads an unpaired ``\\ud800`` escape as U+FFFD; a lone surrogate
    kept in a Python string made the render's byte-order sort raise UnicodeEncodeError."""
    root = tmp_path / "catalog" / "p"
    root.mkdir(parents=True)
    (root / "c.json").write_text(
        '{"schema":"olm.package","name":"p","defaultChannel":"st\\ud800"}\n'
        '{"schema":"olm.channel","package":"p","name":"st\\ud800","entries":[{"name":"p.v1"}]}\n'
    )
    run = run_cli("render", str(tmp_path / "catalog"), "-o", "json", home=tmp_path)
    assert run.code == 0, run.stderr
    assert '"defaultChannel": "st\ufffd"' in run.stdout
