"""imgpkg's YAML files (.imgpkg/images.yml, bundle.yml, image-locations) come from image content:
hostile YAML fails with one InvalidBundleError naming the file, never a RecursionError or a
TypeError (which the CLI reports as an internal error)."""

from __future__ import annotations

import pytest

from imgextract.errors import InvalidBundleError
from imgextract.imgpkg.locations import ImageLocations
from imgextract.imgpkg.lock import BundleLock, ImagesLock

HEAD = "apiVersion: imgpkg.carvel.dev/v1alpha1\nkind: ImagesLock\n"


@pytest.mark.parametrize(
    "body",
    [
        "images: " + "[" * 5000 + "]" * 5000 + "\n",
        "images: " + "{a: " * 5000 + "b" + "}" * 5000 + "\n",
        "images:\n" + "".join("  " * i + "- \n" for i in range(3000)),
    ],
    ids=["flow-sequences", "flow-mappings", "block-sequences"],
)
def test_nesting_too_deep_is_a_bundle_error(body: str) -> None:
    with pytest.raises(InvalidBundleError, match=r"^\.imgpkg/images\.yml: not valid YAML"):
        ImagesLock.parse(HEAD + body)


@pytest.mark.parametrize(
    "key",
    ["? [a, b]\n: x\n", "? {a: b}\n: x\n", "? &k [a]\n: x\ny: *k\n"],
    ids=["sequence", "mapping", "anchored"],
)
def test_a_collection_as_a_mapping_key_is_a_bundle_error(key: str) -> None:
    """go-yaml v2 refuses it ("invalid map key"); a Python dict cannot hold it."""
    with pytest.raises(InvalidBundleError, match="invalid map key"):
        ImagesLock.parse(HEAD + key)
    with pytest.raises(InvalidBundleError, match="invalid map key"):
        BundleLock.parse("bundle:\n  " + key.replace("\n", "\n  "))
    with pytest.raises(InvalidBundleError, match="invalid map key"):
        ImageLocations.parse(key)


def test_python_tags_construct_nothing() -> None:
    for tag in ("!!python/object/apply:os.getcwd []", "!!python/name:os.getcwd", "!custom x"):
        with pytest.raises(InvalidBundleError, match="not valid YAML"):
            ImagesLock.parse(HEAD + f"images: {tag}\n")


def _string_bomb(copies: int, size: int) -> str:
    """One annotation of ``size`` bytes, aliased ``copies`` times: a small file that expands to
    ``copies * size`` bytes, which writing the lock back (pull, copy) would spell out in full."""
    return (
        HEAD + f"images:\n- image: reg.test/aa@sha256:{'a' * 64}\n  annotations:\n"
        f"    big: &b {'x' * size}\n" + "".join(f"    k{i}: *b\n" for i in range(copies))
    )


def test_aliases_expanding_past_the_size_limit_are_refused() -> None:
    text = _string_bomb(2000, 10_000)  # 20 MB through aliases from a ~40 KB file
    assert len(text) < 100_000
    with pytest.raises(InvalidBundleError, match=r"^\.imgpkg/images\.yml: not valid YAML \(aliases expand"):
        ImagesLock.parse(text)


def test_a_few_aliases_are_fine() -> None:
    lock = ImagesLock.parse(_string_bomb(3, 100))
    assert lock.images[0].annotations["k2"] == "x" * 100


@pytest.mark.parametrize(
    "body",
    ["images: &i\n- image: x\n  annotations: *i\n", "a: &a [*a]\nimages: []\n"],
    ids=["mapping", "sequence"],
)
def test_an_anchor_containing_itself_is_refused(body: str) -> None:
    """go-yaml v2: "anchor 'i' value contains itself"."""
    with pytest.raises(InvalidBundleError, match="contains itself"):
        ImagesLock.parse(HEAD + body)
