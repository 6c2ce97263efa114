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
