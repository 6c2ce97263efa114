"""containers-registries.d(5): where an image's signatures are read from.

Every ``*.yaml`` file of the directory is merged; a namespace (or ``default-docker``) defined in two
files is an error.  For a reference (the PHYSICAL one: where the image is pulled from, a mirror
included) the most specific ``docker:`` namespace that sets a value wins (the reference with its
tag or digest, then the repository, each parent, the host), then ``default-docker``.

- ``lookaside`` (``sigstore``, its old name): base URL (http, https or file) of GPG signatures,
  read as ``<lookaside>/<repository path>@<algorithm>=<hex>/signature-<N>``; another scheme fails
  the images that use that namespace, not the whole configuration.  With nothing
  configured, containers/image's built-in local directory is used.  ``lookaside-staging`` is for
  writing only and ignored.
- ``use-sigstore-attachments``: also read cosign signatures from the ``<algorithm>-<hex>.sig`` tag.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from imgextract.reference import Reference
from imgextract.signatures.errors import PolicyError
from imgextract.signatures.policy import scope_candidates

SYSTEM_DIR = Path("/etc/containers/registries.d")
MAX_FILE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Namespace:
    lookaside: str | None = None
    use_sigstore_attachments: bool | None = None


@dataclass(frozen=True)
class RegistriesD:
    default_docker: Namespace | None = None
    docker: Mapping[str, Namespace] = field(default_factory=dict)
    default_lookaside: str = "file:///var/lib/containers/sigstore"

    def _chain(self, ref: Reference) -> list[Namespace]:
        out = [self.docker[c] for c in scope_candidates(ref) if c in self.docker]
        if self.default_docker is not None:
            out.append(self.default_docker)
        return out

    def lookaside_base(self, ref: Reference) -> str:
        """``<lookaside>/<repository path>`` for ``ref``, the physical reference."""
        top = next((ns.lookaside for ns in self._chain(ref) if ns.lookaside), self.default_lookaside)
        parts = urlsplit(top)  # the repository goes into the path, never into a query or fragment
        if parts.scheme not in ("http", "https", "file"):  # checked where it is used, as containers/image
            raise PolicyError(
                f"unsupported lookaside URL scheme {parts.scheme or '(none)'!r} for {ref}: {top}"
            )
        # appended to the path as written: a trailing "/" gives "//", as skopeo requests it
        return urlunsplit(parts._replace(path=parts.path + "/" + ref.repository))

    def use_sigstore_attachments(self, ref: Reference) -> bool:
        return next(
            (
                ns.use_sigstore_attachments
                for ns in self._chain(ref)
                if ns.use_sigstore_attachments is not None
            ),
            False,
        )


def default_directory(env: Mapping[str, str]) -> Path:
    """``$HOME/.config/containers/registries.d`` if it exists, else ``/etc/containers/registries.d``."""
    user = Path(env.get("HOME") or str(Path.home())) / ".config" / "containers" / "registries.d"
    return user if user.exists() else SYSTEM_DIR


def builtin_lookaside(env: Mapping[str, str]) -> str:
    if os.geteuid() == 0:
        return "file:///var/lib/containers/sigstore"
    home = env.get("HOME") or str(Path.home())
    return "file://" + str(Path(home) / ".local" / "share" / "containers" / "sigstore")


def load_registries_d(
    directory: str | os.PathLike[str] | None, env: Mapping[str, str] | None = None
) -> RegistriesD:
    env = env if env is not None else os.environ
    d = Path(directory) if directory is not None else default_directory(env)
    default: Namespace | None = None
    default_from = ""
    docker: dict[str, Namespace] = {}
    origin: dict[str, str] = {}
    try:
        names = sorted(n for n in os.listdir(d) if n.endswith(".yaml"))
    except FileNotFoundError:
        names = []
    except OSError as exc:
        raise PolicyError(f"cannot read registries.d directory {d}: {exc.strerror or exc}") from None
    for name in names:
        path = d / name
        doc = _read_yaml(path)
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise PolicyError(f"invalid {path}: not a YAML mapping")
        if doc.get("default-docker") is not None:
            if default is not None:
                raise PolicyError(f'"default-docker" defined both in {default_from} and {path}')
            default, default_from = _namespace(doc["default-docker"], f"{path}: default-docker"), str(path)
        namespaces = doc.get("docker") or {}
        if not isinstance(namespaces, dict):
            raise PolicyError(f"invalid {path}: docker must be a mapping of namespaces")
        for ns, value in namespaces.items():
            if ns in docker:
                raise PolicyError(f'"docker" namespace {ns!r} defined both in {origin[ns]} and {path}')
            docker[str(ns)] = _namespace(value, f"{path}: docker {ns}")
            origin[str(ns)] = str(path)
    return RegistriesD(default, docker, builtin_lookaside(env))


def _read_yaml(path: Path) -> Any:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PolicyError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise PolicyError(f"{path} is larger than {MAX_FILE_BYTES} bytes")
    try:
        return yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise PolicyError(f"invalid {path}: {str(exc).splitlines()[0]}") from None


def _namespace(value: Any, where: str) -> Namespace:
    if value is None:
        return Namespace()
    if not isinstance(value, dict):
        raise PolicyError(f"invalid {where}: not a mapping")
    lookaside = None
    for key in ("lookaside", "sigstore"):  # "sigstore" is the deprecated spelling
        v = value.get(key)
        if v is None or v == "":
            continue
        if not isinstance(v, str):
            raise PolicyError(f"invalid {where}: {key} must be a URL string")
        lookaside = v  # its scheme is checked when an image uses it
        break
    attach = value.get("use-sigstore-attachments")
    if attach is not None and not isinstance(attach, bool):
        raise PolicyError(f"invalid {where}: use-sigstore-attachments must be true or false")
    return Namespace(lookaside, attach)
