"""One layer entry as ``Applier.apply_members`` hands it over: the general path (``_entry``:
the name's checks, whiteouts, the type, the selection, then the typed write in ``_apply_typed``)
and a plain regular file's shorter one (``_file_entry``: the previous file's directory, or a
cached parent), which notes the directory for the run loop's runs."""

from __future__ import annotations

from imgextract.errors import IntegrityError
from imgextract.layers.files import _ns
from imgextract.layers.fsroot import Parent
from imgextract.layers.layerstats import LayerStats
from imgextract.layers.links import ApplierLinks, _link_top
from imgextract.layers.member import AREGTYPE, DIRTYPE, KNOWN_TYPES, REGTYPE, Member, MemberData
from imgextract.layers.paths import _PARENT_CACHE, split_name
from imgextract.oci import whiteout

WHITEOUT_PREFIX = whiteout.PREFIX
_REGULAR = (REGTYPE, AREGTYPE)


class ApplierEntries(ApplierLinks):
    """Entries of ``Applier`` (which sets these attributes: see its ``__init__``)."""

    _covered_dirs: dict[tuple[str, ...], bool]
    _last_dir: tuple[str, Parent, int, bytes, str] | None
    _opened_dir: tuple[str, tuple[str, ...], bytes, int] | None
    _prune: bool

    def _entry(self, reader: MemberData, m: Member, stats: LayerStats) -> None:
        if not m.name:
            raise IntegrityError("tar entry with an empty name")
        parts = split_name(m.name, what="name")
        if not parts:
            if not m.isdir():
                raise IntegrityError(f"root entry {m.name!r} is not a directory")
            stats.top_level.add(".")
            self._dirs[""] = (m.mode, _ns(m.mtime))
            return
        base = parts[-1]
        if whiteout.is_whiteout(base):  # (whatever its type)
            self._whiteout(parts, stats)
            return
        if m.type not in KNOWN_TYPES:  # as umoci ("unknown typeflag"), containerd, containers/storage
            raise IntegrityError(f"tar entry {m.name!r} has an unknown type {m.type!r}")
        if m.issym() or m.islnk():
            stats.links.add((parts[0], _link_top(parts[:-1], m.linkname, hard=m.islnk())))
        stats.top_level.add(parts[0])
        if not self._wanted(parts):
            stats.skipped += 1
            if m.issym():
                # symlinks steer resolution (selection follows them): applied, pruned by finalize
                self._prune = True
                with self._parent(parts) as parent:
                    self._apply_typed(reader, m, parent, base, stats)
            elif self._prune:
                self._clear_unwanted(parts)
            return
        with self._parent(parts) as parent:
            stats.top_level.add(parent.child(base).split("/", 1)[0])
            self._apply_typed(reader, m, parent, base, stats)
        if m.type == DIRTYPE and (
            self.selection.paths is None or self.selection.covers_by_name("/".join(parts))
        ):  # (as _file_entry's same-directory path needs it: every file below is selected)
            spelled = m.name if m.name.endswith("/") else m.name + "/"
            self._opened_dir = (
                spelled,
                tuple(parts),
                spelled.encode("utf-8", "surrogateescape"),
                self._tree_gen,
            )

    def _file_entry(self, reader: MemberData, m: Member, stats: LayerStats) -> bool:
        """A plain regular file (most entries of most layers), applied as ``_entry`` would, with
        less work per entry.  False (nothing done) for anything unusual: ``_entry`` takes it."""
        name = m.name
        last = self._last_dir
        if last is not None and name.startswith(last[0]) and last[2] == self._tree_gen and last[1].fd >= 0:
            # the directory of the previous file: its checks, selection and stats are done
            base = name[len(last[0]) :]
            if (
                base
                and "/" not in base
                and base != "."
                and base != ".."
                and "\0" not in base
                and not base.startswith(WHITEOUT_PREFIX)
            ):
                same = last[1]
                self._write_file(reader, m, same, base)
                stats.files += 1
                stats.bytes_written += m.size
                self._upper.add(f"{same.path}/{base}" if same.path else base)  # ("d" -> "/": "")
                return True
        parts = name.split("/")
        if "" in parts or "." in parts:
            parts = [p for p in parts if p and p != "."]
        if not parts or ".." in parts or "\0" in name:
            return False
        base = parts.pop()
        if base.startswith(WHITEOUT_PREFIX):
            return False
        key = tuple(parts)
        covered: bool | None = True
        if self.selection.paths is not None:
            covered = self._covered_dirs.get(key)
            if covered is None:
                if len(self._covered_dirs) >= _PARENT_CACHE:
                    self._covered_dirs.clear()
                covered = self._covered_dirs[key] = self.selection.covers_by_name("/".join(key))
            if not covered and not self._wanted([*parts, base]):
                return False
        parent = self._parents.get(key) if self._parents_gen == self._tree_gen else None
        if parent is None:
            parent = self._cached_dir(key)
        top = stats.top_level
        top.add(parts[0] if parts else base)
        ppath = parent.path
        top.add(parent.parts[0] if ppath else base)
        self._write_file(reader, m, parent, base)
        stats.files += 1
        stats.bytes_written += m.size
        self._upper.add(f"{ppath}/{base}" if ppath else base)
        if ppath not in self._upper_anc:  # (else its ancestors are there too)
            self._mark_upper_anc(ppath)
        if covered and parts and name.endswith("/" + base) and len(name) > len(base) + 1:
            # (not for a directory only some of whose files are selected)
            spelled = name[: len(name) - len(base)]
            self._last_dir = (
                spelled,
                parent,
                self._tree_gen,
                spelled.encode("utf-8", "surrogateescape"),
                f"{ppath}/" if ppath else "",
            )
        return True

    def _apply_typed(
        self, reader: MemberData, m: Member, parent: Parent, base: str, stats: LayerStats
    ) -> None:
        if m.isdir():
            self._directory(parent, base, m.mode, m.mtime)
            stats.dirs += 1
            return
        path = parent.child(base)
        if m.type in _REGULAR:
            self._write_file(reader, m, parent, base)
            stats.files += 1
            stats.bytes_written += m.size
        elif m.issym():
            self._symlink(m, parent, base)
            stats.symlinks += 1
        elif m.islnk():
            self._hardlink(m, parent, base)
            stats.hardlinks += 1
        else:  # device or FIFO: not created, but it hides what lower layers had at this name
            self._stand_in(parent, base)
            stats.ignored += 1
        self._mark_upper(path)
