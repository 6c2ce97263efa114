"""Catalog filters, as oc-mirror selects bundles, and deterministic sharding of a selection.

- no ``packages``: every package; otherwise those packages (an unknown name is an error);
- ``channels``: only channels with these names (a name no selected package has is an error;
  packages without any of them drop out);
- ``min_version``/``max_version``: the inclusive range oc-mirror's ``minVersion``/``maxVersion``
  make, applied per kept channel as oc-mirror applies it: down the channel's replaces chain from
  the newest chain entry holding in-range bundles to the first holding none, keeping the chain
  entries between (even out of the range, so the channel stays connected) and the in-range
  entries they skip (``graph.range_selection``); equal bounds keep exactly that version; a
  channel without a single replaces/skips head keeps its in-range entries; a pre-release version
  is in the range only when each bound given is a pre-release too (Masterminds semver, which
  oc-mirror checks ranges with);
- ``heads_only``: ``None`` (the default) follows the contract and oc-mirror v2: when ``packages``
  are named and no version range is given, only the head of each kept channel; with no package
  named, or with a range, every bundle (of the range) of every kept channel. ``True``: only the
  heads, also without ``packages``; ``False``: every bundle of the kept channels (oc-mirror's
  ``full: true``). ``True`` with a version range is refused, as their meanings contradict.

A package keeps its default channel when that channel survives; otherwise the kept channel with the
highest version among its remaining bundles (ties: the first name in sort order) becomes the
default, and the package records the channel it replaced. Channels left without bundles disappear.

A package named in ``packages`` whose selected channels the version range leaves without a single
bundle is an error (``NotFoundError``, naming every such package, the channels and the bounds, or
the version when the bounds are equal), as oc-mirror's filter fails then (catalog-filter
``mirrorFilter.FilterCatalog``: "... results in an empty channel" for the default channel;
``specificBundle``: "specific version ... not found in bundles"). Packages nobody named that the
range empties (oc-mirror has no range for them) disappear, as do those ``channels`` leaves out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from imgextract.catalog import graph
from imgextract.catalog.load import Model
from imgextract.catalog.model import Bundle, Channel, ChannelEntry, Package
from imgextract.catalog.versions import Version, parse_bound, try_version
from imgextract.errors import NotFoundError, UsageError, option


@dataclass(frozen=True)
class CatalogFilter:
    """What to keep of a catalog (all fields optional; the default keeps everything)."""

    packages: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    min_version: str | None = None
    max_version: str | None = None
    heads_only: bool | None = None

    def __post_init__(self) -> None:
        lo = parse_bound(self.min_version) if self.min_version else None
        hi = parse_bound(self.max_version) if self.max_version else None
        if self.heads_only and (lo is not None or hi is not None):
            raise UsageError(
                f"{option('heads_only')} cannot be combined with {option('min_version')}/{option('max_version')}"
            )
        if lo is not None and hi is not None and not hi.admits_as_max(lo.version):
            raise UsageError(
                f"{option('min_version')} {self.min_version} is above {option('max_version')} {self.max_version}"
            )

    @property
    def heads(self) -> bool:
        """The resolved choice: True when only each kept channel's head is selected."""
        if self.heads_only is not None:
            return self.heads_only
        return bool(self.packages) and self.min_version is None and self.max_version is None

    def resolved(self) -> CatalogFilter:
        """This filter with ``heads_only`` made explicit (what a pod of an Indexed Job is given)."""
        return CatalogFilter(self.packages, self.channels, self.min_version, self.max_version, self.heads)

    @property
    def empty(self) -> bool:
        """True when the filter keeps every bundle of the catalog."""
        return not (self.packages or self.channels or self.min_version or self.max_version or self.heads)

    def in_range(self, version: Version | None) -> bool:
        if self.min_version is None and self.max_version is None:
            return True
        if version is None:
            return False
        if self.min_version and self.min_version == self.max_version:
            # equal bounds name one version: oc-mirror keeps the bundle equal to it (isSpecificVersion)
            return bool(version == parse_bound(self.min_version).version)
        if self.min_version and not parse_bound(self.min_version).admits(version, maximum=False):
            return False
        return not (self.max_version and not parse_bound(self.max_version).admits(version, maximum=True))


def apply(model: Model, f: CatalogFilter) -> Model:
    """The filtered model (a new one; ``model`` is not changed)."""
    if f.empty:
        return model
    names = sorted(model.packages)
    if f.packages:
        unknown = sorted(set(f.packages) - set(names))
        if unknown:
            raise NotFoundError(f"package {', '.join(repr(u) for u in unknown)} not in the catalog")
        names = sorted(set(f.packages))
    if f.channels:
        present = {c for p in names for c in model.channels[p]}
        missing = sorted(set(f.channels) - present)
        if missing:
            raise NotFoundError(
                f"channel {', '.join(repr(m) for m in missing)} not in "
                + ("the selected packages" if f.packages else "the catalog")
            )
    out = Model()
    emptied = [pkg for pkg in names if _filter_package(model, pkg, f, out)]
    if emptied and f.packages:
        raise NotFoundError(_no_bundle_message(emptied, f))
    return out


