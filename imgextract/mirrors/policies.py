"""Read OpenShift mirror policies: ImageContentSourcePolicy, ImageDigestMirrorSet, ImageTagMirrorSet.

Files are YAML, one or several documents, each an object or a ``kind: List`` (what
``oc get imagedigestmirrorset -o yaml`` prints).  Validation follows the CRDs in openshift/api
and the Machine Config Operator: ``source`` and ``mirrors`` patterns (a ``*.host`` wildcard only
as a ``source``), ``mirrorSourcePolicy`` is NeverContactSource or AllowContactingSource, and IDMS/ITMS
mirrors are a set (no duplicates).  The ICSP CRD has no patterns and its ``mirrors`` is a plain
list; the MCO converts each ICSP entry to an IDMS entry and checks it with the IDMS patterns
before it writes registries.conf (``validateRegistriesConfScopes``), so ICSP entries get the same
patterns, wildcard sources included, and a repeated ICSP mirror is accepted (the merge keeps it once).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imgextract.errors import ConfigError

ICSP = "ImageContentSourcePolicy"
IDMS = "ImageDigestMirrorSet"
ITMS = "ImageTagMirrorSet"

API_VERSIONS = {
    ICSP: "operator.openshift.io/v1alpha1",
    IDMS: "config.openshift.io/v1",
    ITMS: "config.openshift.io/v1",
}
SPEC_FIELDS = {ICSP: "repositoryDigestMirrors", IDMS: "imageDigestMirrors", ITMS: "imageTagMirrors"}
SHORT_NAMES = {ICSP: "ICSP", IDMS: "IDMS", ITMS: "ITMS"}

NEVER_CONTACT_SOURCE = "NeverContactSource"
ALLOW_CONTACTING_SOURCE = "AllowContactingSource"
MIRROR_SOURCE_POLICIES = (NEVER_CONTACT_SOURCE, ALLOW_CONTACTING_SOURCE)

# Patterns from the openshift/api CRDs (config.openshift.io/v1 ImageDigestMirrorSet / ImageTagMirrorSet),
# which the MCO also applies to ImageContentSourcePolicy entries.
_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
# The CRD's path component ``[a-z0-9]+(?:(?:(?:[._]|__|[-]*)[a-z0-9]+)+)?`` allows an EMPTY
# separator, which makes it ambiguous; Go's RE2 does not care, Python's backtracking engine would
# take exponential time on a bad input.  This is the same language with the empty separator folded
# into the alphanumeric run (tests/unit/mirrors compare both on a table of inputs).
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_MIRROR_PATTERN = rf"(?:{_LABEL}(?:\.{_LABEL})*(?::[0-9]+)?)(?:/{_PATH_COMPONENT})*"
_WILDCARD_PATTERN = rf"\*(?:\.{_LABEL})+"
MIRROR_RE = re.compile(_MIRROR_PATTERN, re.ASCII)
SOURCE_RE = re.compile(rf"{_WILDCARD_PATTERN}|{_MIRROR_PATTERN}", re.ASCII)


@dataclass(frozen=True)
class MirrorEntry:
    """One ``{source, mirrors, mirrorSourcePolicy}`` item of a policy; ``origin`` describes it."""

    source: str
    mirrors: tuple[str, ...]
    never_contact_source: bool
    origin: str


@dataclass(frozen=True)
class Policy:
    kind: str
    name: str
    file: str | None
    entries: tuple[MirrorEntry, ...]

    @property
    def for_tags(self) -> bool:
        return self.kind == ITMS

    def describe(self) -> str:
        where = f" (file {self.file})" if self.file else ""
        return f"{SHORT_NAMES[self.kind]} {self.name}{where}"


class PolicyError(ValueError):
    """A malformed policy object; ``ConfigError`` names the file around it."""


def _entry(kind: str, item: Any, index: int, policy_desc: str, *, validate: bool) -> MirrorEntry:
    path = f"spec.{SPEC_FIELDS[kind]}[{index}]"
    if not isinstance(item, Mapping):
        raise PolicyError(f"{path}: must be a mapping with 'source' and 'mirrors'")
    source = item.get("source")
    if not isinstance(source, str) or source == "":
        raise PolicyError(f"{path}.source: required, a non-empty string")
    mirrors = item.get("mirrors") or []
    if not isinstance(mirrors, list) or not all(isinstance(m, str) for m in mirrors):
        raise PolicyError(f"{path} (source={source}).mirrors: must be a list of strings")
    policy = item.get("mirrorSourcePolicy")
    if kind == ICSP and policy is not None:
        raise PolicyError(
            f"{path} (source={source}): mirrorSourcePolicy is not a field of {ICSP} (use an {IDMS})"
        )
    if policy is not None and policy not in MIRROR_SOURCE_POLICIES:
        raise PolicyError(
            f"{path} (source={source}).mirrorSourcePolicy: {policy!r} is not one of "
            + ", ".join(MIRROR_SOURCE_POLICIES)
        )
    if validate:
        if not SOURCE_RE.fullmatch(source):
            raise PolicyError(
                f"{path}.source {source!r}: not a valid host[:port][/namespace...] or *.domain scope"
            )
        seen: set[str] = set()
        for i, mirror in enumerate(mirrors):
            if not MIRROR_RE.fullmatch(mirror):
                raise PolicyError(
                    f"{path} (source={source}).mirrors[{i}] {mirror!r}: "
                    "not a valid host[:port][/namespace...] (no scheme, no wildcard, lower-case path)"
                )
            # IDMS/ITMS mirrors are a set (x-kubernetes-list-type: set); an ICSP's are a plain list
            if mirror in seen and kind != ICSP:
                raise PolicyError(f"{path} (source={source}).mirrors[{i}] {mirror!r}: duplicate mirror")
            seen.add(mirror)
    return MirrorEntry(
        source=source,
        mirrors=tuple(mirrors),
        never_contact_source=policy == NEVER_CONTACT_SOURCE,
        origin=f"{policy_desc}: source={source}",
    )


def parse_policy(
    obj: Mapping[str, Any], *, file: str | None = None, validate: bool = True, index: int = 0
) -> Policy:
    """Turn one Kubernetes object (a dict) into a Policy; raises PolicyError."""
    kind = obj.get("kind")
    if kind not in API_VERSIONS:
        raise PolicyError(f"object #{index + 1}: kind {kind!r} is not one of {ICSP}, {IDMS}, {ITMS}")
    metadata = obj.get("metadata") or {}
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    name = name if isinstance(name, str) and name else f"#{index + 1}"
    label = f"{kind} {name}"
    api_version = obj.get("apiVersion")
    if validate and api_version != API_VERSIONS[kind]:
        raise PolicyError(f"{label}: apiVersion {api_version!r}, expected {API_VERSIONS[kind]!r}")
    spec = obj.get("spec") or {}
    if not isinstance(spec, Mapping):
        raise PolicyError(f"{label}: spec must be a mapping")
    items = spec.get(SPEC_FIELDS[kind]) or []
    if not isinstance(items, list):
        raise PolicyError(f"{label}: spec.{SPEC_FIELDS[kind]} must be a list")
    desc = Policy(kind=kind, name=name, file=file, entries=()).describe()
    try:
        entries = tuple(_entry(kind, item, i, desc, validate=validate) for i, item in enumerate(items))
    except PolicyError as e:
        raise PolicyError(f"{label}: {e}") from None
    return Policy(kind=kind, name=name, file=file, entries=entries)


def _objects(documents: Sequence[Any]) -> list[Mapping[str, Any]]:
    objects: list[Mapping[str, Any]] = []
    for doc in documents:
        if doc is None:
            continue
        if not isinstance(doc, Mapping):
            raise PolicyError("each YAML document must be a Kubernetes object (a mapping)")
        kind = doc.get("kind")
        if isinstance(kind, str) and kind.endswith("List") and kind not in API_VERSIONS:
            items = doc.get("items") or []
            if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
                raise PolicyError(f"{kind}: items must be a list of objects")
            objects.extend(items)
        else:
            objects.append(doc)
    return objects


def load_policy_file(path: Path, kind: str) -> list[Policy]:
    """All ``kind`` objects in ``path``; another kind, bad YAML or a CRD violation is a ConfigError."""
    import yaml  # only when an ICSP/IDMS/ITMS file is given

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise ConfigError(f"reading {SHORT_NAMES[kind]} file {path}: {reason}") from None
    # libyaml's parser: it refuses nesting past 1000 levels (the pure-Python one recurses until
    # RecursionError) and is several times faster on a large file
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        documents = list(yaml.load_all(text, Loader=loader))  # noqa: S506 - a safe loader
    except yaml.YAMLError as e:
        raise ConfigError(f"{SHORT_NAMES[kind]} file {path}: invalid YAML: {e}".replace("\n", " ")) from None
    except (ValueError, RecursionError, TypeError, KeyError, AttributeError) as e:
        # int()'s 4300-digit limit; nesting too deep to construct; PyYAML on a mistagged value
        reason = "nested too deeply" if isinstance(e, RecursionError) else str(e).split(";")[0]
        raise ConfigError(f"{SHORT_NAMES[kind]} file {path}: invalid YAML: {reason}") from None
    try:
        objects = _objects(documents)
        policies = []
        for i, obj in enumerate(objects):
            if obj.get("kind") != kind:
                raise PolicyError(
                    f"object #{i + 1} has kind {obj.get('kind')!r}; this option expects {kind} objects"
                )
            policies.append(parse_policy(obj, file=str(path), index=i))
    except PolicyError as e:
        raise ConfigError(f"{SHORT_NAMES[kind]} file {path}: {e}") from None
    return policies


def check_mirror_source_policies(policies: Sequence[Policy]) -> None:
    """The Machine Config Operator's checks before it writes registries.conf
    (``validateRegistriesConfScopes``): every entry for one exact ``source``, across ICSPs, IDMSs and
    ITMSs, has the same ``mirrorSourcePolicy`` (an ICSP entry, or one without the field, counts as
    AllowContactingSource), and a NeverContactSource entry does not list its source as a mirror.
    The MCO renders nothing when either fails; raises ConfigError naming both entries."""
    first: dict[str, MirrorEntry] = {}
    for policy in policies:
        for entry in policy.entries:
            seen = first.setdefault(entry.source, entry)
            if seen.never_contact_source != entry.never_contact_source:
                raise ConfigError(
                    f"conflicting mirrorSourcePolicy is set for the same source {entry.source!r} in "
                    f"imagedigestmirrorsets, imagetagmirrorsets, or imagecontentsourcepolicies "
                    f"({_policy_name(seen)} in {seen.origin}; {_policy_name(entry)} in {entry.origin})"
                )
            if entry.never_contact_source and entry.source in entry.mirrors:
                raise ConfigError(
                    f"cannot set mirrorSourcePolicy: NeverContactSource if the source {entry.source!r} "
                    f"is one of the mirrors ({entry.origin})"
                )


def _policy_name(entry: MirrorEntry) -> str:
    return NEVER_CONTACT_SOURCE if entry.never_contact_source else ALLOW_CONTACTING_SOURCE
