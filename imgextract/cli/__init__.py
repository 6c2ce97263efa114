"""The ``bundle-extract`` command line (entry point ``imgextract.cli:main``).

:func:`main` pauses the garbage collector before the command line's modules load (see
:mod:`imgextract.cli.collector`): importing this package loads nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imgextract.cli.main import cli

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point of the process (the console script, ``python -m imgextract``): run the
    ``bundle-extract`` group (see :func:`imgextract.cli.main.main`); a command that succeeded
    ends the process at once (:func:`imgextract.cli.exits.end_at_once`)."""
    from imgextract.cli import collector, signals

    previous = signals.install()  # first: a Ctrl-C while the command line loads ends it as later
    collector.pause()  # before click and the command's modules: their objects are long-lived
    try:
        from imgextract.cli.main import main as run

        run(argv)
    except SystemExit as done:
        from imgextract.cli.exits import end_at_once

        end_at_once(done.code)  # (returns when the usual exit is needed)
        raise
    except BaseException:
        if not signals.signalled:  # (exits.run maps every other exception)
            raise
        signals.exit_interrupted()  # received while the command line's modules loaded
    finally:
        signals.restore(previous)  # (an in-process caller gets its handlers back)


def __getattr__(name: str) -> Any:
    if name == "cli":
        from imgextract.cli.main import cli

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
