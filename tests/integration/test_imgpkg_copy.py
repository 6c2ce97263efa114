"""imgpkg copy / relocation against real docker-registry processes (CNCF distribution 2.8).

imgpkg's relocation scenarios 1-5 (references use the test registries), plus cross-registry copy with
htpasswd credentials, registry A stopped before pulling from B, an interrupted copy, a refused mount,
and independent readers (python-dxf, skopeo) for what copy writes.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from imgextract import oci
from imgextract.auth.credentials import Credentials
from imgextract.errors import ImgExtractError
from imgextract.imgpkg.copy import copy_bundle
from imgextract.imgpkg.graph import fetch_source, read_bundle_lock
from imgextract.imgpkg.image import BuiltImage, build_image
from imgextract.imgpkg.locations import imgpkg_tag, locations_tag
from imgextract.imgpkg.lock import BundleLock, ImageRef, ImagesLock
from imgextract.imgpkg.pull import localize_bundle
from imgextract.reference import Reference, parse_reference
from imgextract.registry.client import RegistryClient
from imgextract.registry.transport import TransportSettings

regfix_registry = pytest.importorskip("regfix.registry")
dxf_mod = pytest.importorskip("dxf")

pytestmark = [pytest.mark.registry]
if regfix_registry.registry_binary() is None:
    pytestmark.append(pytest.mark.skip(reason="docker-registry binary not installed"))

BUNDLE_LABELS = {"dev.carvel.imgpkg.bundle": "true"}
USER, PASSWORD = "copier", "copier-secret"


# ----------------------------------------------------------------------------------- harness


class Creds:
    """CredentialLookup: (registry, repository prefix) -> Credentials."""

    def __init__(self, table: dict[tuple[str, str], Credentials] | None = None) -> None:
        self.table = table or {}

    def lookup(self, registry: str, repository: str) -> Credentials | None:
        for (reg, prefix), creds in self.table.items():
            if reg == registry and repository.startswith(prefix):
                return creds
        return None


@dataclass
class World:
    creds: Creds
    hosts: set[str]
    clients: dict[str, RegistryClient]
    ca_file: Path | None = None

    def client_for(self, registry: str) -> RegistryClient:
        if registry not in self.clients:
            settings = TransportSettings(
                insecure_registries=frozenset(self.hosts),
                timeout=10,
                retries=1,
                retry_base_delay=0.01,
                retry_max_delay=0.05,
                ca_file=self.ca_file,
            )
            self.clients[registry] = RegistryClient(
                registry, settings, self.creds, insecure=registry in self.hosts
            )
        return self.clients[registry]


def world(*hosts: str, creds: Creds | None = None, ca_file: Path | None = None) -> World:
    """Clients for plain-HTTP ``hosts`` (insecure) and TLS registries trusted through ``ca_file``."""
    return World(creds or Creds(), set(hosts), {}, ca_file)


def push(client: RegistryClient, repo: str, built: BuiltImage, *tags: str) -> str:
    for digest, data in built.blobs():
        client.upload_blob(repo, io.BytesIO(data), digest, len(data))
    for tag in tags or (imgpkg_tag(built.digest),):
        client.put_manifest(repo, tag, built.manifest, built.media_type)
    return built.digest


def bundle_image(images: list[str], extra: dict[str, bytes] | None = None) -> BuiltImage:
    lock = ImagesLock(tuple(ImageRef(i, {"kbld.carvel.dev/id": i.split("@")[0]}) for i in images))
    files = {
        ".imgpkg/images.yml": lock.to_yaml(),
        ".imgpkg/bundle.yml": b"---\nname: test\n",
        "config/app.yml": b"kind: ConfigMap\n",
        **(extra or {}),
    }
    return build_image(files, labels=BUNDLE_LABELS)


def push_index(client: RegistryClient, repo: str, tag: str) -> tuple[str, list[str]]:
    children: list[dict[str, object]] = []
    for arch in ("amd64", "arm64"):
        img = build_image({f"bin/{arch}": arch.encode() * 100})
        push(client, repo, img, f"child-{arch}")
        children.append(
            {
                "mediaType": oci.DOCKER_MANIFEST,
                "digest": img.digest,
                "size": len(img.manifest),
                "platform": {"os": "linux", "architecture": arch},
            }
        )
    raw = json.dumps(
        {"schemaVersion": 2, "mediaType": oci.DOCKER_MANIFEST_LIST, "manifests": children}
    ).encode()
    digest = client.put_manifest(repo, tag, raw, oci.DOCKER_MANIFEST_LIST)
    return digest, [str(c["digest"]) for c in children]


@dataclass
class Source:
    host: str
    app: str  # ref of a plain image
    simple: str  # bundle with the app image (tag "bundle")
    simple_digest: str
    index: str  # ref of a manifest list
    index_children: list[str]
    inner: str  # nested bundle ref (= simple bundle)
    outer: str  # bundle listing the inner bundle and the index (tag "bundle")
    outer_digest: str


def populate(client: RegistryClient, host: str, prefix: str = "src") -> Source:
    app = build_image({"app/main.txt": b"hello imgpkg\n" * 50})
    push(client, f"{prefix}/app", app, "v1")
    app_ref = f"{host}/{prefix}/app@{app.digest}"
    simple = bundle_image([app_ref])
    push(client, f"{prefix}/simple", simple, "bundle")
    index_digest, children = push_index(client, f"{prefix}/multi", "v1")
    index_ref = f"{host}/{prefix}/multi@{index_digest}"
    inner_ref = f"{host}/{prefix}/simple@{simple.digest}"
    outer = bundle_image([inner_ref, index_ref], {"README.md": b"outer\n"})
    push(client, f"{prefix}/outer", outer, "bundle")
    return Source(
        host,
        app_ref,
        f"{host}/{prefix}/simple:bundle",
        simple.digest,
        index_ref,
        children,
        inner_ref,
        f"{host}/{prefix}/outer:bundle",
        outer.digest,
    )


def dxf(
    host: str, repo: str, user: str | None = None, password: str | None = None, ca_file: Path | None = None
) -> object:
    auth = None
    if user is not None:

        def auth(d: object, response: requests.Response) -> None:
            d.authenticate(user, password, response=response)  # type: ignore[attr-defined]

    if ca_file is not None:
        return dxf_mod.DXF(host, repo, auth, tlsverify=str(ca_file))
    return dxf_mod.DXF(host, repo, auth, insecure=True)


def locations_yaml(
    host: str,
    repo: str,
    bundle_digest: str,
    user: str | None = None,
    password: str | None = None,
    ca_file: Path | None = None,
) -> bytes:
    """Read the locations image with python-dxf (an independent client) and check imgpkg's shape."""
    d = dxf(host, repo, user, password, ca_file)
    raw, _resp = d.get_manifest_and_response(locations_tag(bundle_digest))  # type: ignore[attr-defined]
    man = json.loads(raw)
    assert man["mediaType"] == oci.DOCKER_MANIFEST
    assert man["config"]["mediaType"] == oci.DOCKER_CONFIG
    assert [layer["mediaType"] for layer in man["layers"]] == [oci.DOCKER_LAYER]
    config = json.loads(b"".join(d.pull_blob(man["config"]["digest"])))  # type: ignore[attr-defined]
    assert not config["config"].get("Labels")
    layer = b"".join(d.pull_blob(man["layers"][0]["digest"]))  # type: ignore[attr-defined]
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer))) as tar:
        members = tar.getmembers()
        assert [t.name.rstrip("/") for t in members] == [".", "image-locations.yml"]
        assert members[1].mode == 0o600
        fh = tar.extractfile(members[1])
        assert fh is not None
        return fh.read()


