"""The two readers of concatenated JSON (a plain bundle's JSON manifests, a catalog's JSON files)
read every case of :mod:`jsonstream_cases` as they did before they shared
:mod:`imgextract.oci.jsonstream`: the outcomes in ``jsonstream_outcomes.json`` were recorded from
the readers each module had of its own, at every read size of the harness and at each split
offset (one outcome where all agree; else one per read size and offset, in that order).

Where the outcome depends on the read boundaries it is recorded so: which error a value past the
bound gets, whether ``1e400`` cut after ``1e`` reads as the number 1, are the readers' behaviour
as it was, kept.  Regenerate the file only for a change of behaviour meant as one.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from imgextract.bundles import plain
from imgextract.catalog import fbc
from tests.unit.oci import jsonstream_cases as cases

EXPECTED = json.loads((Path(__file__).parent / "jsonstream_outcomes.json").read_text())
CASES = cases.regression_cases()
READERS: dict[str, ModuleType] = {"plain": plain, "fbc": fbc}


def test_the_recorded_cases_are_the_generated_ones() -> None:
    for kind in READERS:
        assert sorted(EXPECTED[kind]) == sorted(CASES)


@pytest.mark.parametrize("kind", sorted(READERS))
def test_outcomes_are_the_recorded_ones(kind: str) -> None:
    wrong = []
    for name, data in CASES.items():
        got = cases.outcomes(kind, READERS[kind], data, cases.regression_splits(data))
        want = EXPECTED[kind][name]
        if got != (want if isinstance(want, list) else [want] * len(got)):
            wrong.append((name, sorted(set(got) - ({want} if isinstance(want, str) else set(want)))))
    assert not wrong, wrong[:5]


def test_the_cases_reach_both_successes_and_every_kind_of_failure() -> None:
    """(Else the comparison would prove little.)"""
    seen = " ".join(v if isinstance(v, str) else " ".join(v) for t in EXPECTED.values() for v in t.values())
    for outcome in (
        "ok [(0, 'olm.bundle'",
        "ok 3",
        "larger than 400 bytes",
        "a JSON value is larger than 400 characters",
        "invalid JSON: number out of range",
        "is not valid JSON: maximum recursion depth exceeded",
        "invalid JSON: Unterminated string",
        "is not valid JSON: Expecting",
        "\ufffd",
        "cannot unmarshal number",
    ):
        assert outcome in seen, outcome
