"""Load the conformance vectors kept in ``tests/data/conformance`` (see the README there).

The vectors are part of the repository: a missing or empty vector file is a test failure, never a
skip, so a clone that lost them cannot pass.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFORMANCE_DIR = Path(__file__).resolve().parent / "data" / "conformance"


def conformance_dir() -> Path:
    """The directory holding the vector files (fails loudly when it is missing)."""
    if not CONFORMANCE_DIR.is_dir():
        raise FileNotFoundError(f"conformance vectors missing: {CONFORMANCE_DIR}")
    return CONFORMANCE_DIR


def load_vectors(name: str) -> Any:
    """Load one vector file at collection time; a missing file raises (collection error)."""
    return json.loads((conformance_dir() / name).read_text())


def cases(name: str, key: str) -> list[Any]:
    """The cases under ``key`` of vector file ``name``, for ``pytest.mark.parametrize``."""
    found = load_vectors(name).get(key)
    if not found:
        raise ValueError(f"conformance vector set {name}:{key} is missing or empty")
    return list(found)


def require(case: Any) -> None:
    """Kept for the tests' call sites: every case is real now (no placeholders)."""
    assert isinstance(case, dict | list | str), case


def case_id(case: Any) -> str:
    return str(case.get("id", "case")) if isinstance(case, dict) else "case"
