"""references.json: docker/distribution's rules are the project's rules."""

from __future__ import annotations

import pytest

from imgextract.cli.exits import exit_code_for
from imgextract.errors import InvalidReference
from imgextract.reference import is_canonical, parse_any_reference, parse_raw, parse_reference
from tests.conformance import case_id, cases, require

CASES = cases("references.json", "cases")

# The vectors mark sha512 digests unsupported only because upstream's test binary lacks sha512
# (conformance README, "Known quirks"); the OCI image spec registers sha512, so we accept it.
SHA512_QUIRK = {"ref-136"}


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_normalised_parse(case: dict) -> None:
    require(case)
    if case["id"] in SHA512_QUIRK:
        ref = parse_reference(case["input"])
        assert ref.digest is not None and ref.digest.startswith("sha512:")
        return
    if not case["valid"]:
        with pytest.raises(InvalidReference) as exc:
            parse_reference(case["input"])
        assert exc.value.error_class == case["error"]
        assert exit_code_for(exc.value) == 2
        return
    ref = parse_reference(case["input"])
    assert (ref.registry, ref.repository, ref.name, ref.tag, ref.digest) == (
        case["registry"],
        case["repository"],
        case["name"],
        case["tag"],
        case["digest"],
    )
    assert str(ref) == case["normalized"]
    assert str(ref.pull_ref()) == case["pull_ref"]
    assert ref.familiar() == case["familiar"]
    assert ref.familiar_name() == case["familiar_name"]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_canonical_and_any_reference(case: dict) -> None:
    require(case)
    if case["id"] in SHA512_QUIRK:
        return
    assert is_canonical(case["input"]) == case["canonical_input"]
    try:
        got: str | None = str(parse_any_reference(case["input"]))
    except InvalidReference:
        got = None
    assert got == case["any_reference"]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_raw_parse(case: dict) -> None:
    require(case)
    if case["id"] in SHA512_QUIRK:
        return
    try:
        raw = parse_raw(case["input"])
        got = {"valid": True, "name": raw.name, "domain": raw.domain, "tag": raw.tag, "digest": raw.digest}
    except InvalidReference as exc:
        got = {"valid": False, "error": exc.error_class}
    assert got == case["raw"]
