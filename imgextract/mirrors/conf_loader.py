"""Find registries.conf and its drop-in directories, and merge them (containers/image rules).

Main file: the explicit path (``--registries-conf``), else ``$CONTAINERS_REGISTRIES_CONF``, else
``~/.config/containers/registries.conf`` when it exists, else ``/etc/containers/registries.conf``.
An explicitly named file must exist; a missing default file means an empty configuration.

Drop-ins (``*.conf`` only, not recursive, lexical order): the explicit ``--registries-conf-dir``
alone; else, when the per-user registries.conf was chosen, ``~/.config/containers/registries.conf.d``
alone; else ``/etc/containers/registries.conf.d`` then ``~/.config/containers/registries.conf.d``.
Each drop-in replaces whole ``[[registry]]`` entries with the same prefix, replaces
``unqualified-search-registries`` / ``credential-helpers`` / ``short-name-mode`` when it sets
them, and overrides aliases one by one.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from imgextract.errors import ConfigError
from imgextract.mirrors.conf_file import ParsedFile, load_file
from imgextract.mirrors.model import Registry
from imgextract.mirrors.shortnames import DEFAULT_SHORT_NAME_MODE, Alias
from imgextract.records import FrozenRecord, Record
from imgextract.settings import SYSTEM_REGISTRIES_CONF, SYSTEM_REGISTRIES_CONF_DIR

USER_REGISTRIES_CONF = Path(".config/containers/registries.conf")  # relative to $HOME
USER_REGISTRIES_CONF_DIR = Path(".config/containers/registries.conf.d")
ENV_REGISTRIES_CONF = "CONTAINERS_REGISTRIES_CONF"
AUTH_FILE_HELPER = "containers-auth.json"


class ConfPaths(FrozenRecord):
    """Which files to read: the main file (``must_exist`` when named explicitly) and drop-in dirs."""

    __slots__ = ("config", "must_exist", "drop_in_dirs")

    def __init__(self, config: Path, must_exist: bool, drop_in_dirs: tuple[Path, ...]) -> None:
        self.config: Final = config
        self.must_exist: Final = must_exist
        self.drop_in_dirs: Final = drop_in_dirs


class RegistriesConf(Record):
    """The merged result of registries.conf and its drop-ins."""

    __slots__ = (
        "registries",
        "unqualified_search_registries",
        "credential_helpers",
        "short_name_mode",
        "aliases",
        "files",
    )

    def __init__(
        self,
        registries: list[Registry] | None = None,
        unqualified_search_registries: list[str] | None = None,
        credential_helpers: list[str] | None = None,
        short_name_mode: str = DEFAULT_SHORT_NAME_MODE,
        aliases: dict[str, Alias] | None = None,
        files: list[str] | None = None,
    ) -> None:
        self.registries: list[Registry] = registries if registries is not None else []
        self.unqualified_search_registries: list[str] = (
            unqualified_search_registries if unqualified_search_registries is not None else []
        )
        self.credential_helpers: list[str] = (
            credential_helpers if credential_helpers is not None else [AUTH_FILE_HELPER]
        )
        self.short_name_mode = short_name_mode
        self.aliases: dict[str, Alias] = aliases if aliases is not None else {}
        self.files: list[str] = files if files is not None else []  # files actually read, in order


def resolve_paths(
    explicit: Path | None,
    explicit_dir: Path | None,
    env: Mapping[str, str],
    *,
    home: Path | None = None,
    system_conf: Path = SYSTEM_REGISTRIES_CONF,
    system_dir: Path = SYSTEM_REGISTRIES_CONF_DIR,
) -> ConfPaths:
    """containers/image ``newConfigWrapperWithHomeDir``, with the env variable as podman sets it."""
    if home is None:
        home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    user_conf, user_dir = home / USER_REGISTRIES_CONF, home / USER_REGISTRIES_CONF_DIR
    named = explicit or (Path(env[ENV_REGISTRIES_CONF]) if env.get(ENV_REGISTRIES_CONF) else None)
    if named is None and user_conf.exists():
        return ConfPaths(user_conf, False, (explicit_dir,) if explicit_dir else (user_dir,))
    config = named or system_conf
    dirs = (explicit_dir,) if explicit_dir else (system_dir, user_dir)
    return ConfPaths(config, named is not None, dirs)


def drop_in_files(dirs: tuple[Path, ...]) -> list[Path]:
    """The drop-ins of ``dirs``, as containers/image ``dropInConfigs`` walks them with Go's
    ``filepath.WalkDir``: the root is ``Lstat``-ed (a symbolic link to a directory is not followed,
    and a root that is no directory, e.g. ``/dev/null``, is itself a drop-in only when named
    ``*.conf``); entries are not recursed into and their type is not followed, so a symbolic link
    named ``*.conf`` is read through (to a directory: a read error)."""
    files: list[Path] = []
    for d in dirs:
        try:
            root = d.lstat()
        except FileNotFoundError:
            continue
        except OSError as e:
            raise ConfigError(f'reading registries.conf.d "{d}": {e.strerror or e}') from None
        if not stat.S_ISDIR(root.st_mode):
            if d.name.endswith(".conf"):
                files.append(d)
            continue
        try:
            with os.scandir(d) as it:
                entries = sorted(
                    ((e.name, e.is_dir(follow_symlinks=False)) for e in it), key=lambda entry: entry[0]
                )
        except OSError as e:
            raise ConfigError(f'reading registries.conf.d "{d}": {e.strerror or e}') from None
        files.extend(d / name for name, is_dir in entries if name.endswith(".conf") and not is_dir)
    return files


def _merge(into: RegistriesConf, update: ParsedFile) -> None:
    by_prefix = {r.prefix: r for r in into.registries}
    by_prefix.update({r.prefix: r for r in update.registries})
    into.registries = [by_prefix[p] for p in sorted(by_prefix)]
    if update.unqualified_search_registries is not None:
        into.unqualified_search_registries = update.unqualified_search_registries
    if update.credential_helpers is not None:
        into.credential_helpers = update.credential_helpers
    if update.short_name_mode is not None:
        into.short_name_mode = update.short_name_mode
    into.aliases.update(update.aliases)
    into.files.append(update.path)


def load_registries_conf(paths: ConfPaths) -> RegistriesConf:
    """Load the main file and the drop-ins; every error is a ConfigError naming the file."""
    result = RegistriesConf(credential_helpers=[])
    try:
        _merge(result, load_file(paths.config))
    except FileNotFoundError:
        if paths.must_exist:
            raise ConfigError(
                f'loading registries configuration "{paths.config}": '
                f"open {paths.config}: no such file or directory"
            ) from None
    for path in drop_in_files(paths.drop_in_dirs):
        try:
            _merge(result, load_file(path, drop_in=True))
        except FileNotFoundError:
            continue  # removed between listing and reading: upstream ignores this race too
    if not result.credential_helpers:
        result.credential_helpers = [AUTH_FILE_HELPER]
    return result
