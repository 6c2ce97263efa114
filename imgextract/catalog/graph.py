"""The upgrade graph of one channel: which entry upgrades from which, and the channel heads.

OLM draws an edge to an entry from every entry that ``replaces`` it, ``skips`` it, or whose
``skipRange`` contains its version. opm finds the head as the one entry that no other entry
replaces or skips; where that leaves several candidates (channels connected only by ``skipRange``),
a candidate whose version lies in another candidate's ``skipRange`` is not a head either. Whatever
is left is returned (sorted): one name for a valid channel, several for an ambiguous one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from imgextract.catalog.model import ChannelEntry
from imgextract.catalog.versions import InvalidVersion, Version, VersionRange


def _range(text: str | None) -> VersionRange | None:
    if not text:
        return None
    try:
        return VersionRange.parse(text)
    except InvalidVersion:
        return None  # OLM ignores a skipRange it cannot parse when it resolves; so do we


def heads(entries: Sequence[ChannelEntry], versions: Mapping[str, Version | None]) -> tuple[str, ...]:
    """The head(s) of a channel. ``versions`` maps bundle names to their versions (None: unknown)."""
    incoming: set[str] = set()
    for e in entries:
        if e.replaces:
            incoming.add(e.replaces)
        incoming.update(e.skips)
    candidates = [e for e in entries if e.name not in incoming]
    if len(candidates) > 1:
        ranges = {e.name: _range(e.skip_range) for e in candidates}
        kept = []
        for c in candidates:
            v = versions.get(c.name)
            covered = v is not None and any(
                r is not None and other != c.name and v in r for other, r in ranges.items()
            )
            if not covered:
                kept.append(c)
        candidates = kept or candidates
    return tuple(sorted({c.name for c in candidates}))


def upgrades_from(
    entry: ChannelEntry, entries: Sequence[ChannelEntry], versions: Mapping[str, Version | None]
) -> tuple[str, ...]:
    """Names of the channel's entries that ``entry`` is an upgrade from (replaces, skips, skipRange)."""
    names = {e.name for e in entries}
    out = set()
    if entry.replaces and entry.replaces in names:
        out.add(entry.replaces)
    out.update(s for s in entry.skips if s in names)
    r = _range(entry.skip_range)
    if r is not None:
        for e in entries:
            v = versions.get(e.name)
            if e.name != entry.name and v is not None and v in r:
                out.add(e.name)
    return tuple(sorted(out))
