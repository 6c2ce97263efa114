"""The command line: the ``bundle-extract`` group and its entry point.

The CLI is a thin layer over the library: each command (one module each) parses flags into
settings, calls one library function, and renders the result; ``exits`` maps every exception to
an exit code in one place; ``signals`` turns SIGINT/SIGTERM into an orderly unwind.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from imgextract.cli import collector, exits
from imgextract.layers import memory

COMMANDS = {
    "cache": "imgextract.cli.cache:cache",
    "catalog": "imgextract.cli.catalog:catalog",
    "copy": "imgextract.cli.copy:copy",
    "inspect": "imgextract.cli.inspect:inspect",
    "job": "imgextract.cli.job:job",
    "mirrors": "imgextract.cli.mirrors:mirrors",
    "pull": "imgextract.cli.pull:pull",
    "render": "imgextract.cli.render:render",
    "verify": "imgextract.cli.verify:verify",
}
"""Command name -> ``module:attribute`` of its click command (one module per command)."""


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command is needed.

    ``bundle-extract pull`` loads ``imgextract.cli.pull`` and nothing of render, catalog, job or
    verify; listing the commands (``--help``) loads them all, so help reads as an eager group's."""

    def __init__(self, *args: Any, lazy_commands: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            module, _, attribute = self.lazy_commands[cmd_name].partition(":")
            # an import statement's path: `python -X importtime` logs it (import_module bypasses it)
            __import__(module)
            self.add_command(getattr(sys.modules[module], attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        # click ends a command whose output pipe broke with a bare exit 1: hand it to exits.run
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise exits.OutputClosed from None

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        # an unknown name: click suggests close names from the loaded commands, so load them all
        if args and args[0] not in self.lazy_commands:
            for name in self.lazy_commands:
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bundle-extract")
def cli() -> None:
    """Pull container images from OCI registries and extract what matters, without a daemon.

    \b
    Exit codes: 0 ok, 1 internal error (a bug), 2 usage, 3 authentication,
    4 not found, 5 integrity, 6 invalid bundle, 7 registry unreachable,
    8 signature verification failed (refused by the policy),
    9 local filesystem error (disk full, read-only, permission denied),
    130/143 interrupted (SIGINT/SIGTERM), 141 standard output closed by its reader (SIGPIPE).
    """


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the click group, map our exceptions to exit codes, one line on stderr."""
    collector.pause()  # until the command's modules are loaded (see imgextract.cli.collector)
    memory.allow_process_tuning()  # the process is ours: big layers may tune malloc
    try:
        exits.run(cli, argv)
    finally:
        collector.skip_final_collection()


if __name__ == "__main__":
    main()
