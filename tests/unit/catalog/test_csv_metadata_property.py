"""An ``olm.csv.metadata`` bundle property is decoded into operator-registry's typed struct when opm
builds its model, so a hand-written value of the wrong shape refuses the catalog; catalogs of our own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from imgextract.catalog import Catalog
from imgextract.catalog.fbc import CatalogFormatError


def _catalog(tmp_path: Path, meta: Any) -> Path:
    root = tmp_path / "catalog"
    root.mkdir()
    objs = [
        {"schema": "olm.package", "name": "gadget", "defaultChannel": "stable"},
        {
            "schema": "olm.channel",
            "package": "gadget",
            "name": "stable",
            "entries": [{"name": "gadget.v1.0.0"}],
        },
        {
            "schema": "olm.bundle",
            "package": "gadget",
            "name": "gadget.v1.0.0",
            "image": "reg.test/gadget-bundle:1.0.0",
            "properties": [
                {"type": "olm.package", "value": {"packageName": "gadget", "version": "1.0.0"}},
                {"type": "olm.csv.metadata", "value": meta},
            ],
        },
    ]
    (root / "catalog.json").write_text("\n".join(json.dumps(o) for o in objs))
    return root


_PREFIX = r'parse properties for bundle "gadget.v1.0.0": parse property\[1\] of type "olm.csv.metadata": '


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        (
            {"annotations": {"certified": False}},
            "json: cannot unmarshal bool into Go struct field CSVMetadata.annotations of type string",
        ),
        (
            {"keywords": "monitoring"},
            "cannot unmarshal string into Go struct field CSVMetadata.keywords of type",
        ),
        ({"minKubeVersion": 1.25}, "cannot unmarshal number into Go struct field CSVMetadata.minKubeVersion"),
        (
            {"installModes": [{"type": "AllNamespaces", "supported": "true"}]},
            "cannot unmarshal string into Go struct field InstallMode.installModes.supported of type bool",
        ),
        (
            {"maintainers": [{"name": "Team", "email": 5}]},
            "cannot unmarshal number into Go struct field Maintainer.maintainers.email of type string",
        ),
        ({"provider": "Acme"}, "cannot unmarshal string into Go struct field CSVMetadata.provider of type"),
        (
            {"crdDescriptions": {"owned": [{"name": "gadgets.acme.test", "version": 1}]}},
            "cannot unmarshal number into Go struct field CRDDescription.crdDescriptions.owned.version",
        ),
        ("plain text", "cannot unmarshal string into Go value of type property.CSVMetadata"),
    ],
)
def test_csv_metadata_value_decodes_into_its_struct(tmp_path: Path, meta: Any, message: str) -> None:
    """``property.Parse`` (called by ``declcfg.ConvertToModel``) decodes an ``olm.csv.metadata`` value
    into ``property.CSVMetadata``: a field of the wrong JSON type refuses the catalog."""
    with pytest.raises(CatalogFormatError, match=_PREFIX + ".*" + message):
        Catalog.from_directory(_catalog(tmp_path, meta))


def test_well_formed_csv_metadata_loads(tmp_path: Path) -> None:
    """``property.Parse``: every field of ``property.CSVMetadata`` with its type, unknown fields and
    ``null`` values skipped, loads."""
    meta = {
        "annotations": {"certified": "false", "olm.skipRange": "<1.0.0"},
        "apiServiceDefinitions": {},
        "crdDescriptions": {"owned": [{"name": "gadgets.acme.test", "version": "v1", "kind": "Gadget"}]},
        "description": "Gadgets.",
        "displayName": "Gadget Operator",
        "installModes": [{"type": "AllNamespaces", "supported": True}],
        "keywords": ["gadget"],
        "labels": {"tier": "gold"},
        "links": [{"name": "Docs", "url": "https://acme.test"}],
        "maintainers": [{"name": "Team", "email": "team@acme.test"}],
        "maturity": "alpha",
        "minKubeVersion": "1.25.0",
        "nativeAPIs": [{"group": "", "version": "v1", "kind": "Pod"}],
        "provider": {"name": "Acme"},
        "somethingNew": 42,
        "keywordsExtra": None,
    }
    assert [b.name for b in Catalog.from_directory(_catalog(tmp_path, meta)).bundles()] == ["gadget.v1.0.0"]