def expected_locations(*entries: tuple[str, bool]) -> bytes:
    body = "".join(
        f"- image: {img}\n  isBundle: {'true' if flag else 'false'}\n" for img, flag in sorted(entries)
    )
    return f"---\napiVersion: imgpkg.carvel.dev/v1alpha1\nimages:\n{body}kind: ImageLocations\n".encode()


def manifest_status(host: str, repo: str, ident: str, auth: tuple[str, str] | None = None) -> int:
    accept = ", ".join(oci.MANIFEST_ACCEPT)
    return requests.head(
        f"http://{host}/v2/{repo}/manifests/{ident}", headers={"Accept": accept}, auth=auth, timeout=10
    ).status_code


def delete_manifest(host: str, repo: str, tag: str) -> None:
    accept = ", ".join(oci.MANIFEST_ACCEPT)
    r = requests.head(f"http://{host}/v2/{repo}/manifests/{tag}", headers={"Accept": accept}, timeout=10)
    assert r.status_code == 200, r.status_code
    digest = r.headers["Docker-Content-Digest"]
    assert requests.delete(f"http://{host}/v2/{repo}/manifests/{digest}", timeout=10).status_code == 202


def pull_lock(w: World, ref: str, tmp: Path) -> tuple[bytes, object]:
    """What a pull does for an imgpkg bundle: images.yml extracted, then localized against the bundle repo."""
    img = fetch_source(parse_reference(ref), w.client_for)
    root = tmp / "out"
    (root / ".imgpkg").mkdir(parents=True)
    (root / ".imgpkg/images.yml").write_bytes(read_bundle_lock(img).to_yaml())
    where = Reference(img.client.registry, img.repository, digest=img.digest)
    report = localize_bundle(root, img.client, where)
    return (root / ".imgpkg/images.yml").read_bytes(), report


