"""Lookup order, absence rules and reports of the pull-side relocation, and nested bundle pulls.

An in-memory stand-in for RegistryClient serves manifests and blobs; the real registry behaviour is
covered by tests/integration/test_imgpkg_copy.py.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, cast

import pytest

from imgextract import oci
from imgextract.errors import AuthError, InvalidBundleError, NotFoundError, RegistryError
from imgextract.imgpkg.blobs import copy_blob
from imgextract.imgpkg.copy import write_locations_image
from imgextract.imgpkg.image import build_image
from imgextract.imgpkg.locations import ImageLocation, ImageLocations, imgpkg_tag, locations_tag
from imgextract.imgpkg.lock import ImageRef, ImagesLock
from imgextract.imgpkg.pull import localize_bundle, pull_nested_bundles
from imgextract.imgpkg.relocate import relocate_images_lock
from imgextract.reference import Reference
from imgextract.registry.client import ManifestResponse, RegistryClient

REG = "reg.example:5000"
D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
BUNDLE = "sha256:" + "b" * 64


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class FakeClient:
    """Manifests by (repo, tag-or-digest); blobs by digest; ``fail[(repo, ident)]`` raises."""

    def __init__(self, registry: str = REG) -> None:
        self.registry = registry
        self.manifests: dict[tuple[str, str], tuple[bytes, str]] = {}
        self.blobs: dict[tuple[str, str], bytes] = {}
        self.fail: dict[tuple[str, str], Exception] = {}
        self.fail_op: dict[tuple[str, str, str], Exception] = {}
        self.calls: list[tuple[str, str, str]] = []
        self.mount_answer: bool | Exception = True

    def add_image(
        self, repo: str, files: dict[str, bytes], *tags: str, labels: dict[str, str] | None = None
    ) -> str:
        img = build_image(files, labels=labels)
        for digest, data in img.blobs():
            self.blobs[(repo, digest)] = data
        for ident in (img.digest, *tags):
            self.manifests[(repo, ident)] = (img.manifest, img.media_type)
        return img.digest

    def _check(self, op: str, repo: str, ident: str) -> None:
        self.calls.append((op, repo, ident))
        if (repo, ident) in self.fail:
            raise self.fail[(repo, ident)]
        if (op, repo, ident) in self.fail_op:
            raise self.fail_op[(op, repo, ident)]

    def get_manifest(self, repo: str, ident: str, accept: Any = None) -> ManifestResponse:
        self._check("get", repo, ident)
        if (repo, ident) not in self.manifests:
            raise NotFoundError("manifest unknown")
        raw, mt = self.manifests[(repo, ident)]
        return ManifestResponse(raw, mt, sha(raw))

    def head_manifest(self, repo: str, ident: str, accept: Any = None) -> oci.Descriptor | None:
        self._check("head", repo, ident)
        if (repo, ident) not in self.manifests:
            return None
        raw, mt = self.manifests[(repo, ident)]
        return oci.Descriptor(mt, sha(raw), len(raw))

    @contextmanager
    def open_blob(
        self, repo: str, digest: str, *, size: int | None = None, offset: int = 0
    ) -> Iterator[BinaryIO]:
        self._check("blob", repo, digest)
        yield io.BytesIO(self.blobs[(repo, digest)])

    def read_blob(self, repo: str, digest: str, *, limit: int) -> bytes:
        self._check("blob", repo, digest)
        return self.blobs[(repo, digest)]

    def blob_exists(self, repo: str, digest: str) -> bool:
        self._check("blob-head", repo, digest)
        return (repo, digest) in self.blobs

    def mount_blob(self, repo: str, digest: str, from_repo: str) -> bool:
        self._check("mount", repo, digest)
        if isinstance(self.mount_answer, Exception):
            raise self.mount_answer
        if self.mount_answer:
            self.blobs[(repo, digest)] = self.blobs[(from_repo, digest)]
        return self.mount_answer

    def put_manifest(self, repo: str, ref: str, raw: bytes, media_type: str) -> str:
        self._check("put", repo, ref)
        self.manifests[(repo, ref)] = (raw, media_type)
        return sha(raw)

    def upload_blob(self, repo: str, stream: BinaryIO, digest: str, size: int) -> None:
        self._check("upload", repo, digest)
        data = stream.read()
        assert sha(data) == digest and len(data) == size
        self.blobs[(repo, digest)] = data


def client(fake: FakeClient) -> RegistryClient:
    return cast(RegistryClient, fake)


def lock_of(*digests: str) -> ImagesLock:
    return ImagesLock(
        tuple(ImageRef(f"orig.io/team/img{i}@{d}", {"n": str(i)}) for i, d in enumerate(digests))
    )


BUNDLE_REF = Reference(REG, "dst/bundle", digest=BUNDLE)


def test_locations_image_wins_and_no_image_is_probed() -> None:
    fake = FakeClient()
    doc = (
        b"apiVersion: imgpkg.carvel.dev/v1alpha1\nkind: ImageLocations\nimages:\n"
        b"- {image: orig.io/team/img0@" + D1.encode() + b", isBundle: true}\n"
    )
    fake.add_image("dst/bundle", {"image-locations.yml": doc}, locations_tag(BUNDLE))
    new, report = relocate_images_lock(client(fake), BUNDLE_REF, lock_of(D1, D2))
    assert report.via == "locations-image" and report.rewritten
    assert [i.image for i in new.images] == [f"{REG}/dst/bundle@{D1}", f"{REG}/dst/bundle@{D2}"]
    assert [i.annotations for i in new.images] == [{"n": "0"}, {"n": "1"}]
    assert report.is_bundle == {D1: True}  # D2 not listed: unknown, not False
    assert not [c for c in fake.calls if c[0] == "head"]


def test_seed_spelling_of_the_locations_image_is_read() -> None:
    fake = FakeClient()
    doc = (
        b"apiVersion: imgpkg.carvel.dev/v1alpha1\nkind: ImagesLocation\nimages:\n"
        b"- {image: orig.io/team/img0@" + D1.encode() + b", bundle: false, repository: x}\n"
    )
    fake.add_image("dst/bundle", {"images-locations.yml": doc}, locations_tag(BUNDLE))
    _new, report = relocate_images_lock(client(fake), BUNDLE_REF, lock_of(D1))
    assert report.via == "locations-image" and report.is_bundle == {D1: False}


@pytest.mark.parametrize("error", [NotFoundError("x"), AuthError("401"), AuthError("403")])
def test_absent_locations_image_falls_back_to_probes(error: Exception) -> None:
    fake = FakeClient()
    fake.fail[("dst/bundle", locations_tag(BUNDLE))] = error
    fake.add_image("dst/bundle", {"a": b"1"})
    for d in (D1, D2):
        fake.manifests[("dst/bundle", d)] = (b"{}", oci.DOCKER_MANIFEST)
    new, report = relocate_images_lock(client(fake), BUNDLE_REF, lock_of(D1, D2, D1))
    assert report.via == "bundle-repository"
    assert [i.image for i in new.images] == [f"{REG}/dst/bundle@{d}" for d in (D1, D2, D1)]
    assert [c for c in fake.calls if c[0] == "head"] == [
        ("head", "dst/bundle", D1),
        ("head", "dst/bundle", D2),
    ]


@pytest.mark.parametrize("error, reason", [(None, "not found (404)"), (AuthError("denied"), "401/403")])
def test_first_missing_image_stops_and_is_named(error: Exception | None, reason: str) -> None:
    fake = FakeClient()
    fake.manifests[("dst/bundle", D1)] = (b"{}", oci.DOCKER_MANIFEST)
    if error is not None:
        fake.fail[("dst/bundle", D2)] = error
    lock = lock_of(D1, D2)
    new, report = relocate_images_lock(client(fake), BUNDLE_REF, lock)
    assert new is lock and not report.rewritten
    assert report.missing == f"orig.io/team/img1@{D2}"
    assert reason in report.message() and f"orig.io/team/img1@{D2}" in report.message()
    assert all(c[1].startswith("dst/") for c in fake.calls)  # the original registry is never asked


def test_other_errors_are_fatal() -> None:
    fake = FakeClient()
    fake.fail[("dst/bundle", locations_tag(BUNDLE))] = RegistryError("500")
    with pytest.raises(RegistryError):
        relocate_images_lock(client(fake), BUNDLE_REF, lock_of(D1))
    fake.fail[("dst/bundle", locations_tag(BUNDLE))] = NotFoundError("x")
    fake.fail[("dst/bundle", D1)] = RegistryError("500")
    with pytest.raises(RegistryError):
        relocate_images_lock(client(fake), BUNDLE_REF, lock_of(D1))


def test_locations_image_without_the_file_is_invalid() -> None:
    fake = FakeClient()
    fake.add_image("dst/bundle", {"other.yml": b"x"}, locations_tag(BUNDLE))
    with pytest.raises(InvalidBundleError, match="image-locations.yml"):
        relocate_images_lock(client(fake), BUNDLE_REF, lock_of(D1))


def _bundle_dir(root: Path, lock: ImagesLock) -> Path:
    (root / ".imgpkg").mkdir(parents=True)
    (root / ".imgpkg/images.yml").write_bytes(lock.to_yaml())
    (root / ".imgpkg/images.yml").chmod(0o644)
    return root


def test_localize_rewrites_file_in_place_keeping_mode(tmp_path: Path) -> None:
    fake = FakeClient()
    fake.manifests[("dst/bundle", D1)] = (b"{}", oci.DOCKER_MANIFEST)
    root = _bundle_dir(tmp_path / "out", lock_of(D1))
    report = localize_bundle(root, client(fake), BUNDLE_REF)
    assert report.via == "bundle-repository"
    path = root / ".imgpkg/images.yml"
    assert path.read_bytes() == ImagesLock((ImageRef(f"{REG}/dst/bundle@{D1}", {"n": "0"}),)).to_yaml()
    assert path.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in (root / ".imgpkg").iterdir()) == ["images.yml"]


def test_localize_leaves_file_untouched_when_not_rewritten(tmp_path: Path) -> None:
    root = _bundle_dir(tmp_path / "out", lock_of(D1))
    before = (root / ".imgpkg/images.yml").read_bytes()
    report = localize_bundle(root, client(FakeClient()), BUNDLE_REF)
    assert not report.rewritten and (root / ".imgpkg/images.yml").read_bytes() == before


def test_localize_writes_imgpkg_form_even_when_nothing_moves(tmp_path: Path) -> None:
    """imgpkg ``Bundle.pull`` writes ``ImagesLock().WriteToPath`` whenever the images are in the
    bundle's repository, in its own form (``---``, sorted keys), even when every reference already
    names that repository: an images.yml written by hand comes out as imgpkg writes it."""
    fake = FakeClient()
    fake.manifests[("dst/bundle", D1)] = (b"{}", oci.DOCKER_MANIFEST)
    root = tmp_path / "out"
    (root / ".imgpkg").mkdir(parents=True)
    hand_written = (
        "# written by hand\nkind: ImagesLock\napiVersion: imgpkg.carvel.dev/v1alpha1\n"
        f"images:\n- image: {REG}/dst/bundle@{D1}\n"
    )
    (root / ".imgpkg/images.yml").write_text(hand_written)
    report = localize_bundle(root, client(fake), BUNDLE_REF)
    assert report.via == "bundle-repository"
    assert (root / ".imgpkg/images.yml").read_bytes() == ImagesLock(
        (ImageRef(f"{REG}/dst/bundle@{D1}"),)
    ).to_yaml()


def test_localize_an_empty_lock_is_relocated(tmp_path: Path) -> None:
    """With no image to look for, imgpkg's ``UpdateRelativeToRepo`` finds nothing missing: the bundle
    counts as relocated and images.yml is written in imgpkg's form."""
    root = tmp_path / "out"
    (root / ".imgpkg").mkdir(parents=True)
    (root / ".imgpkg/images.yml").write_text(
        "apiVersion: imgpkg.carvel.dev/v1alpha1\nkind: ImagesLock\nimages: []\n"
    )
    report = localize_bundle(root, client(FakeClient()), BUNDLE_REF)
    assert report.rewritten and report.via == "bundle-repository"
    assert (
        root / ".imgpkg/images.yml"
    ).read_text() == "---\napiVersion: imgpkg.carvel.dev/v1alpha1\nkind: ImagesLock\n"


