"""``Catalog``: query and filter an operator catalog (an FBC directory or a catalog image).

    cat = Catalog.open("registry.example/ns/catalog:v4.17")   # or a directory
    for pkg in cat.packages(): ...
    sel = cat.filter(packages=["foo"])  # the heads of its channels (heads_only=False: all)
    sel.bundles(), sel.related_images()

Every result is a frozen object; nothing prints.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack

from imgextract.catalog import filters, load
from imgextract.catalog.fbc import (
    SCHEMA_BUNDLE,
    SCHEMA_CHANNEL,
    SCHEMA_DEPRECATIONS,
    SCHEMA_PACKAGE,
    FbcObject,
    iter_catalog,
)
from imgextract.catalog.filters import CatalogFilter
from imgextract.catalog.model import Bundle, Channel, Package
from imgextract.catalog.render.gostruct import field as go_field
from imgextract.errors import NotFoundError, UsageError, option
from imgextract.reference import names_a_path

if TYPE_CHECKING:
    from imgextract.catalog.session import CatalogSession
    from imgextract.settings import ClientOptions


class FiltersDoNotCompose(UsageError, ValueError):
    """A filtered catalog was filtered again (a ValueError too, as it was first raised)."""


class Catalog:
    """A loaded catalog (possibly filtered). Build it with ``open`` or ``from_directory``."""

    def __init__(
        self,
        model: load.Model,
        *,
        root: Path | None = None,
        source: str | None = None,
        selection: CatalogFilter | None = None,
        keep: object = None,
    ) -> None:
        self._model = model
        self.root = root
        self.source = source
        self.selection = selection or CatalogFilter()
        self._scratch = keep  # what keeps ``root`` on disk (a temporary extraction), shared by filters

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_directory(cls, path: str | os.PathLike[str]) -> Catalog:
        """Load the FBC under ``path`` (streamed, file by file)."""
        root = Path(path)
        return cls(load.build(iter_catalog(root)), root=root, source=str(path))

    @classmethod
    def open(
        cls,
        ref: str | os.PathLike[str],
        *,
        client: CatalogSession | None = None,
        **options: Unpack[ClientOptions],
    ) -> Catalog:
        """An FBC directory, or a catalog image reference: its configs directory is fetched once into
        the content cache (keyed by manifest digest) through ``client`` (an :class:`imgextract.Client`),
        or through a new client built from ``options`` (the Client's keyword options)."""
        if isinstance(ref, os.PathLike) or os.path.isdir(ref):
            return cls.from_directory(ref)
        if names_a_path(ref) or os.path.exists(ref):
            raise UsageError(
                f"{ref}: not a directory (a catalog is an image reference or a file-based catalog directory)"
            )
        from imgextract.catalog.session import fetch_configs

        if client is not None:
            if options:
                raise UsageError("pass either client or client options, not both")
            root, keep = fetch_configs(client, str(ref))
        else:
            from imgextract.client import Client

            with Client(**options) as own:
                root, keep = fetch_configs(own, str(ref))
        cat = cls.from_directory(root)
        cat.source = str(ref)
        cat._scratch = keep
        return cat

    # ------------------------------------------------------------------ queries

    def packages(self) -> list[Package]:
        """Every package, sorted by name."""
        return [self._model.packages[p] for p in sorted(self._model.packages)]

    def package(self, name: str) -> Package:
        """The package ``name`` (a NotFoundError when the catalog has none of that name)."""
        try:
            return self._model.packages[name]
        except KeyError:
            raise NotFoundError(f"package {name!r} not in the catalog") from None

    def channels(self, package: str | None = None) -> list[Channel]:
        """The channels of ``package`` (of every package when None), sorted by package and name."""
        names = [package] if package is not None else sorted(self._model.channels)
        if package is not None:
            self.package(package)
        return [ch for p in names for ch in self._model.channels[p].values()]

    def bundles(self, package: str | None = None, channel: str | None = None) -> list[Bundle]:
        """Bundles sorted by package then name; optionally of one package and/or one channel."""
        names = [package] if package is not None else sorted(self._model.bundles)
        if package is not None:
            self.package(package)
        out = []
        for p in names:
            for b in self._model.bundles[p].values():
                if channel is None or channel in b.channels:
                    out.append(b)
        return out

    def bundle(self, package: str, name: str) -> Bundle:
        """The bundle ``name`` of ``package`` (a NotFoundError when absent)."""
        try:
            return self._model.bundles[package][name]
        except KeyError:
            raise NotFoundError(f"bundle {name!r} of package {package!r} not in the catalog") from None

    def related_images(self, package: str | None = None) -> list[str]:
        """Every image the selected bundles need (bundle images included), sorted, de-duplicated."""
        out: set[str] = set()
        for b in self.bundles(package):
            out |= b.images()
        return sorted(out)

    def replaced_defaults(self) -> dict[str, tuple[str | None, str | None]]:
        """Packages whose default channel a filter removed: name -> (old default, new default)."""
        return {
            p.name: (p.replaced_default, p.default_channel)
            for p in self.packages()
            if p.replaced_default is not None
        }

    # ------------------------------------------------------------------ filtering

    def filter(
        self,
        packages: Iterable[str] = (),
        channels: Iterable[str] = (),
        min_version: str | None = None,
        max_version: str | None = None,
        heads_only: bool | None = None,
    ) -> Catalog:
        """A new Catalog with only the selection (see ``imgextract.catalog.filters``).

        ``heads_only=None`` (the default) selects, as oc-mirror does, the head of each kept channel
        of the named ``packages`` when no version range is given, and every bundle when no package
        is named or a range is given; ``True`` forces the heads, ``False`` every bundle (oc-mirror's
        ``full: true``).

        Raises ``NotFoundError`` for a package or channel name the catalog lacks, and for a named
        package the version range leaves without a bundle; ``UsageError`` for bad bounds.
        """
        for name, names in (("packages", packages), ("channels", channels)):
            if isinstance(names, str):  # its characters would be names
                raise UsageError(f"{option(name)} takes a list of names, got a single string {names!r}")
        return self.apply(
            CatalogFilter(
                tuple(packages), tuple(channels), min_version or None, max_version or None, heads_only
            )
        )

    def apply(self, selection: CatalogFilter) -> Catalog:
        """This catalog narrowed by a prebuilt filter (see :meth:`filter`), once: filters do not compose."""
        if not self.selection.empty:
            raise FiltersDoNotCompose("filter the unfiltered catalog: filters do not compose")
        return Catalog(
            filters.apply(self._model, selection),
            root=self.root,
            source=self.source,
            selection=selection,
            keep=self._scratch,
        )

    def shard(self, index: int, count: int) -> list[Bundle]:
        """The bundles of shard ``index`` of ``count`` (disjoint, covering ``bundles()``)."""
        return filters.in_shard(self.bundles(), index, count)

    # ------------------------------------------------------------------ the selection as FBC

    def objects(self) -> Iterator[dict[str, Any]]:
        """The catalog's FBC objects restricted to the selection, streamed again from disk.

        Packages carry the (possibly replaced) default channel, channels only their kept entries,
        bundles are passed through whole, deprecations keep the entries naming what was kept; other
        schemas are kept with their package, and always when they name none or nothing is filtered.
        """
        if self.root is None:
            raise ValueError("this catalog has no directory to stream from")
        for obj in iter_catalog(self.root):
            kept = self._keep(obj)
            if kept is not None:
                yield kept

    def _keep(self, obj: FbcObject) -> dict[str, Any] | None:
        m = self._model
        if obj.schema == SCHEMA_PACKAGE:
            pkg = m.packages.get(obj.name)
            if pkg is None:
                return None
            if pkg.default_channel != go_field(obj.data, "defaultChannel"):
                return {**_without(obj.data, "defaultChannel"), "defaultChannel": pkg.default_channel}
            return obj.data
        if obj.schema == SCHEMA_CHANNEL:
            ch = m.channels.get(obj.package, {}).get(obj.name)
            if ch is None:
                return None
            keep = set(ch.bundle_names)
            entries = [e for e in go_field(obj.data, "entries") or [] if go_field(e, "name") in keep]
            return {**_without(obj.data, "entries"), "entries": entries}
        if obj.schema == SCHEMA_BUNDLE:
            return obj.data if obj.name in m.bundles.get(obj.package, {}) else None
        if obj.schema == SCHEMA_DEPRECATIONS and obj.package in m.packages:
            return self._deprecations(obj)
        # other schemas: kept with their package; catalog-wide ones (no package) always, and every one
        # when nothing is filtered (opm keeps them in Others whatever package they name)
        if self.selection.empty or not obj.package or obj.package in m.packages:
            return obj.data
        return None

    def _deprecations(self, obj: FbcObject) -> dict[str, Any]:
        """The entries naming a kept bundle or channel (or the package): as oc-mirror's filter
        keeps them, so the filtered catalog references nothing it no longer has."""
        m = self._model
        kept_names: dict[str, set[str]] = {
            SCHEMA_BUNDLE: set(m.bundles.get(obj.package, {})),
            SCHEMA_CHANNEL: set(m.channels.get(obj.package, {})),
        }
        entries = go_field(obj.data, "entries") or []
        keep = []
        for e in entries:
            ref = go_field(e, "reference") if isinstance(e, dict) else None
            if isinstance(ref, dict):
                names = kept_names.get(go_field(ref, "schema"))
                if names is not None and go_field(ref, "name") not in names:
                    continue
            keep.append(e)
        if len(keep) == len(entries):
            return obj.data
        return {**_without(obj.data, "entries"), "entries": keep}

    def __repr__(self) -> str:
        return f"Catalog({self.source!r}, packages={len(self._model.packages)})"


def _without(data: dict[str, Any], name: str) -> dict[str, Any]:
    """``data`` without the keys Go would read into the field ``name`` (any case): the replacement
    written under the field's own name is then the only one."""
    low = name.lower()
    return {k: v for k, v in data.items() if k.lower() != low}
