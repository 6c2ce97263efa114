"""openshift-mirrors.json: runtime-utils EditRegistriesConfig and the pull order that results."""

from __future__ import annotations

import re
from typing import Any

import pytest

from imgextract.mirrors.conf_file import post_process
from imgextract.mirrors.config import MirrorConfig
from imgextract.mirrors.convert import (
    ConversionError,
    edit_registries_config,
    is_valid_registries_conf_scope,
    merged_mirror_sets,
    mirrors_adjusted_for_nested_scope,
    mirrors_contain_a_real_mirror,
    scope_is_nested_inside_scope,
    split_policies,
)
from imgextract.mirrors.model import Endpoint, Registry
from imgextract.mirrors.policies import MIRROR_RE, SOURCE_RE, parse_policy
from imgextract.mirrors.topo import topo_sort
from imgextract.reference import parse_reference
from tests.conformance import case_id, cases, load_vectors, require

VECTORS = "openshift-mirrors.json"


def _edit(policies: list[dict[str, Any]], insecure: list[str], blocked: list[str]) -> list[Registry]:
    registries: list[Registry] = []
    # The vectors include inputs the API server would refuse (e.g. duplicate mirrors), so no CRD validation here.
    edit_registries_config(registries, insecure, blocked, [parse_policy(p, validate=False) for p in policies])
    return registries


def _check_derived(registries: list[Registry], derived: list[dict[str, Any]]) -> None:
    config = MirrorConfig(post_process(registries))
    for sample in derived:
        ref = parse_reference(sample["reference"])
        reg = config.find_registry(ref.pull_ref().name)
        assert (reg.prefix if reg else None) == sample["matched_prefix"], sample["reference"]
        sources = config.pull_sources(ref)
        got = [{"reference": str(s.reference), "insecure": s.insecure, "blocked": s.blocked} for s in sources]
        assert got == sample["pull_sources"], sample["reference"]
        assert [str(s.reference) for s in sources if not s.blocked] == sample["try_order"]


@pytest.mark.parametrize("case", cases(VECTORS, "edit_registries_config"), ids=case_id)
def test_edit_registries_config(case: dict[str, Any]) -> None:
    require(case)
    inp = case["input"]
    registries = _edit(inp["policies"], inp["insecure_scopes"], inp["blocked_scopes"])
    assert [r.as_dict() for r in registries] == case["expect"]["registries"]
    _check_derived(registries, case["derived_pull_sources"])


@pytest.mark.parametrize("case", cases(VECTORS, "merge"), ids=case_id)
def test_merge(case: dict[str, Any]) -> None:
    require(case)
    policies = [parse_policy(p, validate=False) for p in case["input"]["policies"]]
    digest, tag = split_policies(policies)
    merged = tag if "[ImageTagMirrorSet]" in case["name"] else digest
    assert not (tag if merged is digest else digest)
    assert [
        {"source": m.source, "mirrors": list(m.mirrors), "never_contact_source": m.never_contact_source}
        for m in merged
    ] == case["expect"]["merged"]
    registries = _edit(case["input"]["policies"], [], [])
    assert [r.as_dict() for r in registries] == case["expect"]["registries"]
    _check_derived(registries, case["derived_pull_sources"])


@pytest.mark.parametrize("case", cases(VECTORS, "topo_sort"), ids=case_id)
def test_topo_sort_any_edge_order(case: dict[str, Any]) -> None:
    require(case)
    edges = [tuple(e) for e in case["edges"]]
    for i in range(max(1, len(edges))):
        rotated = edges[i:] + edges[:i]
        assert topo_sort(rotated) == case["expect_sorted"]
        assert topo_sort(list(reversed(rotated))) == case["expect_sorted"]


@pytest.mark.parametrize(
    "case", cases(VECTORS, "scope_nested"), ids=lambda c: f"{c.get('sub_scope')}-in-{c.get('super_scope')}"
)
def test_scope_is_nested_inside_scope(case: dict[str, Any]) -> None:
    require(case)
    assert scope_is_nested_inside_scope(case["sub_scope"], case["super_scope"]) is case["expect"]


