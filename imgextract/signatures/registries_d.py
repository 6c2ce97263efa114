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

Each file is decoded as go.yaml.in/yaml (v3 and later) decodes it into containers/image's structs:
the first document only, a key written twice in one mapping is an error, ``<<`` merge keys are
applied, field names match exactly (others are ignored), a string field takes any scalar's text,
and the bool field takes the core booleans plus YAML 1.1's y/yes/on/n/no/off, quoted or not.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import yaml

from imgextract.reference import Reference
from imgextract.signatures.errors import PolicyError
from imgextract.signatures.requirements import scope_candidates
from imgextract.yamlalias import allowed_alias_ratio

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
        root = _read_yaml(path)
        if root is None:
            continue
        merges = _Merges()
        top = _struct(root, f"{path}", merges)
        ns_node = top.get("default-docker")
        if ns_node is not None and not _is_null(ns_node):  # a null pointer stays unset
            if default is not None:
                raise PolicyError(f'"default-docker" defined both in {default_from} and {path}')
            default, default_from = _namespace(ns_node, f"{path}: default-docker", merges), str(path)
        for ns, value in _namespaces(top.get("docker"), f"{path}: docker", merges):
            if ns in docker:
                raise PolicyError(f'"docker" namespace {ns!r} defined both in {origin[ns]} and {path}')
            docker[ns] = _namespace(value, f"{path}: docker {ns}", merges)
            origin[ns] = str(path)
    return RegistriesD(default, docker, builtin_lookaside(env))


def _read_yaml(path: Path) -> yaml.Node | None:
    """The first YAML document of ``path`` as a node tree (yaml.v3's ``Unmarshal`` decodes the
    first document only), or None for a missing or empty file."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PolicyError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise PolicyError(f"{path} is larger than {MAX_FILE_BYTES} bytes")
    # no implicit typing: scalars are read by the type of the field they decode into, as in Go
    loader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)(data)
    try:
        return loader.get_node() if loader.check_node() else None
    except yaml.YAMLError as exc:
        raise PolicyError(f"invalid {path}: {str(exc).splitlines()[0]}") from None
    finally:
        loader.dispose()


# --- decoding as go.yaml.in/yaml (v3 and later) decodes into registryConfiguration -------------

_PLAIN_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_PLAIN_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
# yaml.v3 reads these YAML 1.1 spellings into a bool field, quoted or not
_COMPAT_BOOLS = {
    **dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "on", "On", "ON"), True),
    **dict.fromkeys(("n", "N", "no", "No", "NO", "off", "Off", "OFF"), False),
}


def _is_plain(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and not node.style


def _is_null(node: yaml.Node) -> bool:
    return _is_plain(node) and node.value in _PLAIN_NULLS


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a sequence"
    return f"{node.value[:40]!r}"


class _Merges:
    """What ``<<`` merging has done in one file: a mapping merged into itself (directly or through
    another) is an error, and merged entries count as aliased decodes under yaml.v3's ratio, so a
    merge bomb (mappings that each merge the previous one nine times) fails instead of running
    for ever."""

    __slots__ = ("active", "aliased", "decodes")

    def __init__(self) -> None:
        self.active: set[int] = set()
        self.decodes = 0
        self.aliased = 0

    def count(self, entries: int, merged: bool, where: str) -> None:
        self.decodes += entries
        if merged:
            self.aliased += entries
        if (
            self.aliased > 100
            and self.decodes > 1000
            and self.aliased / self.decodes > allowed_alias_ratio(self.decodes)
        ):
            raise PolicyError(f"invalid {where}: document contains excessive aliasing")


def _pairs(
    node: yaml.MappingNode, where: str, merges_seen: _Merges, merged: bool = False
) -> list[tuple[str, yaml.Node]]:
    """A mapping's entries; a key written twice is an error (yaml.v3 checks every mapping).

    ``<<`` merge keys are applied as yaml.v3's ``decoder.merge`` does: the merged mapping (or, of
    a list of them, the earlier one first) fills in what the mapping does not set itself."""
    merges_seen.count(len(node.value) + 1, merged, where)
    explicit: dict[str, yaml.Node] = {}
    merges: list[yaml.Node] = []
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            raise PolicyError(f"invalid {where}: a key is {_kind(key)}, not a string")
        if _is_plain(key) and key.value == "<<":
            merges.append(value)
            continue
        if key.value in explicit:
            raise PolicyError(f"invalid {where}: mapping key {key.value!r} already defined")
        explicit[key.value] = value
    if not merges:
        return list(explicit.items())
    merged_pairs: dict[str, yaml.Node] = {}
    merges_seen.active.add(id(node))
    for merge in merges:
        sources = list(reversed(merge.value)) if isinstance(merge, yaml.SequenceNode) else [merge]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise PolicyError(f"invalid {where}: map merge requires a map or a sequence of maps")
            if id(source) in merges_seen.active:
                raise PolicyError(f"invalid {where}: an anchor's value contains itself (a << merge loop)")
            merged_pairs.update(_pairs(source, where, merges_seen, merged=True))
    merges_seen.active.discard(id(node))
    merged_pairs.update(explicit)
    return list(merged_pairs.items())


def _struct(node: yaml.Node, where: str, merges: _Merges) -> dict[str, yaml.Node]:
    """A mapping decoded into a struct: field names matched exactly, other keys ignored."""
    if _is_null(node):
        return {}
    if not isinstance(node, yaml.MappingNode):
        raise PolicyError(f"invalid {where}: {_kind(node)} is not a mapping")
    return dict(_pairs(node, where, merges))


def _namespaces(node: yaml.Node | None, where: str, merges: _Merges) -> list[tuple[str, yaml.Node]]:
    if node is None or _is_null(node):
        return []
    if not isinstance(node, yaml.MappingNode):
        raise PolicyError(f"invalid {where}: {_kind(node)} is not a mapping of namespaces")
    return _pairs(node, where, merges)


def _string(node: yaml.Node | None, where: str) -> str:
    """A string field: any scalar's text (``lookaside: 5`` is "5"), a plain null is empty."""
    if node is None or _is_null(node):
        return ""
    if not isinstance(node, yaml.ScalarNode):
        raise PolicyError(f"invalid {where}: {_kind(node)} is not a string")
    return str(node.value)


def _bool(node: yaml.Node | None, where: str) -> bool | None:
    """A ``*bool`` field: unset or null is None."""
    if node is None or _is_null(node):
        return None
    if isinstance(node, yaml.ScalarNode):
        if _is_plain(node) and node.value in _PLAIN_BOOLS:
            return _PLAIN_BOOLS[node.value]
        if node.value in _COMPAT_BOOLS:
            return _COMPAT_BOOLS[node.value]
    raise PolicyError(f"invalid {where}: {_kind(node)} is not true or false")


def _namespace(node: yaml.Node, where: str, merges: _Merges) -> Namespace:
    fields = _struct(node, where, merges)
    lookaside = None
    for key in ("lookaside", "sigstore"):  # "sigstore" is the deprecated spelling
        value = _string(fields.get(key), f"{where}: {key}")
        if value:
            lookaside = value  # its scheme is checked when an image uses it
            break
    for key in ("lookaside-staging", "sigstore-staging"):  # for writing only, but still typed
        _string(fields.get(key), f"{where}: {key}")
    attach = _bool(fields.get("use-sigstore-attachments"), f"{where}: use-sigstore-attachments")
    return Namespace(lookaside, attach)
