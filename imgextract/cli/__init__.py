"""The ``bundle-extract`` command line (entry point ``imgextract.cli:main``)."""

from __future__ import annotations

from imgextract.cli.main import cli, main

__all__ = ["cli", "main"]
