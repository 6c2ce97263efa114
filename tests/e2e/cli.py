"""Run the CLI as a subprocess, as users and scripts do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_cli(
    *args: str, env: dict[str, str] | None = None, home: Path | None = None, timeout: float = 120
) -> Run:
    """``bundle-extract ARGS`` in a subprocess with an isolated HOME (no stray credentials or config)."""
    full_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REGISTRY_AUTH_FILE", "DOCKER_", "CONTAINERS_", "XDG_", "IMGPKG_"))
    }
    if home is not None:
        full_env["HOME"] = str(home)
        full_env["XDG_CACHE_HOME"] = str(home / ".cache")
    full_env["PYTHONPATH"] = str(REPO)
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "imgextract", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def run_on_terminal(*args: str, home: Path, terminal: str, env: dict[str, str]) -> tuple[int, str, bytes]:
    """``bundle-extract ARGS`` with ``terminal`` ("stdout" or "stderr") on a pseudo-terminal and the
    other stream a pipe, as a user's shell has it: exit code, the piped text, the terminal's bytes.
    ``env`` adds to an isolated environment (HOME, TERM=xterm, no stray credentials)."""
    import pty

    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("REGISTRY_AUTH_FILE", "DOCKER_", "XDG_"))
    }
    full_env.update(HOME=str(home), PYTHONPATH=str(REPO), TERM="xterm", **env)
    full_env.pop("NO_COLOR", None)  # what a terminal shows, whatever the caller's environment says
    main, secondary = pty.openpty()
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, terminal: secondary}
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "imgextract", *args],
            stdin=subprocess.DEVNULL,
            stdout=streams["stdout"],
            stderr=streams["stderr"],
            env=full_env,
        )
        os.close(secondary)
        secondary = -1
        seen = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        piped = proc.stderr if terminal == "stdout" else proc.stdout
        assert piped is not None
        text = piped.read().decode()
        piped.close()
        code = proc.wait(timeout=120)
    finally:
        os.close(main)
        if secondary >= 0:
            os.close(secondary)
    return code, text, seen
