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


# go.yaml.in/yaml (v3 and later) decodes each file into registryConfiguration (loadAndMergeConfig):
# the rules below are that decoder's, not YAML 1.1's.


@pytest.mark.parametrize(
    "text",
    [
        "docker:\n  twice.test:\n    lookaside: https://a.test/s\n  twice.test:\n    lookaside: https://b.test/s\n",
        "docker:\n  one.test: {}\ndocker:\n  two.test: {}\n",
        "docker:\n  twice.test:\n    lookaside: https://a.test/s\n    lookaside: https://b.test/s\n",
    ],
    ids=["namespace", "top-level", "field"],
)
def test_a_key_written_twice_in_one_file_is_an_error(tmp_path: Path, text: str) -> None:
    """yaml.v3's decoder refuses a mapping key already defined in the same mapping ("mapping key
    ... already defined", "field ... already set"): the file fails to parse, it does not keep
    the last value."""
    with pytest.raises(PolicyError, match="already defined"):
        load_registries_d(_dir(tmp_path, text), env={"HOME": str(tmp_path)})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("FALSE", False),
        ("yes", True),
        ('"yes"', True),
        ("y", True),
        ("'On'", True),
        ("n", False),
        ("off", False),
        ("~", False),  # null: unset, the default applies
    ],
)
def test_use_sigstore_attachments_reads_yaml_v3_booleans(tmp_path: Path, value: str, expected: bool) -> None:
    """yaml.v3 decodes into a bool field the core booleans and, quoted or not, the YAML 1.1
    spellings y/yes/on and n/no/off."""
    d = _dir(tmp_path, f"docker:\n  b.test:\n    use-sigstore-attachments: {value}\n")
    rd = load_registries_d(d, env={"HOME": str(tmp_path)})
    assert rd.use_sigstore_attachments(parse_reference("b.test/app:1")) is expected


@pytest.mark.parametrize("value", ['"true"', "1", "[true]"])
def test_use_sigstore_attachments_refuses_what_yaml_v3_refuses(tmp_path: Path, value: str) -> None:
    """A quoted "true" is a string, and 1 an integer: neither decodes into a bool."""
    d = _dir(tmp_path, f"docker:\n  b.test:\n    use-sigstore-attachments: {value}\n")
    with pytest.raises(PolicyError, match="use-sigstore-attachments"):
        load_registries_d(d, env={"HOME": str(tmp_path)})


def test_a_lookaside_scalar_of_another_type_is_its_text(tmp_path: Path) -> None:
    """A string field takes any scalar's text: ``lookaside: 5`` is the URL "5" (no scheme), which
    fails only the images whose namespace selects it; ``lookaside: ~`` is unset."""
    d = _dir(
        tmp_path,
        "docker:\n  num.test:\n    lookaside: 5\n"
        "  unset.test:\n    lookaside: ~\n    sigstore: file:///sigs\n",
    )
    rd = load_registries_d(d, env={"HOME": str(tmp_path)})
    assert rd.lookaside_base(parse_reference("unset.test/app:1")) == "file:///sigs/app"
    with pytest.raises(PolicyError, match="unsupported lookaside URL scheme"):
        rd.lookaside_base(parse_reference("num.test/app:1"))


def test_only_the_first_yaml_document_is_read(tmp_path: Path) -> None:
    """``yaml.Unmarshal`` decodes the first document of the file; what follows is not read."""
    d = _dir(
        tmp_path,
        "docker:\n  first.test:\n    lookaside: https://first.test/s\n"
        "---\ndocker:\n  second.test:\n    lookaside: [unclosed\n",
    )
    rd = load_registries_d(d, env={"HOME": str(tmp_path)})
    assert rd.lookaside_base(parse_reference("first.test/app:1")) == "https://first.test/s/app"
    assert rd.lookaside_base(parse_reference("second.test/app:1")).startswith("file://")


def test_yaml_merge_keys_are_applied(tmp_path: Path) -> None:
    """yaml.v3 applies ``<<`` merge keys while decoding (``decoder.merge``): the merged mapping's
    fields fill the namespace, a field written beside ``<<`` wins, and of a list of merged mappings
    the earlier one wins."""
    d = _dir(
        tmp_path,
        "shared: &store\n  lookaside: https://shared.test/s\n  use-sigstore-attachments: true\n"
        "other: &other\n  lookaside: https://other.test/s\n"
        "docker:\n"
        "  merged.test:\n    <<: *store\n"
        "  overridden.test:\n    use-sigstore-attachments: false\n    <<: *store\n"
        "  listed.test:\n    <<: [*other, *store]\n",
    )
    rd = load_registries_d(d, env={"HOME": str(tmp_path)})
    merged, overridden, listed = (
        parse_reference(f"{h}.test/app:1") for h in ("merged", "overridden", "listed")
    )
    assert rd.lookaside_base(merged) == "https://shared.test/s/app" and rd.use_sigstore_attachments(merged)
    assert rd.lookaside_base(overridden) == "https://shared.test/s/app"
    assert rd.use_sigstore_attachments(overridden) is False
    assert rd.lookaside_base(listed) == "https://other.test/s/app" and rd.use_sigstore_attachments(listed)