def _no_bundle_message(packages: Sequence[str], f: CatalogFilter) -> str:
    """One line naming the packages a range emptied, the channels selected and the bounds."""
    where = f"package {', '.join(repr(p) for p in packages)}"
    if f.channels:
        where += f" in channel {', '.join(repr(c) for c in sorted(set(f.channels)))}"
    if f.min_version is not None and f.min_version == f.max_version:
        return f"no bundle of {where} has version {f.min_version}"
    bounds = [option(k, v) for k, v in (("min_version", f.min_version), ("max_version", f.max_version)) if v]
    return f"no bundle of {where} matches {' '.join(bounds)}"


def _filter_package(model: Model, pkg: str, f: CatalogFilter, out: Model) -> bool:
    """Add the package's selection to ``out``; True when the version range left nothing of the
    channels the names selected (the caller decides whether that is an error)."""
    all_bundles = model.bundles[pkg]
    kept_channels: dict[str, Channel] = {}
    selected: dict[str, set[str]] = {}  # bundle -> kept channels listing it
    named = 0  # channels selected by name, before the range
    heads = f.heads
    versions: dict[str, Version | None] | None = None
    for cname, ch in model.channels[pkg].items():
        if f.channels and cname not in f.channels:
            continue
        named += 1
        if heads:
            keep = set(ch.heads)
        else:
            if versions is None:  # every bundle of the package, as oc-mirror's filter sees skips
                versions = {name: b.semver for name, b in all_bundles.items()}
            # min == max names one bundle: oc-mirror keeps exactly it (isSpecificVersion)
            exact = f.min_version is not None and f.min_version == f.max_version
            chained = None if exact else graph.range_selection(ch.entries, versions, f.in_range)
            listed = {e.name for e in ch.entries}
            keep = (
                chained & listed
                if chained is not None
                else {name for name in listed if f.in_range(versions[name])}
            )
        if not keep:
            continue
        entries = tuple(e for e in ch.entries if e.name in keep)
        kept_channels[cname] = Channel(
            pkg, cname, entries, ch.heads if heads else _heads(entries, model, pkg), ch.origin
        )
        for name in keep:
            selected.setdefault(name, set()).add(cname)
    if not kept_channels:
        return named > 0
    original = model.packages[pkg]
    default = original.default_channel
    replaced = None
    if default not in kept_channels:
        replaced = default
        default = _best_channel(kept_channels, all_bundles)
    out.packages[pkg] = Package(pkg, default, tuple(sorted(kept_channels)), replaced, original.origin)
    out.channels[pkg] = dict(sorted(kept_channels.items()))
    out.bundles[pkg] = {name: _with_channels(all_bundles[name], selected[name]) for name in sorted(selected)}
    return False


def _heads(entries: Sequence[ChannelEntry], model: Model, pkg: str) -> tuple[str, ...]:
    versions = {e.name: model.bundles[pkg][e.name].semver for e in entries}
    return graph.heads(entries, versions)


def _with_channels(b: Bundle, channels: Iterable[str]) -> Bundle:
    chans = tuple(sorted(channels))
    if chans == b.channels:
        return b
    return Bundle(b.package, b.name, b.image, b.version, chans, b.related_images, b.origin)


def _best_channel(channels: dict[str, Channel], bundles: dict[str, Bundle]) -> str:
    def top(name: str) -> Version:
        ch = channels[name]
        vs = [v for e in ch.entries if (v := try_version(bundles[e.name].version)) is not None]
        return max(vs) if vs else Version(0)

    return max(sorted(channels), key=top)  # max keeps the first of equals: the first name


# ------------------------------------------------------------------ shards


def parse_shard(text: str) -> tuple[int, int]:
    """``I/N`` (0 <= I < N) -> (I, N)."""
    try:
        i_text, n_text = text.split("/")
        index, count = int(i_text), int(n_text)
    except ValueError:
        raise UsageError(f"{option('shard')} must be I/N (for example 0/3), got {text!r}") from None
    if count < 1 or not 0 <= index < count:
        raise UsageError(f"{option('shard')} {text}: need 0 <= I < N")
    return index, count


def shard_of(bundle: Bundle, count: int) -> int:
    """Stable shard number of a bundle: SHA-256 of ``package/name`` modulo ``count``.

    Depends on nothing but the bundle's identity, so every process (every pod of an Indexed Job)
    computes the same partition, disjoint and covering the whole selection.
    """
    digest = hashlib.sha256(f"{bundle.package}/{bundle.name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def check_shard(index: int, count: int) -> None:
    """Refuse a shard no bundle can be in (``0 <= index < count``): it would select nothing."""
    valid = all(isinstance(n, int) and not isinstance(n, bool) for n in (index, count))
    if not valid or count < 1 or not 0 <= index < count:
        raise UsageError(f"{option('shard')} ({index!r}, {count!r}): need 0 <= index < count")


def in_shard(bundles: Iterable[Bundle], index: int, count: int) -> list[Bundle]:
    """The bundles of shard ``index`` of ``count`` (see :func:`shard_of`)."""
    check_shard(index, count)
    return [b for b in bundles if shard_of(b, count) == index]