# ----------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def reg_a(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    with regfix_registry.start_registry(tmp_path_factory.mktemp("reg-a")) as reg:
        yield reg


@pytest.fixture(scope="module")
def src(reg_a: object) -> Source:
    w = world(reg_a.host)  # type: ignore[attr-defined]
    return populate(w.client_for(reg_a.host), reg_a.host)  # type: ignore[attr-defined]


@pytest.fixture()
def w(reg_a: object) -> World:
    return world(reg_a.host)  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------- relocation scenarios


def test_scenario1_copy_writes_locations_image(src: Source, w: World, tmp_path: Path) -> None:
    lock_file = tmp_path / "lock.yml"
    result = copy_bundle(
        src.simple, f"{src.host}/new-location", client_for=w.client_for, lock_output=lock_file
    )
    assert result.digest == src.simple_digest
    assert locations_yaml(src.host, "new-location", src.simple_digest) == expected_locations((src.app, False))
    # bundle and image by digest and by imgpkg tag; the source tag re-applied
    app_digest = src.app.split("@")[1]
    for ident in (
        src.simple_digest,
        imgpkg_tag(src.simple_digest),
        "bundle",
        app_digest,
        imgpkg_tag(app_digest),
    ):
        assert manifest_status(src.host, "new-location", ident) == 200, ident
    assert BundleLock.parse(lock_file.read_bytes()) == BundleLock(
        f"{src.host}/new-location@{src.simple_digest}", "bundle"
    )
    assert lock_file.stat().st_mode & 0o777 == 0o600
    # same registry: blobs were mounted, not streamed
    assert result.blobs["mounted"] >= 4 and result.blobs["streamed"] == 0


def test_untagged_source_is_copied_as_latest_and_digest_source_without_tag(
    src: Source, w: World, tmp_path: Path
) -> None:
    """imgpkg ``copy`` re-applies and locks the bundle's ``PlainImage.Tag()``: a source written
    without tag is read as ``latest`` (ggcr's default), so the destination gets ``latest`` and the
    BundleLock says ``tag: latest``; a source given by digest, even ``repo:tag@digest``, gets no
    tag.  We wrote no tag for the first and re-applied ``tag`` for the second."""
    client = w.client_for(src.host)
    digest = push(client, "src/untagged", bundle_image([src.app]), "latest")
    lock_file = tmp_path / "untagged.yml"
    result = copy_bundle(
        f"{src.host}/src/untagged", f"{src.host}/untagged-dst", client_for=w.client_for, lock_output=lock_file
    )
    assert result.tag == "latest"
    assert manifest_status(src.host, "untagged-dst", "latest") == 200
    assert BundleLock.parse(lock_file.read_bytes()) == BundleLock(
        f"{src.host}/untagged-dst@{digest}", "latest"
    )

    pinned = tmp_path / "pinned.yml"
    result = copy_bundle(
        f"{src.simple}@{src.simple_digest}",
        f"{src.host}/pinned-dst",
        client_for=w.client_for,
        lock_output=pinned,
    )
    assert result.tag is None
    assert manifest_status(src.host, "pinned-dst", "bundle") == 404
    assert BundleLock.parse(pinned.read_bytes()) == BundleLock(f"{src.host}/pinned-dst@{src.simple_digest}")


