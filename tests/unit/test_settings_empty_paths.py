"""An empty path option is refused where settings are built (like ``-o ''``), never read as ``.``:
``Path("")`` is the current directory, so ``--cache-dir ''`` would write a content cache there and
``--registries-conf-dir ''`` or ``--cert-dir ''`` would read whatever the current directory holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import imgextract
from imgextract.errors import UsageError

PATH_OPTIONS = (
    "ca_file",
    "cert_dir",
    "authfile",
    "pull_secret",
    "registries_conf",
    "registries_conf_dir",
    "cache_dir",
    "registries_d",
)
LIST_OPTIONS = ("icsp_files", "idms_files", "itms_files")


@pytest.mark.parametrize("name", PATH_OPTIONS)
def test_empty_path_option_is_a_usage_error(name: str) -> None:
    with pytest.raises(UsageError, match=f"{name} must not be empty"):
        options: dict[str, Any] = {name: ""}  # names chosen at run time: not checkable by mypy
        imgextract.Settings.from_options(**options)


@pytest.mark.parametrize("name", LIST_OPTIONS)
def test_empty_file_in_a_list_option_is_a_usage_error(name: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=f"{name} must not be empty"):
        options: dict[str, Any] = {name: [tmp_path / "x.yaml", ""]}
        imgextract.Settings.from_options(**options)


def test_a_path_naming_the_current_directory_is_still_a_path(tmp_path: Path) -> None:
    with imgextract.Client(cache_dir=".", registries_conf_dir=tmp_path) as client:
        assert client.settings.cache.cache_dir == Path(".")
