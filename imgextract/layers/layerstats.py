"""What one layer did, as ``Applier.apply`` reports it (``LayerStats``): entries by kind, bytes
written, and the top-level names and links a layer-skipping planner reads."""

from __future__ import annotations

from imgextract.records import Record


class LayerStats(Record):
    """What one layer did.  ``top_level``: first path components it touched (names as written
    and as resolved; whiteouts and opaque markers included, ``.`` = the root itself).
    ``links``: for every symlink and hard link entry (selected or not), the first component of its
    name and of its target, lexically (``..`` stops at the root, relative targets from the link's
    directory), ``""`` when the target is the root: what a layer-skipping planner must close over."""

    __slots__ = (
        "entries",
        "files",
        "dirs",
        "symlinks",
        "hardlinks",
        "whiteouts",
        "skipped",
        "ignored",
        "bytes_written",
        "top_level",
        "root_opaque",
        "links",
        "digest",
        "diff_id",
        "compressed_size",
        "uncompressed_size",
    )

    def __init__(self) -> None:
        self.entries = 0
        self.files = 0
        self.dirs = 0
        self.symlinks = 0
        self.hardlinks = 0
        self.whiteouts = 0
        self.skipped = 0  # not selected
        self.ignored = 0  # devices, FIFOs, other .wh..wh.* names
        self.bytes_written = 0
        self.top_level: set[str] = set()
        self.root_opaque = False  # an opaque marker for the root directory itself
        self.links: set[tuple[str, str]] = set()  # (top of link name, top of target; "" = root)
        self.digest: str | None = None
        self.diff_id: str | None = None
        self.compressed_size = 0
        self.uncompressed_size = 0