def test_partly_replicated_bundle_reads_each_image_where_it_is(src: Source, w: World) -> None:
    """imgpkg ``RegistryFetcher.Bundle`` reads every image from the first of its locations that
    exists (``FirstImageExists``: the bundle's repository, then the ImagesLock location), image by
    image (bundle_images_lock_test's replication scenario).  A bundle whose repository holds only
    some of its images copies when the others are only at their origin, even if the colocated ones
    are gone from theirs; we read every image from its origin as soon as one was missing."""
    client = w.client_for(src.host)
    one = build_image({"one.txt": b"first image\n" * 20})
    two = build_image({"two.txt": b"second image\n" * 20})
    push(client, "orig/one", one, "v1")
    push(client, "orig/two", two, "v1")
    bundle = bundle_image([f"{src.host}/orig/one@{one.digest}", f"{src.host}/orig/two@{two.digest}"])
    push(client, "partial/bundle", bundle, "v1")
    push(client, "partial/bundle", two)  # only the second image was replicated next to the bundle
    delete_manifest(src.host, "orig/two", "v1")
    result = copy_bundle(
        f"{src.host}/partial/bundle:v1", f"{src.host}/partial-final", client_for=w.client_for
    )
    assert result.images == {
        one.digest: f"{src.host}/orig/one@{one.digest}",
        two.digest: f"{src.host}/orig/two@{two.digest}",
    }
    for digest in (one.digest, two.digest, bundle.digest):
        assert manifest_status(src.host, "partial-final", digest) == 200, digest


def test_scenario2_nested_bundles_one_locations_image_each(src: Source, w: World) -> None:
    result = copy_bundle(src.outer, f"{src.host}/nested-location", client_for=w.client_for)
    assert result.bundles == [src.outer_digest, src.simple_digest]
    assert locations_yaml(src.host, "nested-location", src.outer_digest) == expected_locations(
        (src.inner, True), (src.index, False)
    )
    assert locations_yaml(src.host, "nested-location", src.simple_digest) == expected_locations(
        (src.app, False)
    )
    index_digest = src.index.split("@")[1]
    for ident in (index_digest, imgpkg_tag(index_digest), *src.index_children, src.app.split("@")[1]):
        assert manifest_status(src.host, "nested-location", ident) == 200, ident


def test_scenario3_copy_twice_points_to_latest_location(src: Source, reg_a: object, tmp_path: Path) -> None:
    host = src.host
    w = world(host)
    own = populate(w.client_for(host), host, prefix="s3")
    copy_bundle(own.simple, f"{host}/s3-first", client_for=w.client_for)
    # the original image goes away: the second copy must find it beside the bundle (locations image)
    delete_manifest(host, "s3/app", "v1")
    assert manifest_status(host, "s3/app", own.app.split("@")[1]) == 404
    copy_bundle(f"{host}/s3-first:bundle", f"{host}/s3-second", client_for=w.client_for)
    assert locations_yaml(host, "s3-second", own.simple_digest) == expected_locations((own.app, False))
    text, report = pull_lock(w, f"{host}/s3-second:bundle", tmp_path)
    assert report.via == "locations-image"  # type: ignore[attr-defined]
    assert ImagesLock.parse(text).images[0].image == f"{host}/s3-second@{own.app.split('@')[1]}"


