"""Where to pull a reference from: registries.conf + ICSP/IDMS/ITMS, resolved like CRI-O on a node.

How the two inputs combine (see docs/mirrors.md): the policies are applied to the loaded
registries.conf the way the Machine Config Operator applies them to a node's base registries.conf
(runtime-utils ``EditRegistriesConfig``), with one rule of ours: a ``[[registry]]`` entry whose
scope IS a policy source keeps its own location/insecure/blocked settings but its mirrors are
replaced by the policy's (the policy takes precedence for that scope; mixing both lists would
also clash with ``mirror-by-digest-only``).  The combined entries are then validated and looked up
exactly as containers/image does (longest prefix wins, no inheritance between entries).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgextract.errors import ConfigError
from imgextract.mirrors.conf_file import InvalidRegistries, check_wildcard_prefixes, post_process
from imgextract.mirrors.conf_loader import (
    RegistriesConf,
    load_registries_conf,
    resolve_paths,
)
from imgextract.mirrors.matching import RewriteError, find_registry, rewrite_reference
from imgextract.mirrors.model import Endpoint, Registry
from imgextract.mirrors.shortnames import Alias
from imgextract.reference import Reference
from imgextract.settings import MirrorSettings

if TYPE_CHECKING:  # ICSP/IDMS/ITMS support is loaded only when such a file is given
    from imgextract.mirrors.policies import Policy

PRIMARY_RULE = "primary"


@dataclass(frozen=True)
class Source:
    """One endpoint to try: the physical reference, its TLS setting, whether policy forbids it, and why."""

    reference: Reference
    insecure: bool
    blocked: bool
    rule: str


class MirrorConfig:
    """The effective registries.conf entries; answers "which sources, in which order" per reference."""

    def __init__(
        self,
        registries: list[Registry],
        *,
        conf: RegistriesConf | None = None,
        policies: tuple[Policy, ...] = (),
    ) -> None:
        self.registries: tuple[Registry, ...] = tuple(registries)
        self.conf = conf or RegistriesConf()
        self.policies = policies

    @property
    def unqualified_search_registries(self) -> list[str]:
        return self.conf.unqualified_search_registries

    @property
    def credential_helpers(self) -> list[str]:
        return self.conf.credential_helpers

    @property
    def short_name_mode(self) -> str:
        return self.conf.short_name_mode

    def alias(self, name: str) -> Alias | None:
        return self.conf.aliases.get(name)

    def find_registry(self, name: str) -> Registry | None:
        """The entry with the longest prefix matching ``name`` (a host, repository name or reference)."""
        return find_registry(self.registries, name)

    def pull_sources(self, ref: Reference) -> list[Source]:
        """Mirrors allowed for this reference kind (digest or tag), in order, then the primary.

        ``ref`` is pulled as ``ref.pull_ref()`` (tag dropped when a digest is present, ``latest``
        added when neither).  Blocked endpoints are included with ``blocked=True``; callers skip them.
        """
        ref = ref.pull_ref()
        reg = self.find_registry(ref.name)
        if reg is None:
            return [Source(reference=ref, insecure=False, blocked=False, rule=PRIMARY_RULE)]
        by_digest = ref.digest is not None
        # (endpoint, is_primary): a plain pair, a class here would cost start-up for every command
        candidates = [(m, False) for m in reg.allowed_mirrors(by_digest=by_digest)]
        candidates.append((reg.primary(), True))
        sources = []
        for endpoint, is_primary in candidates:
            try:
                physical = rewrite_reference(str(ref), reg.prefix, endpoint.location)
            except RewriteError as e:
                where = f"{reg.origin}, primary location" if is_primary else endpoint.origin
                raise ConfigError(f"{where}: {e}", reference=str(ref)) from None
            blocker = self.find_registry(physical.name)
            blocked = blocker is not None and blocker.blocked
            rule = self._rule(reg, endpoint, is_primary, blocker if blocked else None)
            sources.append(Source(reference=physical, insecure=endpoint.insecure, blocked=blocked, rule=rule))
        return sources

    @staticmethod
    def _rule(reg: Registry, endpoint: Endpoint, is_primary: bool, blocker: Registry | None) -> str:
        if is_primary:
            rewritten = reg.location not in ("", reg.prefix)
            rule = f"{PRIMARY_RULE}, rewritten by {reg.origin}" if rewritten else PRIMARY_RULE
        else:
            rule = endpoint.origin
        if blocker is not None:
            rule += f"; blocked by {blocker.blocked_by or blocker.origin}"
        return rule


def mirrors_json(config: MirrorConfig, ref: Reference) -> dict[str, Any]:
    """The ``bundle-extract mirrors REF --json`` document (see docs/mirrors.md)."""
    return {
        "reference": str(ref.pull_ref()),
        "sources": [
            {"reference": str(s.reference), "insecure": s.insecure, "blocked": s.blocked, "rule": s.rule}
            for s in config.pull_sources(ref)
        ],
    }


def combine(registries: list[Registry], policies: tuple[Policy, ...] | list[Policy]) -> list[Registry]:
    """Apply the policies to registries.conf entries (see the module docstring); validated and sorted."""
    from imgextract.mirrors.convert import ConversionError, edit_registries_config, split_policies

    digest_sets, tag_sets = split_policies(policies)
    sources = {ms.source for ms in [*digest_sets, *tag_sets]}
    for reg in registries:
        if reg.scope in sources:
            reg.mirrors = []
            reg.mirror_by_digest_only = False
    try:
        edit_registries_config(registries, [], [], policies)
        combined = post_process(registries)
        check_wildcard_prefixes(combined)
    except (ConversionError, InvalidRegistries) as e:
        raise ConfigError(f"applying ICSP/IDMS/ITMS to registries.conf: {e}") from None
    return combined


def load_policies(settings: MirrorSettings) -> tuple[Policy, ...]:
    if not (settings.icsp_files or settings.idms_files or settings.itms_files):
        return ()
    from imgextract.mirrors.policies import ICSP, IDMS, ITMS, check_mirror_source_policies, load_policy_file

    policies: list[Policy] = []
    for kind, files in (
        (ICSP, settings.icsp_files),
        (IDMS, settings.idms_files),
        (ITMS, settings.itms_files),
    ):
        for path in files:
            policies.extend(load_policy_file(Path(path), kind))
    check_mirror_source_policies(policies)
    return tuple(policies)


def load_mirror_config(settings: MirrorSettings) -> MirrorConfig:
    """Read registries.conf (+ drop-ins) and the policy files; every problem is a ConfigError."""
    paths = resolve_paths(
        settings.registries_conf,
        settings.registries_conf_dir,
        settings.env,
        system_conf=settings.system_registries_conf,
        system_dir=settings.system_registries_conf_dir,
    )
    conf = load_registries_conf(paths)
    policies = load_policies(settings)
    registries = combine(list(conf.registries), policies) if policies else list(conf.registries)
    return MirrorConfig(registries, conf=conf, policies=policies)
