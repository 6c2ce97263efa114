"""``--migrate-level`` (operator-registry ``alpha/action/migrations``).

Levels run in order up to and including the one named (``all``: every one): ``none`` does nothing,
``bundle-object-to-csv-metadata`` replaces a bundle's ``olm.bundle.object`` properties by one
``olm.csv.metadata`` built from its CSV, only for a bundle with an image and a CSV; a bundle that already
has ``olm.csv.metadata`` keeps everything, that property re-encoded through its struct.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a bundle's text kept from an earlier render needs no rendered objects
    from imgextract.catalog.render.rendered import RenderedBundle

__all__ = ["ALL", "LEVELS", "MigrationError", "check_level", "migrate_bundle"]

LEVELS = ("none", "bundle-object-to-csv-metadata")
ALL = "all"  # every level, as opm's ``--migrate-level all``


class MigrationError(ValueError):
    """An unknown level, or a CSV the migration cannot read."""


def check_level(level: str | None) -> str:
    level = level or "none"
    if level not in LEVELS and level != ALL:
        # migrations.NewMigrations: "unknown migration level %q"
        raise MigrationError(
            f"unknown migration level {json.dumps(level)} (available: {', '.join((*LEVELS, ALL))})"
        )
    return level


def migrate_bundle(b: RenderedBundle, level: str | None) -> RenderedBundle:
    """Apply the migrations up to ``level`` to one rendered bundle (returns the same object)."""
    level = check_level(level)
    if level == "none":
        return b
    from imgextract.catalog.render.csvmeta import csv_metadata_from_csv, csv_metadata_from_property
    from imgextract.catalog.render.rendered import Property

    # bundleObjectToCSVMetadata: a bundle that has olm.csv.metadata gets that property minified through
    # its struct and nothing else (its CSV is not decoded); otherwise, with an image and a CSV, the CSV
    # is decoded (a failure fails the migration) and replaces the olm.bundle.object properties
    found = False
    for i, p in enumerate(b.properties):
        if p.type == "olm.csv.metadata":
            try:
                b.properties[i] = Property(p.type, csv_metadata_from_property(p.value))
            except ValueError as exc:  # the migration's error: Render.Run's "migrate: %v"
                raise MigrationError(f"migrate: {exc}") from exc
            found = True
    if found or not b.image or not b.csv_json:
        return b
    try:
        meta = csv_metadata_from_csv(b.csv_json)
    except ValueError as exc:
        raise MigrationError(f"migrate: {exc}") from exc
    b.properties = [p for p in b.properties if p.type != "olm.bundle.object"]
    b.properties.append(Property("olm.csv.metadata", meta))
    return b
