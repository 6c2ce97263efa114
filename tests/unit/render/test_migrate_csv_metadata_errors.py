"""``--migrate-level bundle-object-to-csv-metadata`` on a bundle that already has ``olm.csv.metadata``.

operator-registry ``alpha/action/migrations/000_bundle_object_to_csv_metadata.go`` re-encodes such a
value through ``property.CSVMetadata`` (``json.Unmarshal`` then ``property.MustBuild``); an unmarshal
error is the migration's error, and ``Render.Run`` (``alpha/action/render.go``) returns it as
``migrate: %v``, without the ``render reference`` prefix.  The JSON error is encoding/json's: the value
as declcfg re-encoded it (keys sorted), the first mismatch reported as ``Go struct field S.path``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from imgextract.catalog.render.pipeline import RenderError, RenderOptions, render_refs


def _catalog(tmp_path: Path, meta: Any) -> Path:
    root = tmp_path / "fbc"
    root.mkdir()
    bundle = {
        "schema": "olm.bundle",
        "package": "gadget",
        "name": "gadget.v1.0.0",
        "image": "reg.test/gadget-bundle:1.0.0",
        "properties": [
            {"type": "olm.package", "value": {"packageName": "gadget", "version": "1.0.0"}},
            {"type": "olm.csv.metadata", "value": meta},
        ],
    }
    (root / "catalog.json").write_text(json.dumps(bundle))
    return root


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        (
            {"displayName": 5},
            "json: cannot unmarshal number into Go struct field CSVMetadata.displayName of type string",
        ),
        (
            {"maintainers": [{"name": "Team", "email": 5}]},
            "json: cannot unmarshal number into Go struct field Maintainer.maintainers.email of type string",
        ),
        (
            # keys sorted by declcfg's Meta: "installModes" is decoded before "keywords"
            {"keywords": "x", "installModes": [{"type": "AllNamespaces", "supported": "yes"}]},
            "json: cannot unmarshal string into Go struct field InstallMode.installModes.supported of type bool",
        ),
        ("plain", "json: cannot unmarshal string into Go value of type property.CSVMetadata"),
    ],
)
def test_existing_csv_metadata_of_the_wrong_shape_fails_the_migration(
    tmp_path: Path, meta: Any, message: str
) -> None:
    with pytest.raises(RenderError) as exc:
        render_refs(
            [str(_catalog(tmp_path, meta))],
            options=RenderOptions(migrate_level="bundle-object-to-csv-metadata"),
        )
    assert str(exc.value) == f"migrate: {message}"