def test_localize_requires_images_yml(tmp_path: Path) -> None:
    with pytest.raises(InvalidBundleError, match="images.yml"):
        localize_bundle(tmp_path, client(FakeClient()), BUNDLE_REF)


class _Resolved:
    def __init__(self, fake: FakeClient, repo: str, digest: str, labels: dict[str, str]) -> None:
        from imgextract.mirrors import Source

        self.client = fake
        self.digest = digest
        self.media_type = oci.DOCKER_MANIFEST
        self.config = oci.ImageConfig("", "", "", labels, ())
        self.source = Source(Reference(fake.registry, repo, digest=digest), False, False, "test")
        self.repository = repo


def test_nested_bundles_land_flat_and_deduplicated(tmp_path: Path) -> None:
    fake = FakeClient()
    inner_a, inner_b, plain = "sha256:" + "a" * 64, "sha256:" + "c" * 64, D1
    bundles = {inner_a: lock_of(inner_b, plain), inner_b: lock_of(plain)}
    for d in (inner_a, inner_b, plain):  # everything was copied beside the root bundle
        fake.manifests[("dst/bundle", d)] = (b"{}", oci.DOCKER_MANIFEST)
    root = _bundle_dir(tmp_path / "out", lock_of(inner_a, inner_b, plain))
    top = localize_bundle(root, client(fake), BUNDLE_REF)
    resolved: list[str] = []

    def resolve(ref: Reference) -> Any:
        assert ref.registry == REG and ref.repository == "dst/bundle"
        resolved.append(ref.digest or "")
        labels = {"dev.carvel.imgpkg.bundle": "true"} if ref.digest in bundles else {}
        return _Resolved(fake, ref.repository, ref.digest or "", labels)

    def extract_into(image: Any, dest: Path) -> None:
        assert dest.is_dir() and not any(dest.iterdir())
        _bundle_dir(dest, bundles[image.digest]).joinpath("content").write_text(image.digest)

    pulled = pull_nested_bundles(root, top, resolve=resolve, extract_into=extract_into)
    assert [p.path for p in pulled] == [f".imgpkg/bundles/{d.replace(':', '-')}" for d in (inner_a, inner_b)]
    assert sorted(resolved) == sorted([inner_a, inner_b, plain])  # each image looked at once
    nested = ImagesLock.parse((root / pulled[0].path / ".imgpkg/images.yml").read_bytes())
    assert [i.image for i in nested.images] == [f"{REG}/dst/bundle@{inner_b}", f"{REG}/dst/bundle@{plain}"]
    assert not (root / pulled[0].path / ".imgpkg/bundles").exists()


