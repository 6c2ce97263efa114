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
    for name in ("pull", "inspect", "copy", "mirrors"):
        command = cli.commands[name]
        assert shared <= {p.name for p in command.params}, name
    for name in ("pull", "inspect"):
        assert {"cache_dir", "use_cache"} <= {p.name for p in cli.commands[name].params}
