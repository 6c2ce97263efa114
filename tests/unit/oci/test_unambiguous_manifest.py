"""A manifest that could be read as another kind of document is refused, as containers/image does.

containers/image's ``validateUnambiguousManifestFormat`` (manifest/common.go), called by
``Schema2FromManifest``, ``OCI1FromManifest``, ``Schema2ListFromManifest`` and
``OCI1IndexFromManifest``, refuses an image manifest holding ``manifests``, ``fsLayers`` or
``history`` and an index holding ``config``, ``layers``, ``fsLayers`` or ``history``: the same bytes
(and the same signed digest) must not mean an image to one tool and an index or a schema1 manifest
to another.  Go's JSON decoder matches field names case-insensitively, so ``Manifests`` counts too;
a ``null`` value leaves the field unset and does not.
"""

from __future__ import annotations

import json

import pytest

from imgextract import oci
from imgextract.errors import IntegrityError

D = "sha256:" + "a" * 64
MANIFEST = {
    "schemaVersion": 2,
    "mediaType": oci.OCI_MANIFEST,
    "config": {"mediaType": oci.OCI_CONFIG, "digest": D, "size": 2},
    "layers": [{"mediaType": oci.OCI_LAYER_GZIP, "digest": D, "size": 3}],
}
INDEX = {
    "schemaVersion": 2,
    "mediaType": oci.OCI_INDEX,
    "manifests": [
        {
            "mediaType": oci.OCI_MANIFEST,
            "digest": D,
            "size": 4,
            "platform": {"os": "linux", "architecture": "amd64"},
        }
    ],
}


def _with(doc: dict[str, object], field: str, value: object) -> bytes:
    return json.dumps({**doc, field: value}).encode()


@pytest.mark.parametrize("field", ["manifests", "fsLayers", "history", "Manifests", "FSLAYERS", "hiſtory"])
def test_an_image_manifest_with_index_or_schema1_fields_is_refused(field: str) -> None:
    for media_type in (oci.OCI_MANIFEST, oci.DOCKER_MANIFEST):
        with pytest.raises(IntegrityError, match="ambiguous"):
            oci.parse_manifest(_with({**MANIFEST, "mediaType": media_type}, field, []), media_type)


@pytest.mark.parametrize("field", ["config", "layers", "fsLayers", "history", "Layers", "CONFIG"])
def test_an_index_with_manifest_or_schema1_fields_is_refused(field: str) -> None:
    for media_type in (oci.OCI_INDEX, oci.DOCKER_MANIFEST_LIST):
        with pytest.raises(IntegrityError, match="ambiguous"):
            oci.parse_index(_with({**INDEX, "mediaType": media_type}, field, []), media_type)


def test_a_null_field_is_unset_and_allowed() -> None:
    assert len(oci.parse_manifest(_with(MANIFEST, "manifests", None), oci.OCI_MANIFEST).layers) == 1
    assert len(oci.parse_index(_with(INDEX, "history", None), oci.OCI_INDEX).manifests) == 1
