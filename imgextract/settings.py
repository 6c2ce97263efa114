"""Settings resolved once, from flags and environment, into typed objects.

``cli.py`` builds these from click options; library users build them directly.  Nothing
below reads flags or the environment again.
"""

from __future__ import annotations

import os
import platform as _platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

OutputFormat = Literal["dir", "configmap"]
Compress = Literal["auto", "always", "never"]

_ARCH_ALIASES = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


def host_platform() -> str:
    """``linux/<host arch>`` in OCI spelling: the default ``--platform``."""
    machine = _platform.machine().lower()
    return f"linux/{_ARCH_ALIASES.get(machine, machine)}"


def default_cache_dir(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME", str(Path.home()))) / ".cache")
    return Path(base) / "bundle-extract"


@dataclass(frozen=True)
class TransportOptions:
    insecure_registries: frozenset[str] = frozenset()
    ca_file: Path | None = None
    cert_dir: Path | None = None
    timeout: float = 60.0  # one socket read or connect
    retries: int = 5
    deadline: float = 120.0  # a whole answer; blob bodies get this plus their size at 64 KiB/s
    retry_time: float = 120.0  # waiting to retry/resume, per operation


@dataclass(frozen=True)
class AuthOptions:
    creds: str | None = None
    authfile: Path | None = None
    pull_secret: Path | None = None


@dataclass(frozen=True)
class MirrorOptions:
    icsp_files: tuple[Path, ...] = ()
    idms_files: tuple[Path, ...] = ()
    itms_files: tuple[Path, ...] = ()
    registries_conf: Path | None = None
    registries_conf_dir: Path | None = None


@dataclass(frozen=True)
class CommonSettings:
    """What every command that talks to a registry needs."""

    transport: TransportOptions = field(default_factory=TransportOptions)
    auth: AuthOptions = field(default_factory=AuthOptions)
    mirrors: MirrorOptions = field(default_factory=MirrorOptions)
    platform: str = field(default_factory=host_platform)
    cache_dir: Path | None = None  # None: default_cache_dir(env)
    use_cache: bool = True  # --no-cache
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


@dataclass(frozen=True)
class ConfigMapOptions:
    name: str | None = None
    namespace: str | None = None
    compress: Compress = "auto"
    split: bool = False
    olm_labels: bool = False
    source_image: str | None = None  # recorded as olm.sourceImage instead of the pulled reference


@dataclass(frozen=True)
class PullSettings:
    reference: str
    output: str
    common: CommonSettings = field(default_factory=CommonSettings)
    paths: tuple[str, ...] = ()
    all: bool = False
    force: bool = False
    format: OutputFormat = "dir"
    configmap: ConfigMapOptions = field(default_factory=ConfigMapOptions)
    recursive: bool = False  # imgpkg: also pull nested bundles
    kind: str | None = None  # override detection: registry+v1, plain+v0, fbc, imgpkg, image
    strict: bool = False  # every label/annotations.yaml disagreement is fatal (channels included)
    max_uncompressed_bytes: int = 16 * 1024**3
    max_entries: int = 1_000_000


@dataclass(frozen=True)
class CopySettings:
    reference: str
    to_repo: str
    common: CommonSettings = field(default_factory=CommonSettings)
    lock_output: Path | None = None
    concurrency: int = 5