def test_scenario4_namespaced_destination(src: Source, w: World, tmp_path: Path) -> None:
    copy_bundle(src.simple, f"{src.host}/some/namespace/new-location", client_for=w.client_for)
    assert locations_yaml(src.host, "some/namespace/new-location", src.simple_digest) == expected_locations(
        (src.app, False)
    )
    text, _ = pull_lock(w, f"{src.host}/some/namespace/new-location:bundle", tmp_path)
    assert (
        ImagesLock.parse(text).images[0].image
        == f"{src.host}/some/namespace/new-location@{src.app.split('@')[1]}"
    )


def test_scenario5_deleted_locations_tag_is_recreated(src: Source, w: World, tmp_path: Path) -> None:
    copy_bundle(src.simple, f"{src.host}/old-imgpkg-img", client_for=w.client_for)
    # an "older imgpkg" copy: everything but the locations image
    delete_manifest(src.host, "old-imgpkg-img", locations_tag(src.simple_digest))
    assert manifest_status(src.host, "old-imgpkg-img", locations_tag(src.simple_digest)) == 404
    # pull still relocates, by probing each image beside the bundle
    text, report = pull_lock(w, f"{src.host}/old-imgpkg-img:bundle", tmp_path)
    assert report.via == "bundle-repository"  # type: ignore[attr-defined]
    assert ImagesLock.parse(text).images[0].image == f"{src.host}/old-imgpkg-img@{src.app.split('@')[1]}"
    copy_bundle(
        f"{src.host}/old-imgpkg-img:bundle", f"{src.host}/yet-another-location", client_for=w.client_for
    )
    assert locations_yaml(src.host, "yet-another-location", src.simple_digest) == expected_locations(
        (src.app, False)
    )
    copy_bundle(f"{src.host}/old-imgpkg-img:bundle", f"{src.host}/old-imgpkg-img", client_for=w.client_for)
    assert locations_yaml(src.host, "old-imgpkg-img", src.simple_digest) == expected_locations(
        (src.app, False)
    )


def test_non_distributable_layers_are_skipped_and_keep_their_urls(tmp_path: Path) -> None:
    """go-containerregistry's ``MediaType.IsDistributable`` as imgpkg copies by default (without
    ``--include-non-distributable-layers``): a foreign layer is not copied, and the manifest that names
    it, with its ``urls``, is copied byte for byte."""
    allow_urls = {"REGISTRY_VALIDATION_MANIFESTS_URLS_ALLOW": '["^https://"]'}  # off by default
    with regfix_registry.start_registry(tmp_path / "r", extra_env=allow_urls) as reg:
        w = world(reg.host)
        client = w.client_for(reg.host)
        base = build_image({"app/windows.txt": b"foreign base below\n"})
        foreign = b"a base layer only its vendor serves\n"
        foreign_digest = "sha256:" + hashlib.sha256(foreign).hexdigest()  # never uploaded anywhere
        url = "https://vendor.invalid/layers/base.tar.gz"
        man = json.loads(base.manifest)
        man["layers"].insert(
            0,
            {
                "mediaType": oci.DOCKER_FOREIGN_LAYER,
                "size": len(foreign),
                "digest": foreign_digest,
                "urls": [url],
            },
        )
        raw = json.dumps(man, indent=3).encode()
        for digest, data in base.blobs():
            client.upload_blob("foreign/app", io.BytesIO(data), digest, len(data))
        app_digest = client.put_manifest("foreign/app", "v1", raw, oci.DOCKER_MANIFEST)
        app_ref = f"{reg.host}/foreign/app@{app_digest}"
        bundle = bundle_image([app_ref])
        push(client, "foreign/bundle", bundle, "bundle")

        result = copy_bundle(f"{reg.host}/foreign/bundle:bundle", f"{reg.host}/dst", client_for=w.client_for)
        assert result.blobs["skipped"] == 1
        copied = client.get_manifest("dst", app_digest)
        assert copied.raw == raw and copied.digest == app_digest
        assert oci.parse_manifest(copied.raw, copied.media_type).layers[0].urls == (url,)
        assert not client.blob_exists("dst", foreign_digest)
        assert locations_yaml(reg.host, "dst", bundle.digest) == expected_locations((app_ref, False))


