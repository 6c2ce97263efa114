"""The command line: the ``bundle-extract`` group and its entry point.

The CLI is a thin layer over the library: each command (one module each) parses flags into
settings, calls one library function, and renders the result; ``exits`` maps every exception to
an exit code in one place; ``signals`` turns SIGINT/SIGTERM into an orderly unwind.
"""

from __future__ import annotations

import click

from imgextract.cli import exits
from imgextract.cli.cache import cache
from imgextract.cli.catalog import catalog
from imgextract.cli.copy import copy
from imgextract.cli.inspect import inspect
from imgextract.cli.job import job
from imgextract.cli.mirrors import mirrors
from imgextract.cli.pull import pull
from imgextract.cli.render import render
from imgextract.cli.verify import verify


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bundle-extract")
def cli() -> None:
    """Pull container images from OCI registries and extract what matters, without a daemon.

    \b
    Exit codes: 0 ok, 1 internal error (a bug), 2 usage, 3 authentication,
    4 not found, 5 integrity, 6 invalid bundle, 7 registry unreachable,
    8 signature verification failed (refused by the policy).
    """


for _command in (pull, inspect, verify, render, copy, mirrors, job, cache, catalog):
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the click group, map our exceptions to exit codes, one line on stderr."""
    exits.run(cli, argv)


if __name__ == "__main__":
    main()
