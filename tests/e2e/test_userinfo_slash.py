"""A password typed into a reference is never repeated, whatever characters it holds.

A password may hold ``/`` (and ``@``): the user information then does not end before the first
``/`` of the text, and an error that repeats the reference as typed (or suggests "use ...")
would print it.  Every command that takes a reference refuses it with a one-line error, exit
code 2, and none of the password's characters.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.cli import run_cli

SECRET = "s3cr/et-do-not-print"
DIGEST = "sha256:" + "b" * 64


@pytest.mark.parametrize(
    "ref",
    [
        f"bob:{SECRET}@127.0.0.1:5999/ns/app:1",
        f"https://bob:{SECRET}@127.0.0.1:5999/ns/app:1",
        f"docker://bob:{SECRET}@127.0.0.1:5999/ns/app@{DIGEST}",
        f"bob:{SECRET}@x@127.0.0.1:5999/ns/app",
        f"bob:pw/{SECRET}@sha256:{'c' * 64}/x",
    ],
)
@pytest.mark.parametrize("command", ["pull", "inspect"])
def test_password_with_a_slash_is_not_repeated(tmp_path: Path, command: str, ref: str) -> None:
    args = (command, ref, "-o", str(tmp_path / "out")) if command == "pull" else (command, ref)
    run = run_cli(*args, home=tmp_path)
    assert run.code == 2, run.stderr
    assert SECRET not in run.stderr
    assert "takes no user:password@" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_a_digest_is_no_user_information(tmp_path: Path) -> None:
    # a name with a digest stays a reference (refused for its transport prefix, repeated as typed)
    run = run_cli("inspect", f"docker://127.0.0.1:5999/ns/app@{DIGEST}", home=tmp_path)
    assert run.code == 2, run.stderr
    assert "takes no docker:// prefix: use 127.0.0.1:5999/ns/app@" + DIGEST in run.stderr


@pytest.mark.parametrize("host", [f"bob:{SECRET}@127.0.0.1:5000", f"http://bob:{SECRET}@127.0.0.1:5000/"])
def test_insecure_registry_with_user_information_is_refused_without_it(tmp_path: Path, host: str) -> None:
    # (before: one with a "/" was refused repeating it; one without was taken, matching nothing)
    run = run_cli("mirrors", "--insecure-registry", host, "127.0.0.1:5000/ns/app:1", home=tmp_path)
    assert run.code == 2, run.stderr
    assert SECRET not in run.stderr
    assert "takes no user:password@: use 127.0.0.1:5000" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
