from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.cli import Run, run_cli


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., Run]:
    """cli(*args, env=None) -> Run, with HOME in a fresh temp dir."""
    home = tmp_path / "home"
    home.mkdir()

    def call(*args: str, env: dict[str, str] | None = None) -> Run:
        return run_cli(*args, env=env, home=home)

    return call
