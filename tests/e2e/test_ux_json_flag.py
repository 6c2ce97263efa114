"""``--json`` says what it prints on every command, and is never silently ignored."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.cli import Run


def _fbc(root: Path) -> Path:
    """A one-package file-based catalog directory (no registry needed)."""
    (root / "p").mkdir(parents=True)
    objects = [
        {"schema": "olm.package", "name": "p", "defaultChannel": "stable"},
        {"schema": "olm.channel", "package": "p", "name": "stable", "entries": [{"name": "p.v1.0.0"}]},
        {
            "schema": "olm.bundle",
            "package": "p",
            "name": "p.v1.0.0",
            "image": "example.test/p@sha256:" + "1" * 64,
            "properties": [{"type": "olm.package", "value": {"packageName": "p", "version": "1.0.0"}}],
        },
    ]
    (root / "p" / "catalog.json").write_text("".join(json.dumps(o) + "\n" for o in objects))
    return root


@pytest.mark.parametrize("command", [("render",), ("catalog", "render")])
@pytest.mark.parametrize("fmt", ["yaml", "ndjson"])
def test_json_with_another_output_format_is_refused(
    cli: Callable[..., Run], tmp_path: Path, command: tuple[str, ...], fmt: str
) -> None:
    r = cli(*command, str(_fbc(tmp_path / "fbc")), "-o", fmt, "--json")
    assert r.code == 2 and r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and "--json" in lines[0] and f"-o {fmt}" in lines[0]


@pytest.mark.parametrize("command", [("render",), ("catalog", "render")])
def test_json_on_render_is_opm_json(
    cli: Callable[..., Run], tmp_path: Path, command: tuple[str, ...]
) -> None:
    fbc = str(_fbc(tmp_path / "fbc"))
    plain, flagged = cli(*command, fbc), cli(*command, fbc, "--json")
    assert plain.code == flagged.code == 0
    assert flagged.stdout == plain.stdout and plain.stdout.startswith("{\n")


@pytest.mark.parametrize(
    ("command", "words"),
    [
        (("pull",), "one compact line per bundle"),
        (("inspect",), "one JSON object"),
        (("catalog", "bundles"), "JSON array"),
        (("catalog", "images"), "JSON array"),
        (("render",), "-o json"),
        (("catalog", "render"), "-o json"),
    ],
)
def test_json_help_says_what_is_printed(
    cli: Callable[..., Run], command: tuple[str, ...], words: str
) -> None:
    r = cli(*command, "--help")
    assert r.code == 0
    text = " ".join(r.stdout.split())
    text = text[text.index("Options:") :]
    json_help = text[text.index("--json ") : text.index("-q, --quiet")]
    assert words in json_help
