"""Locate the shared conformance vectors (../shared/conformance beside the repository).

CI clones the repository with ``shared/`` beside it.  ``IMGEXTRACT_CONFORMANCE`` overrides the
location.  When the vectors are missing the tests fail under CI (``CI=true``) and are skipped,
with the reason said, on a developer machine.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def conformance_dir() -> Path:
    override = os.environ.get("IMGEXTRACT_CONFORMANCE")
    candidates = [Path(override)] if override else []
    candidates += [REPO_ROOT.parent / "shared" / "conformance", REPO_ROOT / "shared" / "conformance"]
    for c in candidates:
        if c.is_dir():
            return c
    msg = ("conformance vectors not found (looked in " + ", ".join(str(c) for c in candidates)
           + "); set IMGEXTRACT_CONFORMANCE")
    if os.environ.get("CI"):
        pytest.fail(msg, pytrace=False)
    pytest.skip(msg)


def load_vectors(name: str) -> Any:
    """Load one vector file at collection time; an empty dict when absent."""
    try:
        return json.loads((conformance_dir() / name).read_text())
    except (pytest.skip.Exception, pytest.fail.Exception):
        return {}


MISSING = {"id": "vectors-missing"}


def cases(name: str, key: str) -> list[Any]:
    """The cases under ``key`` of vector file ``name``, for ``pytest.mark.parametrize``.

    When the file is absent this returns one ``MISSING`` placeholder: a test receiving it must call
    ``require(case)``, which fails under CI and skips elsewhere, so an absent vector set never
    passes silently.
    """
    found = load_vectors(name).get(key)
    return list(found) if found else [MISSING]


def require(case: Any) -> None:
    if case is MISSING:
        conformance_dir()
        pytest.fail("conformance vector set present but empty", pytrace=False)


def case_id(case: Any) -> str:
    return str(case.get("id", "case")) if isinstance(case, dict) else "case"
