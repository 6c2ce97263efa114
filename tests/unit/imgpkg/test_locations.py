"""The locations document: imgpkg's spelling written, both spellings read, tag names."""

from __future__ import annotations

import pytest

from imgextract.errors import InvalidBundleError
from imgextract.imgpkg.locations import ImageLocation, ImageLocations, imgpkg_tag, locations_tag
from imgextract.imgpkg.lock import ImageRef, ImagesLock

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64


def test_tags() -> None:
    assert imgpkg_tag(D1) == "sha256-" + "1" * 64 + ".imgpkg"
    assert locations_tag(D1) == "sha256-" + "1" * 64 + ".image-locations.imgpkg"


def test_for_lock_lists_images_as_images_yml_spells_them() -> None:
    """imgpkg ``Bundle.NoteCopy`` writes each ImagesLock entry's ``image`` string as it is (imgpkg's
    ``MarkAsBundle`` later compares it with images.yml verbatim), one entry per digest."""
    lock = ImagesLock(
        (
            ImageRef(f"z.io/img@{D1}"),
            ImageRef(f"dkalinin/app:v1@{D2}"),
            ImageRef(f"mirror.io/dkalinin/app@{D2}"),
        )
    )
    loc = ImageLocations.for_lock(lock, {D1: True})
    assert loc.images == (
        ImageLocation(f"mirror.io/dkalinin/app@{D2}", False),
        ImageLocation(f"z.io/img@{D1}", True),
    )
    lock = ImagesLock((ImageRef(f"z.io/img@{D1}"), ImageRef(f"dkalinin/app:v1@{D2}")))
    assert (
        ImageLocations.for_lock(lock, {D1: True}).to_yaml()
        == (
            "---\napiVersion: imgpkg.carvel.dev/v1alpha1\nimages:\n"
            f"- image: dkalinin/app:v1@{D2}\n  isBundle: false\n"
            f"- image: z.io/img@{D1}\n  isBundle: true\nkind: ImageLocations\n"
        ).encode()
    )


def test_reads_imgpkg_spelling() -> None:
    loc = ImageLocations.parse(ImageLocations((ImageLocation(f"a.io/x@{D1}", True),)).to_yaml())
    assert loc.is_bundle(D1) is True
    assert loc.is_bundle(D2) is None


def test_reads_the_seed_proposal_spelling_leniently() -> None:
    text = f"""apiVersion: imgpkg.carvel.dev/v1alpha1
kind: ImagesLocation
images:
  - image: index.docker.io/dkalinin/k8s-simple-app@{D1}
    repository: new-location
    bundle: false
  - image: localhost:5000/nested-bundle@{D2}
    bundle: true
"""
    loc = ImageLocations.parse(text)
    assert loc.is_bundle(D1) is False
    assert loc.is_bundle(D2) is True


@pytest.mark.parametrize(
    "text, message",
    [
        ("apiVersion: v1\nkind: ImageLocations\n", "Unknown version"),
        ("apiVersion: imgpkg.carvel.dev/v1alpha1\nkind: ImagesLock\n", "Unknown kind"),
        (
            "apiVersion: imgpkg.carvel.dev/v1alpha1\nkind: ImageLocations\nimages: [{image: [x], isBundle: true}]\n",
            "'image'",
        ),
        (
            "apiVersion: imgpkg.carvel.dev/v1alpha1\nkind: ImageLocations\nimages: [{image: a, isBundle: x}]\n",
            "isBundle",
        ),
    ],
)
def test_invalid_documents(text: str, message: str) -> None:
    with pytest.raises(InvalidBundleError, match=message):
        ImageLocations.parse(text)


def test_null_values_are_go_zero_values() -> None:
    """imgpkg's ``NewLocationConfigFromBytes`` decodes into ``ImageLocation{Image string; IsBundle bool}``
    with Go's encoding/json, where ``null`` leaves a field at its zero value: ``isBundle: null`` is
    false and a null entry is an empty image that is not a bundle.  Neither is an error."""
    text = (
        "apiVersion: imgpkg.carvel.dev/v1alpha1\nkind: ImageLocations\nimages:\n"
        f"- image: q.example/x@{D1}\n  isBundle: null\n- image: q.example/y@{D2}\n  isBundle: true\n-\n"
    )
    loc = ImageLocations.parse(text)
    assert [(e.image, e.is_bundle) for e in loc.images] == [
        (f"q.example/x@{D1}", False),
        (f"q.example/y@{D2}", True),
        ("", False),
    ]
    assert loc.is_bundle(D1) is False


def test_written_entries_are_sorted_by_image_whatever_the_given_order() -> None:
    """imgpkg ``ImageLocationsConfig.AsBytes`` sorts ``images`` by ``image`` before marshalling, so the
    document (and the locations image digest) does not depend on the order it was built in."""
    given = ImageLocations(
        (
            ImageLocation(f"q.example/zeta@{D1}", False),
            ImageLocation(f"q.example/alpha@{D2}", True),
            ImageLocation(f"q.example/mid@{D1}", False),
        )
    )
    text = given.to_yaml().decode()
    assert text.index("alpha@") < text.index("mid@") < text.index("zeta@")
    assert ImageLocations.parse(text).images == tuple(sorted(given.images, key=lambda e: e.image))


def test_a_bundle_without_images_writes_images_null() -> None:
    """imgpkg's ``ImageLocationsConfig`` has ``Images []ImageLocation `json:"images"``` (no omitempty);
    ``NoteCopy`` appends to a nil slice, so a bundle listing no images marshals ``images: null``, and
    such a bundle gets the same image-locations.yml as imgpkg writes."""
    assert ImageLocations(()).to_yaml() == (
        b"---\napiVersion: imgpkg.carvel.dev/v1alpha1\nimages: null\nkind: ImageLocations\n"
    )
    assert ImageLocations.parse(ImageLocations(()).to_yaml()).images == ()
