"""ICSP / IDMS / ITMS -> registries.conf entries, as the MCO writes them (runtime-utils ``EditRegistriesConfig``).

- ICSP and IDMS entries are pooled by exact ``source`` into digest mirror sets, ITMS entries into
  tag mirror sets.  Entries without a mirror other than the source itself are dropped (with their
  ``mirrorSourcePolicy``).
- Per source, the mirror lists are merged keeping every list's relative order (topological sort of
  ``m[i] -> m[i+1]`` plus ``last -> source`` when the source is not listed; ties broken as in
  ``topo.py``); a trailing source is dropped (it is tried last anyway).
- Emission appends, each only if no entry has that scope yet: digest sources (sorted), tag sources
  (sorted), blocked scopes, insecure scopes.  Digest mirrors get ``pull-from-mirror = digest-only``,
  tag mirrors ``tag-only``.  ``NeverContactSource`` on any entry for a source blocks the whole
  registry entry (so a tag pull of a source with only digest mirrors fails).
- Insecure and blocked scopes propagate to nested scopes; an entry nested inside a mirrored scope
  that has no mirrors of its own inherits the mirrors with the extra path appended.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from imgextract.mirrors.model import (
    PULL_FROM_MIRROR_DIGEST_ONLY,
    PULL_FROM_MIRROR_TAG_ONLY,
    WILDCARD_PREFIX,
    Endpoint,
    Registry,
)
from imgextract.mirrors.policies import NEVER_CONTACT_SOURCE, MirrorEntry, Policy
from imgextract.mirrors.topo import topo_sort


class ConversionError(ValueError):
    """The policies cannot be turned into a registries.conf (runtime-utils returns an error)."""


@dataclass(frozen=True)
class MergedMirrorSet:
    source: str
    mirrors: tuple[str, ...]
    never_contact_source: bool
    origin: str  # the policy entries for this source
    mirror_origins: tuple[str, ...]  # per mirror: the policy entries that list it
    blocked_by: str  # the entries that say NeverContactSource, or ""


def scope_is_nested_inside_scope(sub_scope: str, super_scope: str) -> bool:
    """runtime-utils ``ScopeIsNestedInsideScope``."""
    if sub_scope == super_scope:
        return True
    if (
        len(sub_scope) > len(super_scope)
        and sub_scope.startswith(super_scope)
        and sub_scope[len(super_scope)] == "/"
    ):
        return True
    if super_scope.startswith(WILDCARD_PREFIX):
        if ":" in sub_scope:
            host = sub_scope.split(":")[0]
            return host.endswith(super_scope[1:]) and "/" not in host
        return sub_scope.split("/")[0].endswith(super_scope[1:])
    return False


def is_valid_registries_conf_scope(scope: str) -> bool:
    """runtime-utils ``IsValidRegistriesConfScope``: plain scopes, or ``*.domain`` wildcards."""
    if scope == "":
        return False
    if "*" not in scope:
        return True
    return scope.startswith(WILDCARD_PREFIX) and not any(c in scope[2:] for c in "/@:*")


def mirrors_contain_a_real_mirror(source: str, mirrors: Sequence[str]) -> bool:
    return any(m != source for m in mirrors)


def mirrors_adjusted_for_nested_scope(
    mirrored_scope: str, sub_scope: str, mirrors: Sequence[Endpoint]
) -> list[Endpoint]:
    """Mirrors of ``mirrored_scope`` rewritten for the nested ``sub_scope`` (path suffix appended)."""
    if not scope_is_nested_inside_scope(sub_scope, mirrored_scope):
        raise ConversionError(
            f"internal error: mirrors adjusted for {mirrored_scope!r} and non-subscope {sub_scope!r}"
        )
    if mirrored_scope.startswith(WILDCARD_PREFIX):
        raise ConversionError(
            f"mirrors of the wildcard scope {mirrored_scope!r} cannot be applied to the nested "
            f"scope {sub_scope!r} (runtime-utils refuses this configuration too)"
        )
    if not sub_scope.startswith(mirrored_scope):
        raise ConversionError(f"internal error: unexpected scopes {mirrored_scope!r} and {sub_scope!r}")
    suffix = sub_scope[len(mirrored_scope) :]
    return [
        Endpoint(
            location=m.location + suffix,
            insecure=m.insecure,
            pull_from_mirror=m.pull_from_mirror,
            origin=f"nested scope {sub_scope} inherits from {m.origin}",
        )
        for m in mirrors
    ]


def merged_mirror_sets(entries: Sequence[MirrorEntry]) -> list[MergedMirrorSet]:
    """One merged set per source, sorted by source (``mergedMirrorSets``)."""
    by_source: dict[str, list[MirrorEntry]] = {}
    for entry in entries:
        if mirrors_contain_a_real_mirror(entry.source, entry.mirrors):
            by_source.setdefault(entry.source, []).append(entry)
    result = []
    for source in sorted(by_source):
        group = by_source[source]
        edges: list[tuple[str, str]] = []
        for entry in group:
            edges.extend(zip(entry.mirrors, entry.mirrors[1:], strict=False))
            if source not in entry.mirrors:
                edges.append((entry.mirrors[-1], source))
        ordered = topo_sort(edges)
        if ordered and ordered[-1] == source:
            ordered = ordered[:-1]
        origins = []
        for mirror in ordered:
            origins.append(
                "; ".join(
                    f"{e.origin}, mirror {e.mirrors.index(mirror) + 1}" for e in group if mirror in e.mirrors
                )
            )
        never = [e for e in group if e.never_contact_source]
        result.append(
            MergedMirrorSet(
                source=source,
                mirrors=tuple(ordered),
                never_contact_source=bool(never),
                origin="; ".join(e.origin for e in group),
                mirror_origins=tuple(origins),
                blocked_by="; ".join(f"{e.origin}, mirrorSourcePolicy={NEVER_CONTACT_SOURCE}" for e in never),
            )
        )
    return result


def split_policies(policies: Sequence[Policy]) -> tuple[list[MergedMirrorSet], list[MergedMirrorSet]]:
    """(digest sets from ICSP + IDMS, tag sets from ITMS)."""
    digest = [e for p in policies if not p.for_tags for e in p.entries]
    tag = [e for p in policies if p.for_tags for e in p.entries]
    return merged_mirror_sets(digest), merged_mirror_sets(tag)


def edit_registries_config(
    registries: list[Registry],
    insecure_scopes: Sequence[str],
    blocked_scopes: Sequence[str],
    policies: Sequence[Policy],
) -> None:
    """Edit ``registries`` IN PLACE like runtime-utils ``EditRegistriesConfig``."""

    def get_entry(scope: str, origin: str) -> Registry:
        for reg in registries:
            if reg.scope == scope:
                return reg
        if scope.startswith(WILDCARD_PREFIX):
            reg = Registry(prefix=scope, location="", origin=origin)
        else:
            reg = Registry(prefix="", location=scope, origin=origin)
        registries.append(reg)
        return reg

    digest_sets, tag_sets = split_policies(policies)
    for sets, pull_from in (
        (digest_sets, PULL_FROM_MIRROR_DIGEST_ONLY),
        (tag_sets, PULL_FROM_MIRROR_TAG_ONLY),
    ):
        for ms in sets:
            reg = get_entry(ms.source, ms.origin)
            if ms.never_contact_source:
                reg.blocked = True
                reg.blocked_by = "; ".join(x for x in (reg.blocked_by, ms.blocked_by) if x)
            for location, origin in zip(ms.mirrors, ms.mirror_origins, strict=True):
                reg.mirrors.append(Endpoint(location=location, pull_from_mirror=pull_from, origin=origin))

    for scope in blocked_scopes:
        get_entry(scope, f"blocked scope {scope}")
    for insecure_scope in insecure_scopes:
        get_entry(insecure_scope, f"insecure scope {insecure_scope}").insecure = True
        for reg in registries:
            if scope_is_nested_inside_scope(reg.scope, insecure_scope):
                reg.insecure = True
            for endpoint in reg.mirrors:
                if scope_is_nested_inside_scope(endpoint.location, insecure_scope):
                    endpoint.insecure = True
    for blocked_scope in blocked_scopes:
        get_entry(blocked_scope, f"blocked scope {blocked_scope}").blocked = True
        for reg in registries:
            if scope_is_nested_inside_scope(reg.scope, blocked_scope):
                reg.blocked = True
                reg.blocked_by = reg.blocked_by or f"blocked scope {blocked_scope}"

    for ms in [*digest_sets, *tag_sets]:
        mirrored = get_entry(ms.source, ms.origin)
        for reg in registries:
            if (
                reg.scope != mirrored.scope
                and scope_is_nested_inside_scope(reg.scope, mirrored.scope)
                and not reg.mirrors
            ):
                reg.mirror_by_digest_only = mirrored.mirror_by_digest_only
                reg.mirrors = mirrors_adjusted_for_nested_scope(mirrored.scope, reg.scope, mirrored.mirrors)
