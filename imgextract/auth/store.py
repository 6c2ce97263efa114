"""CredentialStore: every credential source, searched in a fixed order (see docs/auth.md).

1. ``--creds USER[:PASS]``: only for the registries the store is scoped to
   (:meth:`CredentialStore.scope_flag_credentials`: the registry of the reference the user
   named, and a configured mirror only on that same registry, as containers/image does), never
   for a host taken from image content such as an imgpkg ``images.yml``.
2. ``--pull-secret FILE`` (Kubernetes matching rules).
3. Auth files, podman/skopeo order.  ``--authfile`` (else ``$REGISTRY_AUTH_FILE``) is the
   only file read when given, as in podman.  Otherwise:
   ``$XDG_RUNTIME_DIR/containers/auth.json`` (``/run/containers/$UID/auth.json`` without
   ``XDG_RUNTIME_DIR``), ``${XDG_CONFIG_HOME:-~/.config}/containers/auth.json``,
   ``$DOCKER_AUTH_CONFIG`` (JSON in the variable), ``$DOCKER_CONFIG/config.json`` or
   ``~/.docker/config.json``, ``~/.dockercfg`` (legacy format).
   In each file: ``credHelpers[host]``, else ``credsStore``, run as a docker credential
   helper; if the helper has nothing, the file's ``auths`` entries.
4. imgpkg's ``IMGPKG_REGISTRY_*`` environment variables.
The first source with credentials for the image wins.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from imgextract.auth.authfile import AuthFile
from imgextract.auth.credentials import Credentials, parse_creds_flag
from imgextract.auth.keys import DOCKER_HUB_HOSTS, DOCKER_HUB_KEY
from imgextract.errors import ConfigError

if TYPE_CHECKING:
    from imgextract.auth.keyring import Keyring

log = logging.getLogger(__name__)

Lookup = Callable[[str, str], list[Credentials]]


def _canonical(registry: str) -> str:
    return DOCKER_HUB_KEY if registry in DOCKER_HUB_HOSTS else registry


def _image_name(registry: str, repository: str) -> str:
    return f"{registry}/{repository}" if repository else registry


def helper_server_urls(registry: str) -> list[str]:
    """Server URLs a credential helper is asked for: ``docker login`` spelling first for Hub."""
    if registry in DOCKER_HUB_HOSTS:
        return [DOCKER_HUB_KEY, "docker.io"]
    return [registry]


def auth_file_paths(env: Mapping[str, str], authfile: Path | None = None) -> list[tuple[Path, bool, bool]]:
    """The auth files to read, in order, as ``(path, legacy_format, required)``."""
    if authfile is not None:
        return [(authfile, False, True)]
    if env.get("REGISTRY_AUTH_FILE"):
        return [(Path(env["REGISTRY_AUTH_FILE"]), False, True)]
    home = Path(env.get("HOME") or str(Path.home()))
    runtime_dir = env.get("XDG_RUNTIME_DIR")
    runtime = Path(runtime_dir) if runtime_dir else Path(f"/run/containers/{os.getuid()}")
    config_home = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
    docker_dir = Path(env["DOCKER_CONFIG"]) if env.get("DOCKER_CONFIG") else home / ".docker"
    return [
        (runtime / "containers" / "auth.json" if runtime_dir else runtime / "auth.json", False, False),
        (config_home / "containers" / "auth.json", False, False),
        (docker_dir / "config.json", False, False),
        (home / ".dockercfg", True, False),
    ]


class CredentialStore:
    """Answers "which credentials for registry/repository"; built once per run."""

    def __init__(self, sources: list[tuple[str, Lookup]]) -> None:
        self._sources = sources
        self._cache: dict[tuple[str, str], Credentials | None] = {}
        self._lock = threading.Lock()
        self._flag_scope: frozenset[str] | None = None

    def scope_flag_credentials(self, registries: Iterable[str]) -> None:
        """Send ``--creds`` to these registries only (as written in references; Docker Hub's
        spellings are one).  Until this is called nothing is scoped (library callers that build a
        store for one registry)."""
        with self._lock:
            self._flag_scope = frozenset(_canonical(r) for r in registries)
            self._cache.clear()

    def allow_flag_credentials(self, registries: Iterable[str]) -> None:
        """Add these registries to where ``--creds`` may go, never taking one away: a long-lived
        client's scope is every registry the user named in any of its calls, so a call naming
        another registry (another thread's) cannot strip the credentials from a running one.
        The first call scopes an unscoped store (as :meth:`scope_flag_credentials` does)."""
        added = frozenset(_canonical(r) for r in registries)
        with self._lock:
            current = self._flag_scope
            if current is None or not added <= current:
                self._flag_scope = added if current is None else current | added
                self._cache.clear()

    def flag_credentials_allowed(self, registry: str) -> bool:
        scope = self._flag_scope
        return scope is None or _canonical(registry) in scope

    @property
    def source_names(self) -> list[str]:
        """Where credentials are looked up, in order (for diagnostics; holds no secrets)."""
        return [name for name, _ in self._sources]

    @classmethod
    def from_settings(
        cls,
        *,
        creds: str | None,
        authfile: Path | None,
        pull_secret: Path | None,
        env: Mapping[str, str] | None = None,
    ) -> CredentialStore:
        """Build the store from the flags and environment; reads every file now.

        Raises ConfigError for an explicit file (``--authfile``, ``$REGISTRY_AUTH_FILE``,
        ``--pull-secret``) that is missing or invalid; an invalid file found by the default
        search is skipped with a warning.  Raises UsageError for a bad ``--creds``.
        """
        env = dict(os.environ) if env is None else dict(env)
        sources: list[tuple[str, Lookup]] = []
        holder: list[CredentialStore] = []  # the store, once built: --creds obeys its scope
        if creds is not None:
            flag_creds = parse_creds_flag(creds)
            sources.append(
                (
                    "--creds",
                    lambda r, _p: [flag_creds] if holder and holder[0].flag_credentials_allowed(r) else [],
                )
            )
        if pull_secret is not None:
            from imgextract.auth.pullsecret import load_pull_secret  # YAML: only when a secret is given

            sources.append((f"pull secret {pull_secret}", _keyring_lookup(load_pull_secret(pull_secret))))
        explicit = authfile is not None or bool(env.get("REGISTRY_AUTH_FILE"))
        paths = auth_file_paths(env, authfile)
        for index, (path, legacy, required) in enumerate(paths):
            if not explicit and index == 2 and env.get("DOCKER_AUTH_CONFIG"):
                parsed = _parse_env_config(env["DOCKER_AUTH_CONFIG"])
                if parsed is not None:
                    sources.append(("$DOCKER_AUTH_CONFIG", _file_lookup(parsed, env)))
            loaded = _load(path, legacy=legacy, required=required)
            if loaded is not None:
                sources.append((str(path), _file_lookup(loaded, env)))
        if any(name.startswith("IMGPKG_REGISTRY_") for name in env):
            from imgextract.auth.envcreds import imgpkg_env_keyring

            keyring = imgpkg_env_keyring(env)
            if len(keyring):
                sources.append(("IMGPKG_REGISTRY_* environment", _keyring_lookup(keyring)))
        store = cls(sources)
        if creds is not None:
            holder.append(store)
        return store

    def candidates(self, registry: str, repository: str) -> list[Credentials]:
        """Every applicable credential, in try order (may run credential helpers)."""
        out: list[Credentials] = []
        for _name, lookup in self._sources:
            for found in lookup(registry, repository):
                if found not in out:
                    out.append(found)
        return out

    def lookup(self, registry: str, repository: str) -> Credentials | None:
        """The credentials to use for ``registry`` (as written in the reference) and ``repository``.

        None means anonymous.  Results are cached per (registry, repository).
        """
        key = (registry, repository)
        with self._lock:  # one helper run per key even when called from several threads
            if key not in self._cache:
                self._cache[key] = self._first(registry, repository)
            return self._cache[key]

    def _first(self, registry: str, repository: str) -> Credentials | None:
        for name, lookup in self._sources:
            found = lookup(registry, repository)
            if found:
                log.debug("credentials for %s from %s", _image_name(registry, repository), name)
                return found[0]
        log.debug("no credentials for %s", _image_name(registry, repository))
        return None


def _parse_env_config(text: str) -> AuthFile | None:
    try:
        return AuthFile.parse(text, "$DOCKER_AUTH_CONFIG")
    except ConfigError as exc:
        log.warning("ignoring $DOCKER_AUTH_CONFIG: %s", exc)
        return None


def _load(path: Path, *, legacy: bool, required: bool) -> AuthFile | None:
    try:
        loaded = AuthFile.load(path, legacy=legacy)
    except ConfigError as exc:
        if required:
            raise
        log.warning("ignoring auth file: %s", exc)
        return None
    if loaded is None and required:
        raise ConfigError(f"{path}: auth file does not exist")
    return loaded


def _keyring_lookup(keyring: Keyring) -> Lookup:
    def lookup(registry: str, repository: str) -> list[Credentials]:
        return keyring.lookup(_image_name(registry, repository))

    return lookup


def _file_lookup(auth_file: AuthFile, env: Mapping[str, str]) -> Lookup:
    helper_cache: dict[tuple[str, str], Credentials | None] = {}

    def from_helper(helper: str, registry: str) -> Credentials | None:
        for url in helper_server_urls(registry):
            if (helper, url) not in helper_cache:
                from imgextract.auth.helpers import run_helper

                helper_cache[(helper, url)] = run_helper(helper, url, env=env)
            if helper_cache[(helper, url)] is not None:
                return helper_cache[(helper, url)]
        return None

    def lookup(registry: str, repository: str) -> list[Credentials]:
        helper = auth_file.helper_for(registry)
        if helper:
            found = from_helper(helper, registry)
            if found is not None:
                return [found]
        entry = auth_file.lookup(_image_name(registry, repository))
        return [entry] if entry is not None else []

    return lookup
