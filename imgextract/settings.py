"""One settings tree, owned by the library and validated where it is built.

::

    Settings
     ├── transport: TransportSettings   insecure_registries, ca_file, cert_dir, timeout, retries,
     │                                  retry_base_delay, retry_max_delay, user_agent, chunk_size
     ├── auth: AuthSettings             creds, authfile, pull_secret
     ├── mirrors: MirrorSettings        icsp_files, idms_files, itms_files, registries_conf(_dir)
     ├── cache: CacheSettings           cache_dir, use_cache
     ├── signatures: SignatureSettings  policy, registries_d
     ├── platform: str                  os/arch[/variant] (default: linux/<host arch>)
     └── env: Mapping[str, str]         the environment read for defaults (auth files, XDG, proxies)

:meth:`Settings.from_options` builds the tree from flat keyword options named as the command-line
flags in snake_case (``insecure_registries=[...]``, ``creds=``, ``icsp_files=[...]``,
``cache_dir=``, ...): :class:`imgextract.Client` takes them, and the CLI's option groups
(``imgextract.cli.options``) are declared beside these fields and fill them.  Bad input raises
:class:`~imgextract.errors.UsageError` here, the same for the library and the CLI.  Settings are
frozen; their reprs show ``creds`` as ``<redacted>`` and leave the environment out (it holds tokens).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict, Unpack

from imgextract._version import VERSION
from imgextract.errors import UsageError, option, unknown_option

DEFAULT_USER_AGENT = f"bundle-extract/{VERSION}"
"""``bundle-extract/<version>`` (imgextract/_version.py, which pyproject.toml reads)."""
SYSTEM_REGISTRIES_CONF = Path("/etc/containers/registries.conf")
SYSTEM_REGISTRIES_CONF_DIR = Path("/etc/containers/registries.conf.d")


def host_platform() -> str:
    """``linux/<host arch>`` in OCI spelling (Go's ``GOARCH``, as indexes name it): the default platform."""
    from imgextract.oci.platform import host_architecture

    return f"linux/{host_architecture()}"


def default_cache_dir(env: Mapping[str, str]) -> Path:
    """``$XDG_CACHE_HOME/bundle-extract`` (``~/.cache/bundle-extract`` when unset)."""
    base = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME", str(Path.home()))) / ".cache")
    return Path(base) / "bundle-extract"


def normalize_registry_host(value: str) -> str:
    """An insecure-registry entry as HOST[:PORT]; a scheme or trailing slash is tolerated, a path or
    user information is not."""
    host = value.strip()
    for scheme in ("http://", "https://"):
        if host.lower().startswith(scheme):
            host = host[len(scheme) :]
    host = host.rstrip("/")
    if "@" in host:  # user information (its password may hold "/"): refused, never repeated
        raise UsageError(
            f"{option('insecure_registries')} takes no user:password@: use {host.rpartition('@')[2]}"
        )
    if not host or "/" in host:
        raise UsageError(
            f"{option('insecure_registries')} {value!r}: expected HOST[:PORT], e.g. localhost:5000"
        )
    return host


def _paths(values: Iterable[str | os.PathLike[str]] | str | os.PathLike[str], name: str) -> tuple[Path, ...]:
    if isinstance(values, (str, os.PathLike)):
        raise UsageError(f"{option(name)} takes a list of files, got a single value {str(values)!r}")
    return tuple(_path(v, name) for v in values)


def _path(value: str | os.PathLike[str] | None, name: str) -> Path:
    if value is not None and not isinstance(value, (str, os.PathLike)):
        raise UsageError(f"{option(name)} must be a path (str or os.PathLike), got {value!r}")
    # Path("") is ".": an empty option would read (or write a cache in) the current directory
    if value is None or not os.fspath(value):
        raise UsageError(f"{option(name)} must not be empty")
    return Path(value)


def _optional_path(value: str | os.PathLike[str] | None, name: str) -> Path | None:
    return None if value is None else _path(value, name)


def _number(value: object, name: str, *, positive: bool) -> None:
    """A real number (not a bool, not a numeric string), > 0 or >= 0; NaN is neither."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f"{option(name)} must be a number, got {value!r}")
    if not (value > 0 if positive else value >= 0):
        raise UsageError(
            f"{option(name)} must be {'positive' if positive else 'non-negative'}, got {value!r}"
        )


def _environment(value: object) -> dict[str, str]:
    """``env=``: a mapping of names to strings (as ``os.environ``)."""
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise UsageError(
            f"{option('env')} must be a mapping of str to str (as os.environ), got {type(value).__name__}"
        )
    return dict(value)


@dataclass(frozen=True)
class TransportSettings:
    """How to talk HTTP to registries.

    ``insecure_registries``: HOST[:PORT] entries reached over plain HTTP or unverified TLS (a
    ``http://`` prefix or trailing slash is dropped; a path is refused).  ``retries``: attempts (0
    counts as 1) for retryable failures (408/429/5xx, connection errors), with backoff from
    ``retry_base_delay`` doubling up to ``retry_max_delay`` (``Retry-After`` wins, capped).
    ``chunk_size``: uploads larger than this are sent in PATCH chunks of this size.
    ``timeout``: seconds one socket read (or connect) may block.  ``deadline``: seconds a whole
    answer (headers and body) may take; a blob body gets ``deadline`` plus its size at
    ``min_speed`` bytes per second.  ``retry_time``: seconds one operation may spend waiting to
    retry or resume (from its first try for a request, from the last byte received for a blob);
    a ``Retry-After`` longer than ``retry_max_delay`` ends the retries at once, naming it.
    """

    insecure_registries: frozenset[str] = frozenset()
    ca_file: Path | None = None
    cert_dir: Path | None = None
    timeout: float = 60.0
    retries: int = 5
    deadline: float = 120.0
    min_speed: float = 64 * 1024
    retry_time: float = 120.0
    user_agent: str = DEFAULT_USER_AGENT
    retry_base_delay: float = 2.0
    retry_max_delay: float = 60.0
    chunk_size: int = 8 * 1024 * 1024

    def __post_init__(self) -> None:
        given = self.insecure_registries
        hosts = given if isinstance(given, str) else tuple(given)  # any iterable, read once
        if isinstance(hosts, str) or not all(isinstance(h, str) for h in hosts):
            raise UsageError(f"{option('insecure_registries')} takes a list of HOST[:PORT], got {hosts!r}")
        object.__setattr__(self, "insecure_registries", frozenset(normalize_registry_host(h) for h in hosts))
        for name in ("ca_file", "cert_dir"):
            object.__setattr__(self, name, _optional_path(getattr(self, name), name))
        for name in ("timeout", "deadline", "min_speed"):
            _number(getattr(self, name), name, positive=True)
        _number(self.retry_time, "retry_time", positive=False)
        _number(self.retry_base_delay, "retry_base_delay", positive=False)
        _number(self.retry_max_delay, "retry_max_delay", positive=False)
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise UsageError(f"{option('retries')} must be a non-negative integer, got {self.retries!r}")
        if not isinstance(self.chunk_size, int) or self.chunk_size < 1:
            raise UsageError(f"{option('chunk_size')} must be a positive integer, got {self.chunk_size!r}")
        if not isinstance(self.user_agent, str):
            raise UsageError(f"{option('user_agent')} must be a string, got {self.user_agent!r}")
        if not self.user_agent or "\n" in self.user_agent or "\r" in self.user_agent:
            raise UsageError(f"{option('user_agent')} must be one non-empty line")

    def is_insecure(self, *hosts: str) -> bool:
        """True when any of ``hosts`` is an insecure registry."""
        return any(h in self.insecure_registries for h in hosts)


@dataclass(frozen=True)
class AuthSettings:
    """Where credentials come from, besides the standard auth-file search (see docs/auth.md)."""

    creds: str | None = field(default=None, repr=False)
    authfile: Path | None = None
    pull_secret: Path | None = None

    def __post_init__(self) -> None:
        if self.creds is not None and not isinstance(self.creds, str):
            raise UsageError(f"{option('creds')} must be a string USER[:PASS]")  # never the value
        object.__setattr__(self, "authfile", _optional_path(self.authfile, "authfile"))
        object.__setattr__(self, "pull_secret", _optional_path(self.pull_secret, "pull_secret"))

    def __repr__(self) -> str:
        # never the credentials themselves: a settings repr ends up in logs and tracebacks
        creds = None if self.creds is None else "<redacted>"
        return f"AuthSettings(creds={creds}, authfile={self.authfile!r}, pull_secret={self.pull_secret!r})"


@dataclass(frozen=True)
class MirrorSettings:
    """Mirror configuration files: OpenShift policies and containers-registries.conf(5).

    ``registries_conf`` unset: ``$CONTAINERS_REGISTRIES_CONF``, else the standard paths;
    ``system_registries_conf(_dir)`` say where the standard paths are (tests, or a node's root
    read from outside).
    """

    icsp_files: tuple[Path, ...] = ()
    idms_files: tuple[Path, ...] = ()
    itms_files: tuple[Path, ...] = ()
    registries_conf: Path | None = None
    registries_conf_dir: Path | None = None
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ), repr=False)  # holds tokens
    system_registries_conf: Path = SYSTEM_REGISTRIES_CONF
    system_registries_conf_dir: Path = SYSTEM_REGISTRIES_CONF_DIR

    def __post_init__(self) -> None:
        for name in ("icsp_files", "idms_files", "itms_files"):
            object.__setattr__(self, name, _paths(getattr(self, name), name))
        for name in ("registries_conf", "registries_conf_dir"):
            object.__setattr__(self, name, _optional_path(getattr(self, name), name))


@dataclass(frozen=True)
class CacheSettings:
    """The content cache: ``cache_dir`` unset means ``$XDG_CACHE_HOME/bundle-extract``."""

    cache_dir: Path | None = None
    use_cache: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.use_cache, bool):
            raise UsageError(f"{option('use_cache')} must be True or False, got {self.use_cache!r}")
        object.__setattr__(self, "cache_dir", _optional_path(self.cache_dir, "cache_dir"))

    def root(self, env: Mapping[str, str]) -> Path:
        """The cache directory in use."""
        return self.cache_dir or default_cache_dir(env)


@dataclass(frozen=True)
class SignatureSettings:
    """Signature verification (see docs/signatures.md): ``policy`` is a containers-policy.json(5)
    path or ``"default"`` (``~/.config/containers/policy.json``, else ``/etc/containers/policy.json``);
    None: nothing is verified.  ``registries_d``: the containers-registries.d(5) directory (None:
    ``~/.config/containers/registries.d``, else ``/etc/containers/registries.d``)."""

    policy: str | None = None
    registries_d: Path | None = None

    def __post_init__(self) -> None:
        if self.policy is not None:
            if isinstance(self.policy, os.PathLike):
                object.__setattr__(self, "policy", os.fspath(self.policy))
            if not isinstance(self.policy, str) or not self.policy:
                raise UsageError(f"{option('policy')} must be a policy.json path or 'default'")
        object.__setattr__(self, "registries_d", _optional_path(self.registries_d, "registries_d"))


@dataclass(frozen=True)
class Settings:
    """Everything a :class:`~imgextract.Client` needs to reach registries (see the module docstring)."""

    transport: TransportSettings = field(default_factory=TransportSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    mirrors: MirrorSettings = field(default_factory=MirrorSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    signatures: SignatureSettings = field(default_factory=SignatureSettings)
    platform: str = field(default_factory=host_platform)
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ), repr=False)  # holds tokens

    def __post_init__(self) -> None:
        from imgextract.oci.platform import Platform

        if self.platform is None:
            object.__setattr__(self, "platform", host_platform())
        if isinstance(self.platform, str) and not self.platform.strip():
            raise UsageError(
                f"{option('platform')} must not be empty: give os/arch[/variant], e.g. linux/amd64"
            )
        Platform.parse(self.platform)  # UsageError when malformed

    @classmethod
    def from_options(cls, **options: Unpack[ClientOptions]) -> Settings:
        """Build from flat options named as the CLI flags in snake_case; unknown names are a UsageError."""
        unknown = sorted(set(options) - OPTION_NAMES)
        if unknown:
            raise unknown_option(unknown, OPTION_NAMES)
        given_env, given_platform = options.get("env"), options.get("platform")
        env = _environment(given_env) if given_env is not None else dict(os.environ)

        def pick(group: type[Any]) -> dict[str, Any]:
            names = {f.name for f in dataclasses.fields(group)} - {"env"}
            return {k: v for k, v in options.items() if k in names and v is not None}

        return cls(
            transport=TransportSettings(**pick(TransportSettings)),
            auth=AuthSettings(**pick(AuthSettings)),
            mirrors=MirrorSettings(env=env, **pick(MirrorSettings)),
            cache=CacheSettings(**pick(CacheSettings)),
            signatures=SignatureSettings(**pick(SignatureSettings)),
            platform=given_platform if given_platform is not None else host_platform(),
            env=env,
        )

    @property
    def cache_root(self) -> Path:
        """The content cache directory (whether or not the cache is used)."""
        return self.cache.root(self.env)


_PathArg = str | os.PathLike[str]


class ClientOptions(TypedDict, total=False):
    """The keyword options of :class:`~imgextract.Client` (and of the one-shot functions), typed:
    annotate a dict of options with it and ``Client(**options)`` is checked by mypy (names and
    types); at run time :meth:`Settings.from_options` checks them again.  ``None`` means unset."""

    insecure_registries: Iterable[str] | None
    ca_file: _PathArg | None
    cert_dir: _PathArg | None
    timeout: float | None
    retries: int | None
    deadline: float | None
    min_speed: float | None
    retry_time: float | None
    user_agent: str | None
    retry_base_delay: float | None
    retry_max_delay: float | None
    chunk_size: int | None
    creds: str | None
    authfile: _PathArg | None
    pull_secret: _PathArg | None
    icsp_files: Iterable[_PathArg] | None
    idms_files: Iterable[_PathArg] | None
    itms_files: Iterable[_PathArg] | None
    registries_conf: _PathArg | None
    registries_conf_dir: _PathArg | None
    system_registries_conf: _PathArg | None
    system_registries_conf_dir: _PathArg | None
    cache_dir: _PathArg | None
    use_cache: bool | None
    policy: _PathArg | None
    registries_d: _PathArg | None
    platform: str | None
    env: Mapping[str, str] | None


def _names(*groups: type[Any]) -> frozenset[str]:
    return frozenset(f.name for g in groups for f in dataclasses.fields(g)) - {
        "system_registries_conf",
        "system_registries_conf_dir",
    }


OPTION_NAMES: frozenset[str] = _names(
    TransportSettings, AuthSettings, MirrorSettings, CacheSettings, SignatureSettings
) | {
    "platform",
    "env",
    "system_registries_conf",
    "system_registries_conf_dir",
}
"""The keyword options :meth:`Settings.from_options` (and so :class:`~imgextract.Client`) accepts."""
