"""The package version: the one place it is written (pyproject.toml reads it from here).

A literal, so that the User-Agent and ``imgextract.__version__`` cost no ``importlib.metadata``
lookup at start-up (that import alone took longer than the rest of the settings module)."""

VERSION = "0.1.0"