@pytest.mark.parametrize("case", cases(VECTORS, "valid_scope"), ids=lambda c: repr(c.get("scope")))
def test_valid_scope(case: dict[str, Any]) -> None:
    require(case)
    assert is_valid_registries_conf_scope(case["scope"]) is case["expect"]


@pytest.mark.parametrize(
    "case", cases(VECTORS, "mirrors_contain_real_mirror"), ids=lambda c: repr(c.get("mirrors"))
)
def test_mirrors_contain_a_real_mirror(case: dict[str, Any]) -> None:
    require(case)
    assert mirrors_contain_a_real_mirror(case["source_scope"], case["mirrors"]) is case["expect"]


@pytest.mark.parametrize(
    "case",
    cases(VECTORS, "nested_scope_mirror_adjustment"),
    ids=lambda c: f"{c.get('mirrored_scope')}->{c.get('sub_scope')}",
)
def test_nested_scope_mirror_adjustment(case: dict[str, Any]) -> None:
    require(case)
    mirrors = [Endpoint(location=m) for m in case["mirrors"]]
    if case["expect"].get("error"):
        with pytest.raises(ConversionError):
            mirrors_adjusted_for_nested_scope(case["mirrored_scope"], case["sub_scope"], mirrors)
        return
    adjusted = mirrors_adjusted_for_nested_scope(case["mirrored_scope"], case["sub_scope"], mirrors)
    assert [m.location for m in adjusted] == case["expect"]["mirrors"]


def test_merged_sets_ignore_entries_without_real_mirrors() -> None:
    policy = parse_policy(
        {
            "apiVersion": "config.openshift.io/v1",
            "kind": "ImageDigestMirrorSet",
            "metadata": {"name": "x"},
            "spec": {
                "imageDigestMirrors": [
                    {"source": "a.io/ns", "mirrors": ["a.io/ns"], "mirrorSourcePolicy": "NeverContactSource"}
                ]
            },
        }
    )
    assert merged_mirror_sets(policy.entries) == []


# Our source/mirror regexes restate the CRD patterns without the ambiguous empty separator (Python's
# backtracking engine would be exponential on it); they must accept exactly the same strings.
PATTERN_SAMPLES = [
    "quay.io",
    "quay.io/ns",
    "quay.io/ns/repo",
    "localhost",
    "localhost:5000/a/b",
    "Registry.Example.com/ns",
    "quay.io/Ns",
    "quay.io/ns/",
    "quay.io//ns",
    "quay.io/a__b",
    "quay.io/a___b",
    "quay.io/a--b",
    "quay.io/a-",
    "quay.io/a.b_c-d",
    "quay.io/a._b",
    "quay.io:/ns",
    "quay.io:0/ns",
    "-quay.io",
    "quay-.io",
    "q.io/a..b",
    "*.redhat.io",
    "*.io",
    "*.redhat.io/ns",
    "*.redhat.io:443",
    "**.redhat.io",
    "*redhat.io",
    "a.*.io",
    "*",
    "http://quay.io",
    "quay.io/ns@sha256:abc",
    "quay.io/ns:tag",
    "1.2.3.4:5000/x",
    "[::1]:5000/x",
    "",
]


@pytest.mark.parametrize("value", PATTERN_SAMPLES)
def test_policy_patterns_match_crd(value: str) -> None:
    schema = load_vectors(VECTORS)["crd_schema"]
    crd = schema["ImageDigestMirrorSet"]
    assert bool(SOURCE_RE.fullmatch(value)) == bool(re.search(crd["source_pattern"], value)), value
    assert bool(MIRROR_RE.fullmatch(value)) == bool(re.search(crd["mirror_pattern"], value)), value


def test_policy_patterns_do_not_backtrack_exponentially() -> None:
    # 60 characters that almost match: the CRD regex run by Python's re would take far longer than a test run.
    hostile = "quay.io/" + "a" * 60 + "_"
    assert SOURCE_RE.fullmatch(hostile) is None
    assert MIRROR_RE.fullmatch(hostile) is None
