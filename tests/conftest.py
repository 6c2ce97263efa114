"""Test-wide setup: make the registry fixtures importable and load their pytest plugin."""

from __future__ import annotations

import sys
from pathlib import Path

_FIXTURES = Path(__file__).resolve().parent.parent / "registry-fixtures"
if str(_FIXTURES) not in sys.path:
    sys.path.insert(0, str(_FIXTURES))

pytest_plugins = ["regfix.pytest_plugin"] if (_FIXTURES / "regfix" / "pytest_plugin.py").exists() else []
