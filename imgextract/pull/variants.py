"""Dual-compression indexes: one platform offered as a gzip and a zstd (often zstd:chunked) image.

Builders that publish both (Konflux's dual-compression layout; ``podman manifest add`` of a
``--compression-format zstd:chunked`` push) annotate the zstd manifest's index entry with
``io.github.containers.compression.zstd: "true"``; older clients take the first match for their
platform.  We choose the variant that fetches least for the pull:

* a selection (any pull without ``--all``) and a zstd variant whose layers all carry a TOC: zstd,
  since only its TOCs and the selected files' chunks are fetched (a gzip layer is always read
  whole, and a zstd:chunked layer never costs more than itself);
* otherwise (``--all``, or zstd layers without TOCs): the variant with fewer layer bytes; a tie
  keeps the index's first match.

``prefer`` ("gzip" or "zstd") forces one when both exist.  The choice and the sizes are reported.
"""

from __future__ import annotations

from typing import NamedTuple

from imgextract import oci
from imgextract.errors import IntegrityError
from imgextract.layers.chunked import is_chunked
from imgextract.layers.chunked.toc import ZSTD_MEDIA_TYPES

ZSTD_VARIANT = "io.github.containers.compression.zstd"
PREFERENCES = ("auto", "gzip", "zstd")


def is_zstd_variant(desc: oci.Descriptor) -> bool:
    return desc.annotations.get(ZSTD_VARIANT, "").lower() == "true"


def platform_variants(
    index: oci.Index, platform: oci.Platform
) -> tuple[oci.Descriptor, oci.Descriptor] | None:
    """(gzip entry, zstd entry) when the index offers both among the entries
    :func:`~imgextract.oci.select_platform` chooses from (:func:`~imgextract.oci.matching`);
    else None."""
    matching = oci.matching(index, platform)
    zstd = next((d for d in matching if is_zstd_variant(d)), None)
    other = next((d for d in matching if not is_zstd_variant(d)), None)
    if zstd is None or other is None:
        return None
    return oci.usable(other), oci.usable(zstd)


class VariantChoice(NamedTuple):
    """What was offered and what was taken (for ``--json`` and ``inspect``).  A tuple: every pull
    imports this module, and a dataclass costs more to define than it is worth here."""

    chosen: str  # "gzip" | "zstd"
    reason: str
    gzip_digest: str
    zstd_digest: str
    gzip_bytes: int  # sum of layer sizes
    zstd_bytes: int
    zstd_chunked: bool  # every zstd layer has a TOC

    def to_json(self) -> dict[str, object]:
        return {
            "chosen": self.chosen,
            "reason": self.reason,
            "variants": [
                {"compression": "gzip", "digest": self.gzip_digest, "layerBytes": self.gzip_bytes},
                {
                    "compression": "zstd:chunked" if self.zstd_chunked else "zstd",
                    "digest": self.zstd_digest,
                    "layerBytes": self.zstd_bytes,
                },
            ],
        }


def _all_chunked(manifest: oci.Manifest) -> bool:
    layers = manifest.layers
    return bool(layers) and all(d.media_type in ZSTD_MEDIA_TYPES and _chunked(d) for d in layers)


def _chunked(desc: oci.Descriptor) -> bool:
    try:
        return is_chunked(desc.media_type, desc.annotations)
    except IntegrityError:  # malformed annotations: not usable for partial fetch
        return False


def choose_variant(
    gzip: tuple[oci.Descriptor, oci.Manifest],
    zstd: tuple[oci.Descriptor, oci.Manifest],
    *,
    prefer: str = "auto",
    whole: bool = False,
) -> VariantChoice:
    """Which variant to pull (see the module docstring)."""
    gzip_bytes = sum(d.size for d in gzip[1].layers)
    zstd_bytes = sum(d.size for d in zstd[1].layers)
    chunked = _all_chunked(zstd[1])

    def pick(chosen: str, reason: str) -> VariantChoice:
        return VariantChoice(chosen, reason, gzip[0].digest, zstd[0].digest, gzip_bytes, zstd_bytes, chunked)

    if prefer in ("gzip", "zstd"):
        return pick(prefer, f"--prefer-compression {prefer}")
    if not whole and chunked:
        return pick("zstd", "zstd:chunked: only the TOCs and the selected files' chunks are fetched")
    if zstd_bytes < gzip_bytes:
        return pick("zstd", "fewer layer bytes")
    return pick(
        "gzip",
        "fewer layer bytes" if gzip_bytes < zstd_bytes else "same size: gzip, which every client reads",
    )