# ----------------------------------------------------------------------------------- determinism, pull side


def test_recopy_is_deterministic_and_skips_present_blobs(src: Source, w: World) -> None:
    first = copy_bundle(src.outer, f"{src.host}/det-a", client_for=w.client_for)
    again = copy_bundle(src.outer, f"{src.host}/det-a", client_for=w.client_for)
    other = copy_bundle(src.outer, f"{src.host}/det-b", client_for=w.client_for)
    assert first.locations == again.locations == other.locations
    assert again.blobs["present"] == sum(first.blobs.values()) and not again.blobs["mounted"]


def test_pull_without_copy_keeps_images_lock_and_says_why(src: Source, w: World, tmp_path: Path) -> None:
    text, report = pull_lock(w, src.simple, tmp_path)
    assert report.via == "images-lock" and report.missing == src.app  # type: ignore[attr-defined]
    assert "not found (404)" in report.message()  # type: ignore[attr-defined]
    assert ImagesLock.parse(text).images[0].image == src.app


def test_missing_image_in_bundle_repo_is_not_rewritten(src: Source, w: World, tmp_path: Path) -> None:
    copy_bundle(src.simple, f"{src.host}/partial", client_for=w.client_for)
    delete_manifest(src.host, "partial", locations_tag(src.simple_digest))
    delete_manifest(src.host, "partial", imgpkg_tag(src.app.split("@")[1]))
    text, report = pull_lock(w, f"{src.host}/partial:bundle", tmp_path)
    assert report.via == "images-lock" and report.missing == src.app  # type: ignore[attr-defined]
    assert ImagesLock.parse(text).images[0].image == src.app


# ----------------------------------------------------------------------------------- cross-registry


def test_cross_registry_copy_then_pull_from_b_with_a_stopped(tmp_path: Path) -> None:
    reg_a = regfix_registry.start_registry(tmp_path / "a")
    try:
        with regfix_registry.start_registry(tmp_path / "b", tls=True, htpasswd={USER: PASSWORD}) as reg_b:
            creds = Creds({(reg_b.host, ""): Credentials(USER, PASSWORD)})
            w = world(reg_a.host, creds=creds, ca_file=reg_b.ca_file)
            own = populate(w.client_for(reg_a.host), reg_a.host)
            result = copy_bundle(own.outer, f"{reg_b.host}/team/dst", client_for=w.client_for)
            assert result.blobs["streamed"] > 0 and not result.blobs["mounted"]
            assert locations_yaml(
                reg_b.host, "team/dst", own.outer_digest, USER, PASSWORD, reg_b.ca_file
            ) == expected_locations((own.inner, True), (own.index, False))
            reg_a.stop()
            pulled = world(reg_a.host, creds=creds, ca_file=reg_b.ca_file)
            text, report = pull_lock(pulled, f"{reg_b.host}/team/dst:bundle", tmp_path)
            assert report.via == "locations-image"  # type: ignore[attr-defined]
            assert [i.image.split("@")[0] for i in ImagesLock.parse(text).images] == [
                f"{reg_b.host}/team/dst"
            ] * 2
            assert set(pulled.clients) == {reg_b.host}
            # the nested bundle, read from B, relocates against B as well
            text, report = pull_lock(pulled, f"{reg_b.host}/team/dst@{own.simple_digest}", tmp_path / "n")
            assert ImagesLock.parse(text).images[0].image == f"{reg_b.host}/team/dst@{own.app.split('@')[1]}"
            assert set(pulled.clients) == {reg_b.host}
    finally:
        reg_a.stop()


