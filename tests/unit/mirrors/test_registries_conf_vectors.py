"""registries-conf.json: containers/image sysregistriesv2 behaviour, case by case."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from imgextract.cli.exits import exit_code_for
from imgextract.errors import ConfigError
from imgextract.mirrors.matching import RewriteError, ref_matching_prefix, rewrite_reference
from imgextract.mirrors.shortnames import AliasError, parse_short_name_value, validate_short_name
from imgextract.reference import parse_reference
from tests.conformance import case_id, cases, conformance_dir, require
from tests.unit.mirrors.helpers import config_for_case, load_case

VECTORS = "registries-conf.json"


@pytest.mark.parametrize("case", cases(VECTORS, "config"), ids=case_id)
def test_config(case: dict[str, Any], tmp_path: Path) -> None:
    require(case)
    expect = case["expect"]
    if expect["error"]:
        with pytest.raises(ConfigError) as exc:
            load_case(case, tmp_path)
        assert exit_code_for(exc.value) == 2
        if "error_contains" in expect:
            assert expect["error_contains"] in str(exc.value)
        return
    conf = load_case(case, tmp_path)
    assert [r.as_dict() for r in conf.registries] == expect["registries"]
    assert conf.unqualified_search_registries == expect["unqualified_search_registries"]
    assert conf.credential_helpers == expect["credential_helpers"]
    assert conf.short_name_mode == expect["short_name_mode"]


def _entry_view(reg: Any) -> dict[str, Any]:
    if reg is None:
        return {
            "registry_prefix": None,
            "registry_location": None,
            "blocked": False,
            "insecure": False,
            "mirror_by_digest_only": False,
            "mirrors": [],
        }
    d = reg.as_dict()
    return {
        "registry_prefix": d["prefix"],
        "registry_location": d["location"],
        "blocked": d["blocked"],
        "insecure": d["insecure"],
        "mirror_by_digest_only": d["mirror_by_digest_only"],
        "mirrors": d["mirrors"],
    }


@pytest.mark.parametrize("case", cases(VECTORS, "lookup"), ids=case_id)
def test_lookup(case: dict[str, Any], tmp_path: Path) -> None:
    require(case)
    config = config_for_case(case, tmp_path)
    ref = parse_reference(case["reference"])
    expect = case["expect"]
    if expect.get("error"):
        # lookup-057: a wildcard prefix matched host:port, the rewrite would keep ":8443" after the mirror
        # path.  Like containers/image we refuse the pull (never emit mirror.local/redhat:8443/...).
        with pytest.raises(ConfigError):
            config.pull_sources(ref)
        return
    assert str(ref.pull_ref()) == expect["normalized_reference"]
    view = _entry_view(config.find_registry(ref.pull_ref().name))
    assert view == {k: expect[k] for k in view}
    got = [
        {"reference": str(s.reference), "insecure": s.insecure, "blocked": s.blocked}
        for s in config.pull_sources(ref)
    ]
    assert got == [{k: s[k] for k in ("reference", "insecure", "blocked")} for s in expect["pull_sources"]]


@pytest.mark.parametrize("case", cases(VECTORS, "find"), ids=case_id)
def test_find(case: dict[str, Any], tmp_path: Path) -> None:
    require(case)
    reg = config_for_case(case, tmp_path).find_registry(case["name"])
    expect = case["expect"]
    assert (reg is not None) == expect["match"]
    if reg is not None:
        assert (reg.prefix, reg.location) == (expect["registry_prefix"], expect["registry_location"])


@pytest.mark.parametrize("case", cases(VECTORS, "prefix_match"), ids=case_id)
def test_prefix_match(case: dict[str, Any]) -> None:
    require(case)
    assert ref_matching_prefix(case["name"], case["prefix"]) == case["expect_match_length"]


@pytest.mark.parametrize("case", cases(VECTORS, "rewrite"), ids=case_id)
def test_rewrite(case: dict[str, Any]) -> None:
    require(case)
    expect = case["expect"]
    if expect["error"]:
        with pytest.raises(RewriteError):
            rewrite_reference(case["reference"], case["prefix"], case["location"])
        return
    assert str(rewrite_reference(case["reference"], case["prefix"], case["location"])) == expect["result"]


@pytest.mark.parametrize("case", cases(VECTORS, "aliases"), ids=case_id)
def test_aliases(case: dict[str, Any], tmp_path: Path) -> None:
    require(case)
    conf = load_case(case, tmp_path)
    expect = case["expect"]
    if case["name"] is None:
        assert conf.short_name_mode == expect["short_name_mode"]
        return
    alias = conf.aliases.get(case["name"])
    if expect["origin"] is None:
        assert alias is None
        return
    assert alias is not None
    assert alias.value == expect["value"]
    assert alias.origin == str(conformance_dir() / expect["origin"])


@pytest.mark.parametrize("case", cases(VECTORS, "alias_value_validation"), ids=lambda c: repr(c.get("value")))
def test_alias_value_validation(case: dict[str, Any]) -> None:
    require(case)
    if case["valid"]:
        assert parse_short_name_value(case["value"]) == case["normalized"]
    else:
        with pytest.raises(AliasError):
            parse_short_name_value(case["value"])


@pytest.mark.parametrize("case", cases(VECTORS, "alias_key_validation"), ids=lambda c: repr(c.get("name")))
def test_alias_key_validation(case: dict[str, Any]) -> None:
    require(case)
    if case["valid"]:
        validate_short_name(case["name"])
    else:
        with pytest.raises(AliasError):
            validate_short_name(case["name"])
