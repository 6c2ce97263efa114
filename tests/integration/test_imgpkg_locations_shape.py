"""The locations image is read as imgpkg reads it: one layer, of the Docker gzip layer type.

imgpkg's ``locationsSingleLayerReader.Read`` (carvel-dev/imgpkg pkg/imgpkg/bundle/locations_configs.go,
stored commit 00d383ce94e22370027801f874d125a03c01cfd8) refuses any other shape ("Expected locations
OCI Image to only have a single layer, got N", "Expected layer to have docker layer media type, was
M"), and ``LocationsConfigs.Fetch`` returns that as "Reading fetched location image: ..." which fails
the pull (``syncImageRefsWithLocationConfig`` only forgives ``LocationsNotFound``). A pull that
silently used such an image would rewrite images.yml where imgpkg stops.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from imgextract import oci
from imgextract.errors import InvalidBundleError
from imgextract.imgpkg.image import BuiltImage, build_image, sha256
from imgextract.imgpkg.locations import ImageLocation, ImageLocations, locations_tag
from tests.integration.test_imgpkg_copy import World, bundle_image, pull_lock, push, world

regfix_registry = pytest.importorskip("regfix.registry")

pytestmark = [pytest.mark.registry]
if regfix_registry.registry_binary() is None:
    pytestmark.append(pytest.mark.skip(reason="docker-registry binary not installed"))

REPO = "loc/shape"


@pytest.fixture(scope="module")
def reg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    with regfix_registry.start_registry(tmp_path_factory.mktemp("reg-loc")) as r:
        yield r


def _bundle(w: World, host: str, name: str) -> tuple[str, str]:
    """A bundle in REPO whose one image is in REPO too; returns (bundle ref by tag, app ref)."""
    app = build_image({"app/main.txt": name.encode() * 10})
    push(w.client_for(host), REPO, app, f"app-{name}")
    app_ref = f"{host}/{REPO}@{app.digest}"
    bundle = bundle_image([app_ref])
    push(w.client_for(host), REPO, bundle, name)
    return bundle.digest, app_ref


def _locations(app_ref: str) -> BuiltImage:
    doc = ImageLocations((ImageLocation(app_ref, False),)).to_yaml()
    return build_image({"image-locations.yml": doc})


def _with_layers(img: BuiltImage, layers: list[dict[str, object]], *, oci_types: bool = False) -> BuiltImage:
    man = json.loads(img.manifest)
    man["layers"] = layers
    if oci_types:  # as an OCI tool (crane, oras) would write it
        man["mediaType"] = oci.OCI_MANIFEST
        man["config"]["mediaType"] = oci.OCI_CONFIG
    raw = json.dumps(man, separators=(",", ":")).encode()
    return replace(img, manifest=raw, media_type=man["mediaType"])


def test_a_locations_image_of_oci_media_types_fails_the_pull(reg: object, tmp_path: Path) -> None:
    host = reg.host  # type: ignore[attr-defined]
    w = world(host)
    digest, app_ref = _bundle(w, host, "oci-layer")
    loc = _locations(app_ref)
    layer = {"mediaType": oci.OCI_LAYER_GZIP, "size": len(loc.layer), "digest": loc.layer_digest}
    push(w.client_for(host), REPO, _with_layers(loc, [layer], oci_types=True), locations_tag(digest))
    with pytest.raises(InvalidBundleError) as exc:
        pull_lock(w, f"{host}/{REPO}:oci-layer", tmp_path)
    assert str(exc.value) == (
        f"Reading fetched location image {host}/{REPO}:{locations_tag(digest)}: "
        f"Expected layer to have docker layer media type, was {oci.OCI_LAYER_GZIP}"
    )


def test_a_locations_image_with_two_layers_fails_the_pull(reg: object, tmp_path: Path) -> None:
    host = reg.host  # type: ignore[attr-defined]
    w = world(host)
    digest, app_ref = _bundle(w, host, "two-layers")
    loc = _locations(app_ref)
    layer = {"mediaType": oci.DOCKER_LAYER, "size": len(loc.layer), "digest": loc.layer_digest}
    two = _with_layers(loc, [layer, layer])
    config = json.loads(loc.config)
    config["rootfs"]["diff_ids"] *= 2
    cfg = json.dumps(config, separators=(",", ":")).encode()
    man = json.loads(two.manifest)
    man["config"].update(size=len(cfg), digest=sha256(cfg))
    two = replace(two, config=cfg, manifest=json.dumps(man, separators=(",", ":")).encode())
    push(w.client_for(host), REPO, two, locations_tag(digest))
    with pytest.raises(InvalidBundleError) as exc:
        pull_lock(w, f"{host}/{REPO}:two-layers", tmp_path)
    assert str(exc.value) == (
        f"Reading fetched location image {host}/{REPO}:{locations_tag(digest)}: "
        "Expected locations OCI Image to only have a single layer, got 2"
    )


def test_imgpkgs_own_shape_is_read(reg: object, tmp_path: Path) -> None:
    """The control: the same document in imgpkg's shape rewrites images.yml via the locations image."""
    host = reg.host  # type: ignore[attr-defined]
    w = world(host)
    digest, app_ref = _bundle(w, host, "good")
    push(w.client_for(host), REPO, _locations(app_ref), locations_tag(digest))
    _lock, report = pull_lock(w, f"{host}/{REPO}:good", tmp_path)
    assert report.via == "locations-image"  # type: ignore[attr-defined]


def test_the_file_is_found_by_its_base_name_as_imgpkg_finds_it(reg: object, tmp_path: Path) -> None:
    """``locationsSingleLayerReader.Read`` takes the first tar entry whose base name is
    ``image-locations.yml``, wherever it lies in the layer."""
    host = reg.host  # type: ignore[attr-defined]
    w = world(host)
    digest, app_ref = _bundle(w, host, "nested-file")
    doc = ImageLocations((ImageLocation(app_ref, False),)).to_yaml()
    push(w.client_for(host), REPO, build_image({"sub/image-locations.yml": doc}), locations_tag(digest))
    _lock, report = pull_lock(w, f"{host}/{REPO}:nested-file", tmp_path)
    assert report.via == "locations-image"  # type: ignore[attr-defined]