def test_interrupted_copy_leaves_no_locations_image(tmp_path: Path) -> None:
    faults = pytest.importorskip("regfix.faults")
    with (
        regfix_registry.start_registry(tmp_path / "a") as reg_a,
        regfix_registry.start_registry(tmp_path / "b") as reg_b,
        faults.FaultProxy(reg_a.url) as proxy,
    ):
        w = world(proxy.host, reg_b.host)
        own = populate(w.client_for(proxy.host), proxy.host)

        def client_for(registry: str) -> RegistryClient:
            # copy_bundle asks for the destination client once the bundle tree is discovered: from then
            # on every blob download through the proxy loses its connection
            if registry == reg_b.host:
                proxy.plan.drop_blob_after = 0
                proxy.plan.drop_times = None
            return w.client_for(registry)

        with pytest.raises(ImgExtractError):
            copy_bundle(own.outer, f"{reg_b.host}/dst", client_for=client_for)
        assert any(r.fault == "drop" for r in proxy.requests)
        for digest in (own.outer_digest, own.simple_digest):
            assert manifest_status(reg_b.host, "dst", locations_tag(digest)) == 404
        assert manifest_status(reg_b.host, "dst", "bundle") == 404
        # once the network is healthy the same copy completes
        proxy.plan.drop_blob_after = None
        copy_bundle(own.outer, f"{reg_b.host}/dst", client_for=world(proxy.host, reg_b.host).client_for)
        assert manifest_status(reg_b.host, "dst", locations_tag(own.outer_digest)) == 200


def test_corrupt_layer_mid_copy_leaves_no_locations_image(tmp_path: Path) -> None:
    faults = pytest.importorskip("regfix.faults")
    with (
        regfix_registry.start_registry(tmp_path / "a") as reg_a,
        regfix_registry.start_registry(tmp_path / "b") as reg_b,
        faults.FaultProxy(reg_a.url) as proxy,
    ):
        w = world(proxy.host, reg_b.host)
        own = populate(w.client_for(proxy.host), proxy.host)
        app = w.client_for(proxy.host).get_manifest("src/app", "v1")
        layer = oci.parse_manifest(app.raw, app.media_type).layers[0].digest
        proxy.plan.corrupt_blobs = {layer}
        with pytest.raises(ImgExtractError, match="digest"):
            copy_bundle(own.outer, f"{reg_b.host}/dst", client_for=w.client_for, concurrency=1)
        assert any(r.fault == "corrupt" for r in proxy.requests)
        assert manifest_status(reg_b.host, "dst", locations_tag(own.outer_digest)) == 404
        assert manifest_status(reg_b.host, "dst", locations_tag(own.simple_digest)) == 404


def test_dropped_connection_once_is_resumed(tmp_path: Path) -> None:
    faults = pytest.importorskip("regfix.faults")
    with (
        regfix_registry.start_registry(tmp_path / "a") as reg_a,
        regfix_registry.start_registry(tmp_path / "b") as reg_b,
        faults.FaultProxy(reg_a.url) as proxy,
    ):
        w = world(proxy.host, reg_b.host)
        own = populate(w.client_for(proxy.host), proxy.host)
        proxy.plan.drop_blob_after = 100
        proxy.plan.drop_times = 1
        copy_bundle(own.simple, f"{reg_b.host}/dst", client_for=w.client_for, concurrency=1)
        assert manifest_status(reg_b.host, "dst", locations_tag(own.simple_digest)) == 200


def test_refused_mount_falls_back_to_streaming(tmp_path: Path) -> None:
    """imgpkg#495: per-project credentials; the destination's token may not read the source repository."""
    tokenserver = pytest.importorskip("regfix.tokenserver")
    policy = tokenserver.TokenPolicy(
        users={"reader": "r-secret", "writer": "w-secret"},
        grants={"reader": {"proj-a/*": ("pull", "push")}, "writer": {"proj-b/*": ("pull", "push")}},
        public={},
    )
    with (
        tokenserver.TokenServer(tmp_path / "tok", policy=policy) as tok,
        regfix_registry.start_registry(tmp_path / "r", token=tok) as reg,
    ):
        creds = Creds(
            {
                (reg.host, "proj-a/"): Credentials("reader", "r-secret"),
                (reg.host, "proj-b/"): Credentials("writer", "w-secret"),
            }
        )
        w = world(reg.host, creds=creds)
        own = populate(w.client_for(reg.host), reg.host, prefix="proj-a")
        result = copy_bundle(own.simple, f"{reg.host}/proj-b/dst", client_for=w.client_for)
        assert result.blobs["streamed"] >= 4 and not result.blobs["mounted"]
        # the mount was asked for (writer's token request names the source repository) and refused
        assert any(
            r.user == "writer" and any(sc.startswith("repository:proj-a/") for sc in r.scopes)
            for r in tok.requests
        )
        token = requests.get(
            tok.realm,
            params={"service": tok.service, "scope": "repository:proj-b/dst:pull"},
            auth=("writer", "w-secret"),
            timeout=10,
        ).json()["token"]
        got = requests.get(
            f"http://{reg.host}/v2/proj-b/dst/manifests/bundle",
            headers={"Authorization": f"Bearer {token}", "Accept": oci.DOCKER_MANIFEST},
            timeout=10,
        )
        assert got.status_code == 200
        assert "sha256:" + hashlib.sha256(got.content).hexdigest() == own.simple_digest


