"""ImagesLock / BundleLock against imgpkg master's ``lockconfig`` package, rule by rule.

imgpkg reads both files with ``yaml.UnmarshalStrict`` (sigs.k8s.io/yaml, Go's ``encoding/json``
with unknown fields refused), then ``Validate``; ``NewImagesLockFromBytes`` and
``NewBundleLockFromBytes`` wrap the two steps' errors in "Unmarshaling images lock: ..." and
"Validating images lock: ...".  The data below is ours.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from imgextract.errors import InvalidBundleError
from imgextract.imgpkg.lock import BundleLock, ImagesLock

D = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
LOCK = "apiVersion: imgpkg.carvel.dev/v1alpha1\nkind: ImagesLock\n"
BLOCK = "apiVersion: imgpkg.carvel.dev/v1alpha1\nkind: BundleLock\n"


def test_bundle_lock_with_other_tags_is_read() -> None:
    """imgpkg ``lockconfig.BundleRef`` has ``OtherTags string `json:"otherTags,omitempty"```, which
    ``imgpkg push --additional-tags a,b --lock-output`` fills with the tags joined by commas; such a
    BundleLock is valid, and ``NewBundleLockFromBytes`` reads it."""
    text = (
        "---\napiVersion: imgpkg.carvel.dev/v1alpha1\nbundle:\n"
        f"  image: registry.example/team/cfg@{D}\n  otherTags: stable,2.3\n  tag: 2.3.1\nkind: BundleLock\n"
    )
    lock = BundleLock.parse(text)
    assert lock == BundleLock(f"registry.example/team/cfg@{D}", "2.3.1", "stable,2.3")
    assert lock.to_yaml().decode() == text


def test_bundle_lock_without_other_tags_writes_none() -> None:
    """``omitempty``: ``BundleLock.AsBytes`` leaves ``otherTags`` out when it is empty."""
    out = BundleLock(f"registry.example/team/cfg@{D}", "v1").to_yaml()
    assert b"otherTags" not in out
    assert BundleLock.parse(out).other_tags is None


@pytest.mark.parametrize(
    "parse, text, message",
    [
        (ImagesLock.parse, LOCK + "colour: blue\n", 'Unmarshaling images lock: unknown field "colour"'),
        (
            ImagesLock.parse,
            LOCK + f"images:\n- image: q.example/aa@{D}\n  digest: x\n",
            'Unmarshaling images lock: unknown field "digest"',
        ),
        (BundleLock.parse, BLOCK + "colour: blue\n", 'Unmarshaling bundle lock: unknown field "colour"'),
        (
            BundleLock.parse,
            BLOCK + f"bundle:\n  image: q.example/aa@{D}\n  tags: x\n",
            'Unmarshaling bundle lock: unknown field "tags"',
        ),
    ],
)
def test_unknown_fields_are_named_as_go_names_them(
    parse: Callable[..., object], text: str, message: str
) -> None:
    """``yaml.UnmarshalStrict`` refuses an unknown key with encoding/json's
    ``json: unknown field "NAME"`` (Go's %q quoting), wrapped by ``NewImagesLockFromBytes`` /
    ``NewBundleLockFromBytes`` in "Unmarshaling images lock: " / "Unmarshaling bundle lock: "."""
    with pytest.raises(InvalidBundleError) as err:
        parse(text)
    assert message in str(err.value)


@pytest.mark.parametrize(
    "parse, text, message",
    [
        (
            ImagesLock.parse,
            LOCK + "images:\n- image: q.example/a:v2\n",
            "Validating images lock: Expected ref to be in digest form, got 'q.example/a:v2'",
        ),
        (
            ImagesLock.parse,
            "apiVersion: imgpkg.carvel.dev/v9\nkind: ImagesLock\n",
            "Validating images lock: Validating apiVersion: Unknown version (known: imgpkg.carvel.dev/v1alpha1)",
        ),
        (
            ImagesLock.parse,
            "apiVersion: imgpkg.carvel.dev/v1alpha1\nkind: ImageLock\n",
            "Validating images lock: Validating kind: Unknown kind (known: ImagesLock)",
        ),
        (
            BundleLock.parse,
            BLOCK + "bundle:\n  image: q.example/a:v2\n",
            "Validating bundle lock: Expected ref to be in digest form, got 'q.example/a:v2'",
        ),
        (
            BundleLock.parse,
            "apiVersion: imgpkg.carvel.dev/v1alpha1\nkind: ImagesLock\nbundle: {}\n",
            "Validating bundle lock: Validating kind: Unknown kind (known: BundleLock)",
        ),
    ],
)
def test_validation_errors_carry_imgpkg_wording(
    parse: Callable[..., object], text: str, message: str
) -> None:
    """``ImagesLock.Validate`` / ``BundleLock.Validate`` messages, wrapped as
    ``NewImagesLockFromBytes`` / ``NewBundleLockFromBytes`` wrap them."""
    with pytest.raises(InvalidBundleError) as err:
        parse(text)
    assert message in str(err.value)


def test_unknown_field_is_reported_before_validation() -> None:
    """``NewImagesLockFromBytes`` unmarshals the whole document before ``Validate``: a lock with a wrong
    apiVersion and an unknown key inside an entry fails on the unknown key, and one with a tag
    reference first and an unknown key in a later entry fails on the unknown key too."""
    wrong_version = f"apiVersion: v0\nkind: ImagesLock\nimages:\n- image: q.example/aa@{D}\n  where: x\n"
    tag_first = LOCK + f"images:\n- image: q.example/a:v2\n- image: q.example/bb@{D}\n  where: x\n"
    for text in (wrong_version, tag_first):
        with pytest.raises(InvalidBundleError, match='unknown field "where"'):
            ImagesLock.parse(text)


@pytest.mark.parametrize(
    "parse, text",
    [
        (BundleLock.parse, BLOCK),
        (BundleLock.parse, BLOCK + "bundle:\n"),
        (ImagesLock.parse, LOCK + "images:\n-\n"),
    ],
)
def test_null_or_missing_objects_are_empty_and_fail_on_the_digest(
    parse: Callable[..., object], text: str
) -> None:
    """Go leaves a struct absent or ``null`` in JSON at its zero value: ``bundle`` missing or null, or
    a null entry of ``images``, is an image "" that ``Validate`` refuses with
    "Expected ref to be in digest form, got ''"."""
    with pytest.raises(InvalidBundleError, match="Expected ref to be in digest form, got ''"):
        parse(text)


def test_only_the_first_yaml_document_is_read() -> None:
    """sigs.k8s.io/yaml ``Unmarshal`` (go-yaml v2) decodes the first document of the file and never
    looks at the others: a lock followed by another document, even one that is no lock, is the
    first document's lock, as imgpkg's ``NewImagesLockFromBytes`` reads it."""
    text = LOCK + f"images:\n- image: q.example/aa@{D}\n---\nkind: Something\nother: [1, 2]\n"
    assert [i.image for i in ImagesLock.parse(text).images] == [f"q.example/aa@{D}"]
    text = BLOCK + f"bundle:\n  image: q.example/aa@{D}\n---\n---\napiVersion: v9\n"
    assert BundleLock.parse(text).image == f"q.example/aa@{D}"


def test_an_empty_first_document_is_an_empty_lock() -> None:
    """go-yaml v2 decodes an empty first document as nothing: every field keeps its zero value and
    ``Validate`` refuses the empty apiVersion; the second document is not read."""
    with pytest.raises(InvalidBundleError, match="Unknown version"):
        ImagesLock.parse("---\n---\n" + LOCK)


def test_field_names_match_without_regard_to_case_as_encoding_json() -> None:
    """sigs.k8s.io/yaml hands the document to encoding/json, which fills a struct field from the key
    equal to its name, else from one equal under Unicode case folding (``KIND``, ``Images``; the
    Kelvin sign folds to k); such a lock is valid in imgpkg, ``UnmarshalStrict`` or not."""
    text = (
        "APIVERSION: imgpkg.carvel.dev/v1alpha1\n\u212aind: ImagesLock\n"
        f"Images:\n- Image: q.example/aa@{D}\n  Annotations: {{team: blue}}\n"
    )
    (image,) = ImagesLock.parse(text).images
    assert (image.image, dict(image.annotations)) == (f"q.example/aa@{D}", {"team": "blue"})
    bundle = "ApiVersion: imgpkg.carvel.dev/v1alpha1\nkind: BundleLock\nBUNDLE:\n"
    lock = BundleLock.parse(bundle + f"  IMAGE: q.example/aa@{D}\n  Tag: v1\n  OTHERTAGS: a,b\n")
    assert lock == BundleLock(f"q.example/aa@{D}", "v1", "a,b")


def test_keys_equal_under_folding_are_applied_in_sorted_order_last_wins() -> None:
    """sigs.k8s.io/yaml gives encoding/json an object with sorted keys, and each key sets its field in
    turn: of ``image`` and ``Image`` the later in byte order, ``image``, is the value."""
    other = "sha256:" + "f" * 64
    text = LOCK + f"images:\n- image: q.example/aa@{D}\n  Image: q.example/bb@{other}\n"
    assert [i.image for i in ImagesLock.parse(text).images] == [f"q.example/aa@{D}"]


def test_a_key_that_folds_to_no_field_is_unknown() -> None:
    """Folding is Unicode simple folding (Go's ``EqualFold``), not a lookalike match: a dotted
    capital I is not ``i``."""
    with pytest.raises(InvalidBundleError, match='unknown field "\u0130mages"'):
        ImagesLock.parse(LOCK + "\u0130mages: []\n")


def test_locations_fields_match_without_regard_to_case() -> None:
    """imgpkg reads image-locations.yml with sigs.k8s.io/yaml ``Unmarshal``: the same case-folded
    field matching, unknown keys ignored."""
    from imgextract.imgpkg.locations import ImageLocations

    doc = ImageLocations.parse(
        "ApiVersion: imgpkg.carvel.dev/v1alpha1\nKIND: ImageLocations\n"
        f"Images:\n- IMAGE: q.example/aa@{D}\n  IsBundle: true\n  note: x\n"
    )
    assert [(e.image, e.is_bundle) for e in doc.images] == [(f"q.example/aa@{D}", True)]
