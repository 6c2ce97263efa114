"""How the commands parse their command lines: click's parser, minus one wasted search.

click tries every option token as a long option first, and a short one (``-o OUT``, ``-q``) only
when that fails: the failure is an exception that computes, with :mod:`difflib`, the long options
the token resembles ("Did you mean --output?"), and is then dropped.  A pull with ``-o`` and ``-q``
imported difflib and ran two fuzzy searches over some forty options for nothing.  Here a token
that is not a long option and does not start with a two-character prefix (``--``) is handed to
the short-option matching at once, as click would hand it; a mistyped ``--long-option`` still gets
click's suggestions, and every message is click's own.
"""

from __future__ import annotations

from typing import Any

import click
import click.parser

# click >= 8.2 names the parser ``_OptionParser`` (``OptionParser`` before, a deprecated alias since)
_OptionParser: Any = getattr(click.parser, "_OptionParser", None) or click.parser.OptionParser


class _Parser(_OptionParser):  # type: ignore[misc]
    def _match_long_opt(self, opt: str, explicit_value: str | None, state: Any) -> None:
        if opt not in self._long_opt and opt[:2] not in self._opt_prefixes:
            # click catches this and matches the token as short options: no suggestions, and the
            # message (never shown) is click's own words without a translation lookup
            raise click.NoSuchOption(opt, message=f"No such option {opt!r}.", ctx=self.ctx)
        super()._match_long_opt(opt, explicit_value, state)


def _parser(command: click.Command, ctx: click.Context) -> Any:
    parser = _Parser(ctx)
    for param in command.get_params(ctx):
        param.add_to_parser(parser, ctx)
    return parser


class Command(click.Command):
    """Every command of ``bundle-extract`` (``@click.command(cls=Command)``): its parser skips the
    needless long-option search (see above)."""

    def make_parser(self, ctx: click.Context) -> Any:
        return _parser(self, ctx)


class Group(click.Group):
    """A group of ``bundle-extract`` commands, parsed as :class:`Command` is; its subcommands are
    :class:`Command`."""

    command_class = Command

    def make_parser(self, ctx: click.Context) -> Any:
        return _parser(self, ctx)
