"""Shared fixtures for the auth tests: an isolated environment under tmp_path."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from imgextract.auth.redact import forget_all_secrets


@pytest.fixture(autouse=True)
def _isolated_secrets() -> Iterator[None]:
    """Secrets registered by one test (e.g. password "example") must not redact another's text."""
    forget_all_secrets()
    yield
    forget_all_secrets()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture
def env(tmp_path: Path, home: Path) -> dict[str, str]:
    """A minimal environment: HOME and XDG_RUNTIME_DIR inside tmp_path, nothing else set."""
    runtime = tmp_path / "run"
    runtime.mkdir()
    return {"HOME": str(home), "XDG_RUNTIME_DIR": str(runtime), "PATH": os.environ.get("PATH", "")}


@pytest.fixture
def write_json() -> Callable[[Path, Any], Path]:
    def write(path: Path, data: Any) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data))
        return path

    return write
