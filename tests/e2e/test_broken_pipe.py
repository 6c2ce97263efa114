"""``bundle-extract ... | head``: when standard output's reader goes away, the command ends quietly
with 141, as a process that SIGPIPE ends does (git, skopeo), not as an internal error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from regfix.catalogs import generate

from tests.e2e.cli import REPO


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_a_reader_that_stops_reading_ends_the_command_with_141(tmp_path: Path, fmt: str) -> None:
    configs = generate(60, seed=5).write(tmp_path / "configs")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "XDG_", "REGISTRY_AUTH_FILE"))}
    env.update(HOME=str(tmp_path), PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "imgextract", "render", str(configs), "-o", fmt],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(16)  # what `head -c 16` takes, then it goes away
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, err
    assert err == ""  # no "internal error", no "Exception ignored" from the exit's flush
