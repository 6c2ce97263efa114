"""The one place where an outcome becomes an exit code and a line on stderr.

The library's exceptions carry no exit codes and name options as the library spells them; here
each class gets its exit status (:data:`EXIT_CODES`) and each marked option or remedy its
command-line words (:func:`cli_words`).  128+N for signals (130 SIGINT, 141 SIGPIPE: the reader of
standard output went away, 143 SIGTERM).
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import threading
from typing import NoReturn

import click

from imgextract.cli import signals
from imgextract.errors import (
    AuthError,
    ImgExtractError,
    IntegrityError,
    InvalidBundleError,
    LocalFilesystemError,
    NotFoundError,
    RegistryError,
    SignatureRefused,
    UnreachableError,
    UsageError,
    printable,
)

EXIT_CODES: tuple[tuple[type[ImgExtractError], int], ...] = (
    (UsageError, 2),  # bad flags, malformed reference, unreadable or invalid config file
    (AuthError, 3),  # authentication or authorisation failed
    (NotFoundError, 4),  # repository, tag, digest, platform or path not found
    (IntegrityError, 5),  # digest/size/diff_id mismatch, unsafe or malformed content
    (InvalidBundleError, 6),  # labels and annotations.yaml disagree, metadata missing
    (UnreachableError, 7),  # network, TLS, blocked by policy
    (RegistryError, 7),  # unexpected registry answer (5xx after retries)
    (SignatureRefused, 8),  # the signature policy refused the image
    (LocalFilesystemError, 9),  # disk full, permission denied, read-only filesystem
)
"""Exception class -> exit status, first match wins; any other ImgExtractError is 1."""

FLAGS: dict[str, str] = {
    "paths": "--path",
    "all": "--all",
    "insecure_registries": "--insecure-registry",
    "icsp_files": "--icsp-file",
    "idms_files": "--idms-file",
    "itms_files": "--itms-file",
    "output": "-o/--output",
}
"""Library option name -> flag, where the flag is not ``--`` + the name with dashes."""

CLI_REMEDIES: dict[str, str] = {
    "credentials": "; check the credentials (--creds, --authfile, --pull-secret) and that they grant access "
    "to this repository",
    "plain_http": ": if so, pass --insecure-registry {arg}",
    "tls_trust": "; trust its CA with --ca-file or --cert-dir, or skip verification with --insecure-registry {arg}",
    "platform": "; choose one with --platform",
    "explain_mirrors": "; 'bundle-extract mirrors' explains the sources",
    "paths_or_all": "pass --path P or --all, or --kind KIND for a bundle built without labels",
    "resolve_digest": " (resolve it first, e.g. with `bundle-extract inspect`)",
    "configmap_target": " (-o FILE, or -o - for stdout)",
}
"""Remedies in command-line words (the library's are in ``imgextract.errors``)."""


_INSECURE = "name the registry instead: --insecure-registry HOST[:PORT] (plain HTTP or unverified TLS for that host only)"
FOREIGN_FLAGS: dict[str, str] = {
    "--retry-times": "skopeo's count of retries; here --retry-time SECONDS bounds the time one request "
    "spends retrying (default 120)",
    "--tls-verify": _INSECURE,
    "--src-tls-verify": _INSECURE,
    "--dest-tls-verify": _INSECURE,
    "--skip-tls-verify": _INSECURE,
    "--skip-tls": _INSECURE,
    "--use-http": _INSECURE,
    "--src-creds": "use --creds USER[:PASS]",
    "--dest-creds": "use --creds USER[:PASS] (copy sends it to the --to-repo registry too)",
    "--src-authfile": "use --authfile PATH",
    "--dest-authfile": "use --authfile PATH",
    "--src-cert-dir": "use --cert-dir DIRECTORY",
    "--override-arch": "use --platform OS/ARCH[/VARIANT]",
    "--override-os": "use --platform OS/ARCH[/VARIANT]",
    "--override-variant": "use --platform OS/ARCH[/VARIANT]",
}
"""skopeo/opm/oc-mirror flags a user of those tools types -> our equivalent (instead of click's
look-alike suggestion, which for ``--retry-times`` would be ``--retry-time``: seconds, not a count)."""


def flag(name: str) -> str:
    """The command-line flag of a library option."""
    return FLAGS.get(name, "--" + name.replace("_", "-"))


def cli_words(kind: str, argument: str) -> str:
    """Render an option or remedy mark of a library message for the command line."""
    if kind == "option":
        name, eq, value = argument.partition("=")
        return f"{flag(name)} {value}" if eq else flag(name)
    from imgextract.errors import library_words

    text = CLI_REMEDIES.get(kind)
    return text.format(arg=argument) if text is not None else library_words(kind, argument)


def exit_code_for(exc: ImgExtractError) -> int:
    """The exit status for a library exception."""
    for cls, code in EXIT_CODES:
        if isinstance(exc, cls):
            return code
    return 1


def describe(exc: ImgExtractError) -> str:
    """The one-line error message, in command-line words, secrets redacted, every part of it
    (message, reference, endpoint) with control and bidi characters escaped."""
    from imgextract.auth.redact import redact

    return printable(redact(exc.render(cli_words)))


class OutputClosed(Exception):  # noqa: N818 - not an error: the reader of standard output went away
    """A command's standard output broke (its reader went away): ``run`` ends with 141."""


def run(group: click.Group, argv: list[str] | None) -> NoReturn:
    """Run the click group, map every exception to an exit code, one line on stderr."""
    previous = signals.install()
    try:
        group.main(args=argv, prog_name="bundle-extract", standalone_mode=False)
        signals.reraise()  # an interrupt swallowed on the way (a finalizer) is still an interrupt
    except signals.Terminated:
        signals.cleanup_staging()
        click.echo("bundle-extract: terminated", err=True)
        sys.exit(143)
    except ImgExtractError as exc:
        click.echo(f"bundle-extract: error: {describe(exc)}", err=True)
        sys.exit(exit_code_for(exc))
    except click.exceptions.Abort:
        signals.cleanup_staging()
        click.echo("bundle-extract: aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:  # one line, like every other error
        if isinstance(exc, getattr(click.exceptions, "NoArgsIsHelpError", ())):  # bare group: show its help
            exc.show()
            sys.exit(2)
        see = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        message = exc.format_message()
        unknown = exc.option_name if isinstance(exc, click.NoSuchOption) else ""
        hint = FOREIGN_FLAGS.get(unknown, "")
        ours = hint.partition("--")[2].split(" ")[0]
        if ours and exc.ctx is not None and any(f"--{ours}" in p.opts for p in exc.ctx.command.params):
            message = f"no option {unknown}: {hint}"
        click.echo(f"bundle-extract: error: {message}{see}".replace("\n", " "), err=True)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except KeyboardInterrupt:
        signals.cleanup_staging()
        click.echo("bundle-extract: aborted", err=True)  # (the word SIGINT gets everywhere)
        sys.exit(130)
    except (BrokenPipeError, OutputClosed):
        _stdout_gone()
    except Exception as exc:  # noqa: BLE001 - the one place an unexpected bug becomes exit 1
        from imgextract.auth.redact import redact

        if signals.signalled:  # an interrupt turned into another exception (e.g. during a class definition)
            signals.exit_interrupted()

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
    try:
        sys.stdout.flush()  # (what is still buffered: `| head` may have gone)
    except (BrokenPipeError, OutputClosed):
        _stdout_gone()
    sys.exit(0)


def _stdout_gone() -> NoReturn:
    """Standard output's reader went away (``| head``): end quietly with 141, as a process that
    SIGPIPE ends does (git, skopeo), with nothing left for the exit's own flush to fail on."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
    sys.exit(128 + signal.SIGPIPE)


def end_at_once(code: object) -> None:
    """End a command that succeeded (exit status 0) without the interpreter's teardown.

    Releasing every module's objects one by one at exit is some 10 ms of a short pull, spent
    after the work is done.  The atexit functions still run (logging's flush among them) and the
    standard streams are flushed; the kernel closes the files.  Returns, and the process exits
    as usual, after a failure, from a thread other than the main one, while another non-daemon
    thread runs (it would be joined), or when a standard stream cannot be flushed (the usual
    exit reports it)."""
    if code not in (0, None):
        return
    main = threading.main_thread()
    if threading.current_thread() is not main:
        return
    if any(t is not main and not t.daemon and t.is_alive() for t in threading.enumerate()):
        return
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    os._exit(0)
