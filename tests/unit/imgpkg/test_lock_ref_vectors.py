"""ImagesLock references against go-containerregistry's ``name.NewDigest`` (the ``ggcr.weak`` field of
the reference vectors): imgpkg validates every images.yml entry with it and spells Docker Hub
``index.docker.io``.  A string ggcr takes as a digest reference must normalise to ggcr's name; any
other (a tag reference, or invalid) is refused with imgpkg's message."""

from __future__ import annotations

import pytest

from imgextract.errors import InvalidBundleError
from imgextract.imgpkg.lock import normalize_ref
from tests.conformance import case_id, cases

REFS = cases("references.json", "cases")


@pytest.mark.parametrize("case", REFS, ids=case_id)
def test_images_lock_reference_as_ggcr_new_digest(case: dict) -> None:
    """go-containerregistry ``name.NewDigest`` (weak validation), as imgpkg ``ImagesLock.Validate`` uses it."""
    weak = case["ggcr"]["weak"]
    if weak["valid"] and weak["kind"] == "digest":
        assert normalize_ref(case["input"]) == weak["name"]
    else:
        with pytest.raises(InvalidBundleError, match="Expected ref to be in digest form"):
            normalize_ref(case["input"])