def test_blob_copy_prefers_present_then_mount_then_stream() -> None:
    src, dst = FakeClient(), FakeClient()
    data = b"layer-bytes"
    desc = oci.Descriptor(oci.DOCKER_LAYER, sha(data), len(data))
    src.blobs[("a/src", desc.digest)] = data
    dst.blobs[("a/src", desc.digest)] = data
    assert copy_blob(client(src), "a/src", client(dst), "b/dst", desc) == "mounted"
    assert copy_blob(client(src), "a/src", client(dst), "b/dst", desc) == "present"
    for refusal in (False, AuthError("401 on mount")):
        dst.blobs.pop(("b/dst", desc.digest))
        dst.mount_answer = refusal
        assert copy_blob(client(src), "a/src", client(dst), "b/dst", desc) == "streamed"
        assert dst.blobs[("b/dst", desc.digest)] == data
    other = FakeClient("other.io")
    assert copy_blob(client(src), "a/src", client(other), "b/dst", desc) == "streamed"
    assert not [c for c in other.calls if c[0] == "mount"]


def test_locations_image_is_tagged_twice_and_deterministic() -> None:
    fake = FakeClient()
    doc = ImageLocations((ImageLocation(f"orig.io/x@{D1}", False),))
    digest = write_locations_image(client(fake), "dst", BUNDLE, doc)
    assert fake.manifests[("dst", locations_tag(BUNDLE))] == fake.manifests[("dst", imgpkg_tag(digest))]
    assert write_locations_image(client(FakeClient()), "elsewhere", BUNDLE, doc) == digest


