"""The CLI's option groups fill the library's settings directly: every parameter is a settings name."""

from __future__ import annotations

from typing import Any

import click

from imgextract.cli.main import cli
from imgextract.cli.options import cache_options, common_options
from imgextract.settings import OPTION_NAMES

OUTPUT_ONLY = {"json_output", "quiet", "verbose"}


def _params() -> set[str]:
    @click.command()
    @cache_options
    @common_options
    def probe(**kw: Any) -> None:
        pass

    return {p.name for p in probe.params if p.name is not None}


def test_every_shared_option_is_a_setting() -> None:
    assert _params() - OUTPUT_ONLY <= OPTION_NAMES


def test_commands_that_read_registries_take_the_shared_options() -> None:
    shared = _params() - {"cache_dir", "use_cache"}
    ctx = click.Context(cli)
    commands = {name: cli.get_command(ctx, name) for name in ("pull", "inspect", "copy", "mirrors")}
    for name, command in commands.items():
        assert command is not None, name
        assert shared <= {p.name for p in command.params}, name
    for name in ("pull", "inspect"):
        assert {"cache_dir", "use_cache"} <= {p.name for p in commands[name].params}  # type: ignore[union-attr]


def test_lazy_group_reads_as_an_eager_group() -> None:
    """Commands load on demand, yet help, suggestions and errors are an eager group's, word for word
    (each invocation on a fresh group, nothing loaded beforehand)."""
    import importlib

    from click.testing import CliRunner

    from imgextract.cli.main import COMMANDS, LazyGroup

    commands = {}
    for name, spec in COMMANDS.items():
        module, _, attribute = spec.partition(":")
        commands[name] = getattr(importlib.import_module(module), attribute)
    shape: dict[str, Any] = {
        "name": cli.name,
        "params": cli.params,
        "help": cli.help,
        "context_settings": cli.context_settings,
    }
    eager = click.Group(commands=commands, **shape)
    runner = CliRunner()
    argvs = [["pul"], ["--help"], [], ["nosuch"], ["cache"], *([name, "--help"] for name in COMMANDS)]
    for argv in argvs:
        lazy = LazyGroup(lazy_commands=COMMANDS, **shape)
        want = runner.invoke(eager, argv, prog_name="bundle-extract")
        got = runner.invoke(lazy, argv, prog_name="bundle-extract")
        assert (got.exit_code, got.output) == (want.exit_code, want.output), argv
        assert want.output, argv
    assert "Did you mean 'pull'?" in runner.invoke(eager, ["pul"], prog_name="bundle-extract").output
