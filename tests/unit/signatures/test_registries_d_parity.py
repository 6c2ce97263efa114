"""registries.d lookaside resolution as containers/image does it (docker/registries_d.go), with
configurations of our own."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgextract.reference import parse_reference
from imgextract.signatures import PolicyError, load_registries_d


def _dir(tmp_path: Path, text: str) -> Path:
    d = tmp_path / "registries.d"
    d.mkdir()
    (d / "sigs.yaml").write_text(text)
    return d


def test_trailing_slash_of_the_lookaside_is_kept(tmp_path: Path) -> None:
    """``lookasideStorageBaseURL`` appends "/" + the repository path to the URL's path as written:
    a configured trailing slash gives a double slash in the URL skopeo requests."""
    d = _dir(tmp_path, "docker:\n  sigs.test:\n    lookaside: https://store.test/sigs/\n")
    rd = load_registries_d(d, env={"HOME": str(tmp_path)})
    assert rd.lookaside_base(parse_reference("sigs.test/team/app:1")) == "https://store.test/sigs//team/app"


def test_unusable_lookaside_fails_only_the_images_it_serves(tmp_path: Path) -> None:
    """``loadAndMergeConfig`` does not check URL schemes; a namespace whose lookaside cannot be read
    fails when an image of that namespace reads its signatures ("Unsupported scheme"), and the
    configuration stays usable for every other registry."""
    d = _dir(
        tmp_path,
        "docker:\n  odd.test:\n    lookaside: ftp://store.test/sigs\n"
        "  good.test:\n    lookaside: https://store.test/good\n",
    )
    rd = load_registries_d(d, env={"HOME": str(tmp_path)})
    assert rd.lookaside_base(parse_reference("good.test/app:1")) == "https://store.test/good/app"
    with pytest.raises(PolicyError, match="unsupported lookaside URL scheme 'ftp'"):
        rd.lookaside_base(parse_reference("odd.test/app:1"))