# ----------------------------------------------------------------------------------- independent readers


def test_copied_images_readable_by_independent_clients(src: Source, w: World) -> None:
    copy_bundle(src.outer, f"{src.host}/readback", client_for=w.client_for)
    d = dxf(src.host, "readback")
    raw, _ = d.get_manifest_and_response(imgpkg_tag(src.outer_digest))  # type: ignore[attr-defined]
    assert "sha256:" + hashlib.sha256(raw.encode()).hexdigest() == src.outer_digest
    for layer in json.loads(raw)["layers"]:
        data = b"".join(d.pull_blob(layer["digest"]))  # type: ignore[attr-defined]  # dxf verifies the digest
        assert len(data) == layer["size"]
    skopeo = shutil.which("skopeo")
    if skopeo is None:
        pytest.fail("skopeo (test oracle) not installed")
    for tag in ("bundle", locations_tag(src.outer_digest)):
        out = subprocess.run(
            [skopeo, "inspect", "--tls-verify=false", f"docker://{src.host}/readback:{tag}"],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        info = json.loads(out.stdout)
        assert len(info["Layers"]) == 1
    out = subprocess.run(
        [
            skopeo,
            "inspect",
            "--raw",
            "--tls-verify=false",
            f"docker://{src.host}/readback@{src.index.split('@')[1]}",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert [c["digest"] for c in json.loads(out.stdout)["manifests"]] == src.index_children


def test_a_bundle_listing_an_oci_artifact_is_copied(w: World, reg_a: object) -> None:
    """imgpkg ``Bundle.IsBundle`` reads every listed image's config labels with go-containerregistry's
    ``ConfigFile``, which asks for no image: a Helm chart (an OCI artifact: its own config type, no
    ``rootfs``) listed in a bundle is no bundle and is copied like any image, not a malformed config."""
    host = reg_a.host  # type: ignore[attr-defined]
    client = w.client_for(host)
    config = json.dumps({"name": "chart", "version": "1.0.0", "apiVersion": "v2"}).encode()
    chart = b"not really a chart tarball\n" * 10
    blobs = {f"sha256:{hashlib.sha256(b).hexdigest()}": b for b in (config, chart)}
    for digest, data in blobs.items():
        client.upload_blob("art/chart", io.BytesIO(data), digest, len(data))
    config_digest, chart_digest = blobs
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": oci.OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.cncf.helm.config.v1+json",
                "digest": config_digest,
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                    "digest": chart_digest,
                    "size": len(chart),
                }
            ],
        }
    ).encode()
    chart_ref_digest = client.put_manifest("art/chart", "1.0.0", manifest, oci.OCI_MANIFEST)
    chart_ref = f"{host}/art/chart@{chart_ref_digest}"
    bundle = bundle_image([chart_ref])
    push(client, "art/bundle", bundle, "bundle")
    result = copy_bundle(f"{host}/art/bundle:bundle", f"{host}/art-copy", client_for=w.client_for)
    assert result.digest == bundle.digest
    assert manifest_status(host, "art-copy", chart_ref_digest) == 200
    assert locations_yaml(host, "art-copy", bundle.digest) == expected_locations((chart_ref, False))
