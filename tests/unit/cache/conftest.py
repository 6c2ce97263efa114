"""Fixtures of the cache tests."""

from __future__ import annotations

import pytest

from tests.unit.cache.hangs import Fifos


@pytest.fixture
def fifos() -> Fifos:
    """Plant FIFOs, and call what must not block on them (see ``Fifos.within``)."""
    return Fifos()
