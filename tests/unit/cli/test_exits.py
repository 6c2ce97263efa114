"""Exit codes and flag wording live in one place (``imgextract.cli.exits``), not in the library."""

from __future__ import annotations

import pytest

from imgextract import errors
from imgextract.cli.exits import CLI_REMEDIES, EXIT_CODES, cli_words, describe, exit_code_for
from imgextract.errors import LIBRARY_REMEDIES, option, remedy


@pytest.mark.parametrize(
    ("cls", "code"),
    [
        (errors.ImgExtractError, 1),
        (errors.UsageError, 2),
        (errors.InvalidReference, 2),
        (errors.ConfigError, 2),
        (errors.AuthError, 3),
        (errors.NotFoundError, 4),
        (errors.IntegrityError, 5),
        (errors.LimitExceeded, 5),
        (errors.ContentMismatch, 5),
        (errors.DecompressionLimit, 5),
        (errors.InvalidBundleError, 6),
        (errors.UnreachableError, 7),
        (errors.RegistryError, 7),
        (errors.SignatureRefused, 8),
        (errors.LocalFilesystemError, 9),
    ],
)
def test_exit_code_of_every_class(cls: type[errors.ImgExtractError], code: int) -> None:
    assert exit_code_for(cls("x")) == code


def test_the_library_carries_no_exit_codes() -> None:
    for name in errors.__all__:
        value = getattr(errors, name)
        if isinstance(value, type):
            assert not hasattr(value, "exit_code"), name


def test_try_the_next_source_classes_share_a_base() -> None:
    for cls in (errors.AuthError, errors.NotFoundError, errors.IntegrityError, errors.UnreachableError):
        assert issubclass(cls, errors.SourceError)
    assert not issubclass(errors.UsageError, errors.SourceError)
    assert not issubclass(errors.InvalidBundleError, errors.SourceError)


def test_a_bad_copy_is_told_apart_by_class_not_by_message() -> None:
    # a pull retries a layer from the next source only for a ContentMismatch (a bomb cap counts:
    # the digest is known only at the end); other integrity errors are final
    assert issubclass(errors.DecompressionLimit, errors.LimitExceeded)
    assert issubclass(errors.DecompressionLimit, errors.ContentMismatch)
    assert not issubclass(errors.LimitExceeded, errors.ContentMismatch)
    assert issubclass(errors.ContentMismatch, errors.IntegrityError)


def test_every_remedy_has_library_and_cli_words() -> None:
    assert set(LIBRARY_REMEDIES) == set(CLI_REMEDIES)
    for kind in LIBRARY_REMEDIES:
        assert "--" not in LIBRARY_REMEDIES[kind] and "bundle-extract" not in LIBRARY_REMEDIES[kind]


def test_marks_render_in_library_terms_and_in_flags() -> None:
    exc = errors.UsageError(
        f"output x is not empty (use {option('force')} to replace it); {option('format', 'configmap')} "
        f"and {option('paths')}{remedy('plain_http', 'h:5000')}",
        reference="r",
    )
    assert str(exc) == (
        "output x is not empty (use force to replace it); format='configmap' and paths: if so, add h:5000 "
        "to insecure_registries (reference r)"
    )
    assert exc.message.startswith("output x is not empty (use force")
    assert describe(exc) == (
        "output x is not empty (use --force to replace it); --format configmap and --path: if so, pass "
        "--insecure-registry h:5000 (reference r)"
    )
    assert cli_words("option", "insecure_registries") == "--insecure-registry"
    assert cli_words("option", "ca_file") == "--ca-file"


def test_table_order_puts_subclasses_first() -> None:
    seen: list[type[errors.ImgExtractError]] = []
    for cls, _code in EXIT_CODES:
        assert not any(issubclass(cls, earlier) for earlier in seen), cls
        seen.append(cls)


def test_every_part_of_the_error_line_is_escaped() -> None:
    """The reference (a catalog-chosen image) and the endpoint are shown as safely as the message."""
    evil = "\x1b]0;pwned\x07\x1b[2J\u202e\t"
    exc = errors.NotFoundError(
        f"manifest {evil} not found", reference=f"r.example/p:v1{evil}", endpoint=f"h{evil}"
    )
    for line in (describe(exc), str(exc)):
        assert line.isprintable(), line
        assert line.count("\\x1b]0;pwned\\x07\\x1b[2J\\u202e\\t") == 3, line
    assert describe(exc).endswith(
        "(reference r.example/p:v1\\x1b]0;pwned\\x07\\x1b[2J\\u202e\\t, endpoint h\\x1b]0;pwned\\x07\\x1b[2J\\u202e\\t)"
    )


def test_an_unexpected_exception_is_exit_1_one_redacted_line(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Exit code 1: "unexpected internal error (a bug: report it)": one line on stderr, nothing on
    stdout, no traceback unless debugging, and no ``user:password@`` from the exception's text."""
    import logging

    import click

    from imgextract.cli.exits import run

    caplog.set_level(logging.WARNING)  # not debugging, whatever an earlier test configured

    @click.group()
    def group() -> None:
        pass

    @group.command()
    def boom() -> None:
        raise RuntimeError("lost track of https://bob:s3cret-pass@registry.example.test/v2/")

    with pytest.raises(SystemExit) as exc:
        run(group, ["boom"])
    assert exc.value.code == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert "internal error: RuntimeError" in err and "report it" in err
    assert "s3cret-pass" not in err and "Traceback" not in err


def _codes_in(text: str) -> set[int]:
    import re

    return {int(n) for n in re.findall(r"(?<![\w.-])(\d{1,3})(?=[ /])", text)}


def test_top_level_help_lists_every_exit_code_the_cli_returns() -> None:
    """``bundle-extract --help`` names every status ``run`` can end with, the local filesystem's 9
    and the signals' 130/143 included, and the README's exit-code section names the same ones."""
    from pathlib import Path

    from imgextract.cli.main import cli

    help_text = cli.help or ""
    section = help_text[help_text.index("Exit codes:") :]
    expected = {0, 1, 130, 141, 143} | {code for _, code in EXIT_CODES}
    assert _codes_in(section) == expected
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    start = readme.index("## Exit codes")
    readme_section = readme[start : readme.index("\n## ", start + 1)]
    assert _codes_in(readme_section.split("On failure")[0]) == expected


@pytest.mark.parametrize(
    ("flag", "ours"),
    [
        ("--retry-times=3", "--retry-time SECONDS"),
        ("--tls-verify=false", "--insecure-registry HOST[:PORT]"),
        ("--src-tls-verify=false", "--insecure-registry HOST[:PORT]"),
        ("--skip-tls-verify", "--insecure-registry HOST[:PORT]"),
        ("--use-http", "--insecure-registry HOST[:PORT]"),
        ("--src-creds=a:b", "--creds USER[:PASS]"),
        ("--src-authfile=x", "--authfile PATH"),
        ("--override-arch=arm64", "--platform OS/ARCH[/VARIANT]"),
    ],
)
def test_a_skopeo_or_opm_flag_gets_our_equivalent(
    flag: str, ours: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """skopeo/opm/oc-mirror users type their flags: the error names ours (and what differs), not a
    look-alike such as --retry-time for skopeo's --retry-times (seconds, not a count)."""
    from imgextract.cli.exits import run
    from imgextract.cli.main import cli

    with pytest.raises(SystemExit) as ended:
        run(cli, ["pull", "localhost:5000/x:v1", "-o", "out", flag])
    assert ended.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("bundle-extract: error: ")
    assert flag.split("=")[0] in err and ours in err and "Did you mean" not in err
