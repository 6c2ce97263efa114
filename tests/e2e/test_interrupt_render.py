"""Ctrl-C (SIGINT) and SIGTERM end a command at once, at any moment: exit 130/143, one line on
stderr, nothing written to standard output, no temporary file or directory left.

Each test waits for a point the process reports itself (a retry's "retrying in" warning on
stderr, an import of click), never for a time.  The retry point needs a registry that answers
429 with a ``Retry-After``, which docker-registry never does on demand: the fault proxy in
front of it says so (the images come from the real registry).  Before the fix a worker thread
waiting out that ``Retry-After`` held the process until the last-resort timer
(:data:`imgextract.cli.signals.GRACE`, 1.5 s) cut it short, after 1.5 s and without its
clean-up; a signal landing while the command line's modules loaded printed a traceback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from regfix.pytest_plugin import PushedImage

from imgextract.cli.signals import GRACE
from tests.e2e.cli import REPO

pytestmark = pytest.mark.registry

PROMPT = 1.0
"""The orderly unwind takes some tens of milliseconds; the last-resort timer fires at GRACE."""

assert PROMPT < GRACE


def _env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REGISTRY_AUTH_FILE", "DOCKER_", "CONTAINERS_", "XDG_", "IMGPKG_"))
    }
    env.update(
        HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), PYTHONPATH=str(REPO), TMPDIR=str(home / "tmp")
    )
    return env


def _debris(home: Path) -> list[str]:
    """Temporary files and directories the process left (its TMPDIR, its cache)."""
    left = [p.name for p in (home / "tmp").iterdir()]
    cache = home / ".cache"
    if cache.exists():
        left += [
            str(p) for p in cache.rglob("*") if p.name.startswith(".tmp-") or p.name.endswith(".partial")
        ]
    return left


def _wait_for_line(proc: subprocess.Popen[str], text: str) -> list[str]:
    """Read stderr up to the line holding ``text`` (the process reports where it is)."""
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"the process ended before saying {text!r}: {''.join(seen)}")


@pytest.mark.parametrize(
    ("command", "sig", "group"),
    [
        ("render", signal.SIGINT, False),
        ("render", signal.SIGINT, True),  # a terminal's Ctrl-C: the whole foreground process group
        ("render", signal.SIGTERM, False),
        ("pull", signal.SIGINT, True),
    ],
)
def test_a_signal_while_workers_wait_to_retry_ends_the_command_at_once(
    pushed_bundle: PushedImage,
    fault_proxy: Callable[..., Any],
    tmp_path: Path,
    command: str,
    sig: int,
    group: bool,
) -> None:
    home = tmp_path / "home"
    (home / "tmp").mkdir(parents=True)
    fp = fault_proxy(pushed_bundle.registry)
    fp.plan.rate_limit_times = 2
    fp.plan.rate_limit_path = r"/manifests/" if command == "render" else r"/blobs/"
    fp.plan.retry_after = "30"  # a wait of 30 s, announced on stderr before it starts
    ref = f"{fp.host}/regfix/widget-operator-bundle:v1.4.2"
    args = (
        ["render", ref, ref, "-o", "json"]  # two references: the render's worker pool
        if command == "render"
        else ["pull", ref, "-o", str(tmp_path / "out"), "--all"]
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "imgextract", *args, "--insecure-registry", fp.host],
        env=_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        before = _wait_for_line(proc, "retrying in 30 s")
        sent = time.monotonic()
        if group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
        elapsed = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    word = "aborted" if sig == signal.SIGINT else "terminated"
    assert proc.returncode == 128 + sig, (before, err)
    assert err.strip().splitlines()[-1] == f"bundle-extract: {word}", err
    assert elapsed < PROMPT, (elapsed, err)  # the unwind, not the last-resort timer
    assert out == ""
    assert _debris(home) == []
    if command == "pull":
        assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "send",
    [
        "os.kill(os.getpid(), signal.SIGINT)",
        # landing in an exec() of a string (dataclasses make their methods so while a module
        # loads), CPython marked the interrupt unhandled and ended the process by SIGINT (-2)
        "exec('import os, signal; os.kill(os.getpid(), signal.SIGINT)', {})",
    ],
)
def test_a_signal_while_the_command_line_loads_is_exit_130_without_a_traceback(
    tmp_path: Path, send: str
) -> None:
    """SIGINT lands while click is being imported (sent by an import hook of the process itself,
    so the moment is exact): the entry point's handler is already in place.  Run with ``-m`` as
    ``python -m imgextract`` is: only then does CPython act on an interrupt it marked unhandled."""
    hook = (
        "import os, signal, sys\n"
        "class Hook:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'click':\n"
        "            sys.meta_path.remove(self)\n"
        f"            {send}\n"
        "        return None\n"
        "sys.meta_path.insert(0, Hook())\n"
        "sys.argv[0] = 'bundle-extract'\n"
        "from imgextract.cli import main\n"
        "main()\n"
    )
    home = tmp_path / "home"
    (home / "tmp").mkdir(parents=True)
    (tmp_path / "entry").mkdir()
    (tmp_path / "entry" / "hooked_entry.py").write_text(hook)
    env = _env(home)
    env["PYTHONPATH"] = f"{tmp_path / 'entry'}{os.pathsep}{env['PYTHONPATH']}"
    proc = subprocess.run(
        [sys.executable, "-m", "hooked_entry", "render", "example.invalid/x:1"],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr == "bundle-extract: aborted\n"
    assert proc.stdout == ""
