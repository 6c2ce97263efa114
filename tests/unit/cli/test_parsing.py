"""The commands' parser: click's, word for word, without the fuzzy search click wastes on short options."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from imgextract.cli.parsing import Command
from imgextract.cli.pull import pull

ARGVS = [
    ["REF", "-o", "out", "-q", "--path", "/configs"],
    ["REF", "-qo", "out"],
    ["REF", "-oout", "-vv"],
    ["REF", "-o=out"],
    ["REF", "--output=out", "-r"],
    ["REF", "-o"],
    ["REF", "-x"],
    ["REF", "-qx", "-o", "out"],
    ["REF", "-o", "out", "-Q"],
    ["REF", "--outptu", "out"],
    ["REF", "--insecure-registr", "h", "-o", "out"],
    ["REF", "-output", "out"],
    ["REF", "-o", "out", "--", "-q"],
]


def _plain_copy(command: click.Command) -> click.Command:
    def show(**kw: object) -> None:
        click.echo(repr(sorted((k, v) for k, v in kw.items() if v not in (None, (), False))))

    return click.Command(command.name, params=command.params, callback=show)


@pytest.mark.parametrize("argv", ARGVS, ids=" ".join)
def test_parses_and_fails_as_click_does(argv: list[str]) -> None:
    """Values, errors and suggestions are click's own (the same parameters, click's Command vs ours)."""
    plain = _plain_copy(pull)
    ours = Command(plain.name, params=plain.params, callback=plain.callback)
    runner = CliRunner()
    want = runner.invoke(plain, argv, prog_name="pull")
    got = runner.invoke(ours, argv, prog_name="pull")
    assert (got.exit_code, got.output) == (want.exit_code, want.output)
    assert want.output


def test_a_mistyped_long_option_still_gets_suggestions() -> None:
    got = CliRunner().invoke(pull, ["REF", "--outptu", "out"], prog_name="pull")
    assert got.exit_code == 2
    assert "Did you mean" in got.output and "--output" in got.output  # (click's wording varies by version)


def test_short_options_need_no_fuzzy_search() -> None:
    """``-o OUT -q`` are matched as short options without click's suggestion search (difflib)."""
    code = (
        "import sys, click\n"
        "from imgextract.cli.pull import pull\n"
        "ctx = pull.make_context('pull', ['REF', '-o', 'out', '-q', '-v'])\n"
        "assert ctx.params['output'] == 'out' and ctx.params['quiet'], ctx.params\n"
        "print('difflib' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "False"


def test_short_options_need_no_translation_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    """Matching ``-o OUT -q`` builds no error to look up in the translation catalogue (click does,
    ~0.1 ms each, for the error it builds and drops when a short option is first tried as a long
    one; click 8.1 still looks up its help option's text while making the parser)."""
    import gettext

    looked_up: list[str] = []
    real = gettext.dgettext

    def dgettext(domain: str, message: str) -> str:
        looked_up.append(message)
        return real(domain, message)

    monkeypatch.setattr(gettext, "dgettext", dgettext)
    ctx = pull.make_context("pull", ["REF", "-o", "out", "-q", "-v"])
    assert ctx.params["output"] == "out"
    assert not [m for m in looked_up if "No such option" in m]
