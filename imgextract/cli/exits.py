"""The one place where an outcome becomes an exit code and a line on stderr.

0 ok, 1 internal error (a bug), 2 usage, 3 authentication, 4 not found, 5 integrity, 6 invalid
bundle, 7 registry unreachable or blocked, 9 local filesystem error (disk full, read-only,
permission denied under OUT or the cache); 130/143 for SIGINT/SIGTERM.
"""

from __future__ import annotations

import logging
import signal
import sys
from typing import NoReturn

import click

from imgextract.cli import signals
from imgextract.errors import ImgExtractError


def run(group: click.Group, argv: list[str] | None) -> NoReturn:
    """Run the click group, map every exception to an exit code, one line on stderr."""
    previous = signals.install()
    try:
        group.main(args=argv, prog_name="bundle-extract", standalone_mode=False)
    except signals.Terminated:
        signals.cleanup_staging()
        click.echo("bundle-extract: terminated", err=True)
        sys.exit(143)
    except ImgExtractError as exc:
        from imgextract.auth.redact import redact

        click.echo(f"bundle-extract: error: {redact(str(exc))}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        signals.cleanup_staging()
        click.echo("bundle-extract: aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:  # one line, like every other error
        if isinstance(exc, getattr(click.exceptions, "NoArgsIsHelpError", ())):  # bare group: show its help
            exc.show()
            sys.exit(2)
        see = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        click.echo(f"bundle-extract: error: {exc.format_message()}{see}".replace("\n", " "), err=True)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except KeyboardInterrupt:
        signals.cleanup_staging()
        click.echo("bundle-extract: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - the one place an unexpected bug becomes exit 1
        from imgextract.auth.redact import redact

        if signals.signalled:  # an interrupt turned into another exception (e.g. during a class definition)
            signals.cleanup_staging()
            first = signals.signalled[0]
            click.echo("bundle-extract: " + ("aborted" if first == signal.SIGINT else "terminated"), err=True)
            sys.exit(128 + first)

        click.echo(
            f"bundle-extract: internal error: {type(exc).__name__}: {redact(str(exc))} "
            "(this is a bug, please report it)",
            err=True,
        )
        if logging.getLogger().isEnabledFor(logging.DEBUG):
            import traceback

            click.echo(
                redact(traceback.format_exc()), err=True, nl=False
            )  # never a raw traceback: it may hold secrets
        sys.exit(1)
    finally:
        signals.restore(previous)
    sys.exit(0)
