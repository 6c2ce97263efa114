"""Shared helpers for the mirrors tests: load a vector case's registries.conf."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from imgextract.mirrors.conf_loader import ConfPaths, RegistriesConf, load_registries_conf
from imgextract.mirrors.config import MirrorConfig
from tests.conformance import conformance_dir

DIGEST = "sha256:" + "a" * 64


def case_conf_paths(case: dict[str, Any], tmp_path: Path) -> ConfPaths:
    """``conf`` (relative to the vectors) or ``conf_toml`` (written to tmp_path); ``conf_dir`` or none."""
    base = conformance_dir()
    if case.get("conf_toml") is not None:
        conf = tmp_path / "inline.conf"
        conf.write_text(case["conf_toml"])
    else:
        conf = base / case["conf"]
    conf_dir = base / case["conf_dir"] if case.get("conf_dir") else tmp_path / "no-such-registries.conf.d"
    return ConfPaths(config=conf, must_exist=True, drop_in_dirs=(conf_dir,))


def load_case(case: dict[str, Any], tmp_path: Path) -> RegistriesConf:
    return load_registries_conf(case_conf_paths(case, tmp_path))


def config_for_case(case: dict[str, Any], tmp_path: Path) -> MirrorConfig:
    conf = load_case(case, tmp_path)
    return MirrorConfig(conf.registries, conf=conf)