def test_immutable_tag_refusal_is_ignored_only_when_one_can_be_read() -> None:
    """imgpkg's ``LocationsConfigs.Save``: a refused write (immutable tags) is ignored only when the
    existing locations image can be fetched and read; otherwise the refusal stands."""
    fake = FakeClient()
    tag = locations_tag(BUNDLE)
    fake.fail_op[("put", "dst", tag)] = RegistryError("tag is immutable")
    doc = ImageLocations((ImageLocation(f"orig.io/x@{D1}", False),))
    with pytest.raises(RegistryError, match="immutable"):
        write_locations_image(client(fake), "dst", BUNDLE, doc)  # none there
    fake.manifests[("dst", tag)] = (b"{}", oci.DOCKER_MANIFEST)
    with pytest.raises(RegistryError, match="immutable"):
        write_locations_image(client(fake), "dst", BUNDLE, doc)  # there, but not an image
    without_file = fake.add_image("dst", {"other.yml": b"---\n"})
    fake.manifests[("dst", tag)] = fake.manifests[("dst", without_file)]
    with pytest.raises(RegistryError, match="immutable"):
        write_locations_image(client(fake), "dst", BUNDLE, doc)  # an image without image-locations.yml
    older = ImageLocations((ImageLocation(f"older.io/x@{D1}", False),))
    existing = fake.add_image("dst", {"image-locations.yml": older.to_yaml()})
    fake.manifests[("dst", tag)] = fake.manifests[("dst", existing)]
    assert write_locations_image(client(fake), "dst", BUNDLE, doc) == existing
