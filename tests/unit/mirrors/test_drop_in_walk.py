"""Which paths of a drop-in directory are read: containers/image ``dropInConfigs``.

It walks each directory with Go's ``filepath.WalkDir``, which ``Lstat``s the root and reads entry
types without following symbolic links, and adds every non-directory path ending in ``.conf``:

- a drop-in "directory" that is not one (``/dev/null``, which the MCO and containers/image's own
  tests pass to mean "no drop-ins", or a regular file) is not an error: it is skipped, unless its
  own name ends in ``.conf``, in which case it is read as a drop-in;
- a symbolic link given as the drop-in directory is not followed (the walk sees a non-directory);
- inside the directory, a sub-directory named ``*.conf`` is skipped, but a symbolic link named
  ``*.conf`` is read through, so a link to a directory is an error.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from imgextract.errors import ConfigError
from imgextract.mirrors.conf_loader import ConfPaths, load_registries_conf

ENTRY = '[[registry]]\nprefix = "q.io/ns"\nlocation = "{}"\n'


def _main(tmp_path: Path) -> Path:
    main = tmp_path / "registries.conf"
    main.write_text(ENTRY.format("main.local/ns"))
    return main


def _locations(paths: ConfPaths) -> list[str]:
    return [r.location for r in load_registries_conf(paths).registries]


def test_dev_null_as_drop_in_dir_means_none(tmp_path: Path) -> None:
    """containers/image ``dropInConfigs`` (``SystemRegistriesConfDirPath: os.DevNull`` in the MCO)."""
    assert os.path.exists(os.devnull)
    assert _locations(ConfPaths(_main(tmp_path), True, (Path(os.devnull),))) == ["main.local/ns"]


def test_regular_file_as_drop_in_dir(tmp_path: Path) -> None:
    """containers/image ``dropInConfigs``: a file root is a drop-in only if it is named ``*.conf``."""
    other = tmp_path / "notes.txt"
    other.write_text(ENTRY.format("ignored.local/ns"))
    assert _locations(ConfPaths(_main(tmp_path), True, (other,))) == ["main.local/ns"]
    single = tmp_path / "override.conf"
    single.write_text(ENTRY.format("override.local/ns"))
    assert _locations(ConfPaths(_main(tmp_path), True, (single,))) == ["override.local/ns"]


def test_symlinked_drop_in_dir_is_not_followed(tmp_path: Path) -> None:
    """containers/image ``dropInConfigs``: ``filepath.WalkDir`` ``Lstat``s its root."""
    real = tmp_path / "real.d"
    real.mkdir()
    (real / "10.conf").write_text(ENTRY.format("dropin.local/ns"))
    link = tmp_path / "registries.conf.d"
    link.symlink_to(real, target_is_directory=True)
    assert _locations(ConfPaths(_main(tmp_path), True, (real,))) == ["dropin.local/ns"]
    assert _locations(ConfPaths(_main(tmp_path), True, (link,))) == ["main.local/ns"]


def test_symlinked_entries_are_read_through(tmp_path: Path) -> None:
    """containers/image ``dropInConfigs``: an entry's type is not followed, the file is."""
    d = tmp_path / "registries.conf.d"
    d.mkdir()
    target = tmp_path / "shared-mirrors.toml"
    target.write_text(ENTRY.format("linked.local/ns"))
    (d / "10-link.conf").symlink_to(target)
    assert _locations(ConfPaths(_main(tmp_path), True, (d,))) == ["linked.local/ns"]


def test_symlink_to_directory_named_conf_is_an_error(tmp_path: Path) -> None:
    """containers/image ``dropInConfigs`` adds it (not a directory entry); reading it fails."""
    d = tmp_path / "registries.conf.d"
    d.mkdir()
    (tmp_path / "somedir").mkdir()
    (d / "10-dir.conf").symlink_to(tmp_path / "somedir", target_is_directory=True)
    with pytest.raises(ConfigError, match="10-dir.conf"):
        load_registries_conf(ConfPaths(_main(tmp_path), True, (d,)))
