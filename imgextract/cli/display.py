"""What the CLI writes to the terminal: JSON on stdout, one-line summaries, logging on stderr."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click


def setup_logging(verbose: int, quiet: bool) -> None:
    """Log to stderr at the level ``-q``/``-v`` ask for, with secrets redacted."""
    from imgextract.auth.redact import RedactingFilter

    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    if verbose < 3:
        logging.getLogger("imgextract.registry.wire").setLevel(logging.WARNING)  # -vvv: every request


def emit_json(obj: Any) -> None:
    """The ``--json`` object, indented, on stdout."""
    click.echo(json.dumps(obj, indent=2, sort_keys=False))
