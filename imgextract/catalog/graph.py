"""The upgrade graph of one channel: which entry upgrades from which, and the channel heads.

OLM draws an edge to an entry from every entry that ``replaces`` it, ``skips`` it, or whose
``skipRange`` contains its version. opm finds the head as the one entry that no other entry
replaces or skips; where that leaves several candidates (channels connected only by ``skipRange``),
a candidate whose version lies in another candidate's ``skipRange`` is not a head either. Whatever
is left is returned (sorted): one name for a valid channel, several for an ambiguous one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from imgextract.catalog.model import ChannelEntry
from imgextract.catalog.versions import InvalidVersion, Version, VersionRange


def _range(text: str | None) -> VersionRange | None:
    if not text:
        return None
    try:
        return VersionRange.parse(text)
    except InvalidVersion:
        return None  # OLM ignores a skipRange it cannot parse when it resolves; so do we


def _unreplaced(entries: Sequence[ChannelEntry]) -> list[ChannelEntry]:
    """The entries no entry of the channel replaces or skips, in channel order."""
    incoming: set[str] = set()
    for e in entries:
        if e.replaces:
            incoming.add(e.replaces)
        incoming.update(e.skips)
    return [e for e in entries if e.name not in incoming]


def chain_error(entries: Sequence[ChannelEntry]) -> str | None:
    """opm's ``validateReplacesChain`` where it finds one head: no head at all, a ``replaces`` chain
    from the head that comes back to an entry, or an entry neither on that chain nor skipped is an
    error (its message); several heads are left to the caller, which reports them."""
    tops = _unreplaced(entries)
    if not tops:
        return "no channel head found in graph"
    if len(tops) > 1:
        return None
    by_name = {e.name: e for e in entries}
    skipped = {s for e in entries for s in e.skips}
    seen = [tops[0].name]
    cur: ChannelEntry | None = tops[0]
    while cur is not None:
        nxt = cur.replaces or ""
        if nxt in skipped:  # a replaces edge to a skipped entry is disregarded: the chain ends
            break
        if nxt in seen:
            loop = seen[seen.index(nxt) :] + [nxt]
            return f"detected cycle in replaces chain of upgrade graph: {' -> '.join(loop)}"
        seen.append(nxt)
        cur = by_name.get(nxt)
    stranded = sorted({e.name for e in entries} - set(seen) - skipped)
    if stranded:
        return f"channel contains one or more stranded bundles: {', '.join(stranded)}"
    return None


def heads(entries: Sequence[ChannelEntry], versions: Mapping[str, Version | None]) -> tuple[str, ...]:
    """The head(s) of a channel. ``versions`` maps bundle names to their versions (None: unknown)."""
    candidates = _unreplaced(entries)
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


def range_selection(
    entries: Sequence[ChannelEntry],
    versions: Mapping[str, Version | None],
    in_range: Callable[[Version | None], bool],
) -> set[str] | None:
    """The names a version range keeps, walking the replaces chain as oc-mirror v2 does.

    From the one head (the entry nothing replaces or skips) down the ``replaces`` chain, each chain
    entry counts the in-range bundles at or below it (itself, the entries it skips, its chain), each
    bundle counted once, lowest first. The new head is the lowest chain entry with the highest
    count, the tail the first chain entry counting none; the chain entries from head to tail are
    kept whatever their version (the channel stays connected), with the in-range entries they skip.
    None when the channel has no single such head or its chain loops: the caller then keeps the
    in-range entries as they are.

    ``versions`` holds every bundle of the package, not only the channel's: as in oc-mirror's
    filter (catalog-filter channel.go ``newChannel``/``filterByVersionRange``, which look versions up
    in the package's ``BundleVersionsByPkgAndName``), a ``replaces`` or ``skips`` naming a bundle of
    the package that is no entry of this channel still counts, and a replaced one ends the chain
    (it has no ``replaces`` here). The result may therefore name bundles that are not entries of
    the channel; the caller keeps those only where a channel lists them.
    """
    by_name = {e.name: e for e in entries}
    tops = _unreplaced(entries)
    if len(tops) != 1:
        return None
    chain: list[ChannelEntry] = []
    on_chain: set[str] = set()
    cur: ChannelEntry | None = tops[0]
    while cur is not None:
        if cur.name in on_chain:
            return None
        chain.append(cur)
        on_chain.add(cur.name)
        nxt = cur.replaces
        if not nxt:
            cur = None
        elif nxt in by_name:
            cur = by_name[nxt]
        elif nxt in versions:  # a bundle of the package outside this channel: a bare chain node
            cur = ChannelEntry(nxt)
        else:
            cur = None

    def counted(name: str) -> bool:
        return name in versions and in_range(versions[name])

    seen: set[str] = set()
    counts: dict[str, int] = {}
    below = 0
    for e in reversed(chain):
        count = below
        for name in (e.name, *e.skips):
            if name not in seen and counted(name):
                seen.add(name)
                count += 1
        counts[e.name] = below = count
    best = -1
    start = len(chain)
    stop = len(chain)
    for i, e in enumerate(chain):
        if counts[e.name] >= best:
            start, best = i, counts[e.name]
        if counts[e.name] == 0:
            stop = i
            break
    keep: set[str] = set()
    for e in chain[start:stop]:
        keep.add(e.name)
        keep.update(s for s in e.skips if counted(s))
    return keep
