"""A render's temporary file failing (TMPDIR full or unusable) is a local filesystem error (exit 9),
not a fault of the catalog being rendered (exit 6): the user must fix the disk, not the catalog."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from imgextract.errors import LocalFilesystemError
from imgextract.rendering import encode, render_output


def _catalog(root: Path) -> Path:
    root.mkdir()
    objs = [
        {"schema": "olm.package", "name": "pkg", "defaultChannel": "stable"},
        {"schema": "olm.channel", "package": "pkg", "name": "stable", "entries": [{"name": "pkg.v1.0.0"}]},
    ]
    (root / "catalog.json").write_text("\n".join(json.dumps(o) for o in objs))
    return root


def test_an_unusable_temporary_directory_is_a_local_filesystem_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hazard: the spill file's OSError was caught with the catalog's read errors and reported as
    an invalid catalog.  (``tempfile.tempdir`` names a path under a regular file: every
    ``TemporaryFile`` fails with NotADirectoryError, as a full or vanished TMPDIR would fail.)"""
    catalog = _catalog(tmp_path / "catalog")
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setattr(tempfile, "tempdir", str(blocker / "tmp"))
    with pytest.raises(LocalFilesystemError, match="temporary file"):
        render_output(None, str(catalog))


def test_encoding_in_opm_order_with_an_unusable_temporary_directory_is_a_local_filesystem_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``encode`` parks each object's text in the same kind of temporary file (writer.write)."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setattr(tempfile, "tempdir", str(blocker / "tmp"))
    with pytest.raises(LocalFilesystemError, match="temporary file"):
        encode([{"schema": "olm.package", "name": "pkg"}])
