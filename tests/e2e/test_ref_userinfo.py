"""A password typed into REF (``https://user:pass@host/repo``) never comes back on the terminal.

containers/image and docker refuse such a string as an invalid reference; we refuse it too, and
the hint that tells the user what to type instead must not repeat the password (the house rule:
credentials never appear in output).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.cli import run_cli

SECRET = "hunter2-not-for-the-terminal"


@pytest.mark.parametrize(
    "ref",
    [
        f"https://bob:{SECRET}@quay.io/ns/app:v1",
        f"docker://bob:{SECRET}@quay.io/ns/app",
        f"bob:{SECRET}@quay.io/ns/app",
        f"HTTP://{SECRET}@localhost:5000/app",
    ],
)
def test_userinfo_in_ref_is_refused_without_echoing_it(tmp_path: Path, ref: str) -> None:
    """distribution/reference ``ParseNormalizedNamed`` refuses ``@`` in the domain; our message
    names the problem and the reference to type, with the user information left out."""
    run = run_cli("mirrors", ref, home=tmp_path)
    assert run.code == 2, run.stderr
    assert SECRET not in run.stderr + run.stdout
    assert "quay.io/ns/app" in run.stderr or "localhost:5000/app" in run.stderr
    assert "user:password@" in run.stderr


def test_userinfo_in_copy_destination_is_not_echoed(tmp_path: Path) -> None:
    """The same for ``copy --to-repo``: the destination is typed by the user too."""
    run = run_cli("copy", "localhost:1/src", "--to-repo", f"bob:{SECRET}@quay.io/dst", home=tmp_path)
    assert run.code == 2, run.stderr
    assert SECRET not in run.stderr + run.stdout
    assert "quay.io/dst" in run.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("render", f"bob:{SECRET}@quay.io/ns/app:v1"),
        (
            "job",
            "--namespace",
            "ns",
            "--image",
            "quay.io/tools/bundle-extract:1",
            f"bob:{SECRET}@quay.io/ns/app:v1",
        ),
    ],
)
def test_userinfo_in_render_and_job_refs_is_not_echoed(tmp_path: Path, args: tuple[str, ...]) -> None:
    """``render REF`` and ``job REF`` take references the user typed too."""
    run = run_cli(*args, home=tmp_path)
    assert run.code == 2, run.stderr
    assert SECRET not in run.stderr + run.stdout
    assert "quay.io/ns/app:v1" in run.stderr
