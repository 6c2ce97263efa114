"""Local filesystem failures: one line naming the path and the errno; owners of staging names."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from imgextract.cli.exits import exit_code_for
from imgextract.errors import LocalFilesystemError, local_filesystem_error
from imgextract.outputs.directory import StagingDir, sweep_stale
from imgextract.procowner import owner_alive, owner_token


@pytest.mark.parametrize(
    ("code", "name", "hint"),
    [
        (errno.ENOSPC, "ENOSPC", "free some space"),
        (errno.EROFS, "EROFS", "read-only"),
        (errno.EACCES, "EACCES", "permissions"),
        (errno.EDQUOT, "EDQUOT", "free some space"),
    ],
)
def test_message_names_path_errno_and_what_to_do(code: int, name: str, hint: str) -> None:
    err = local_filesystem_error(OSError(code, os.strerror(code), "/data/out/manifests/csv.yaml"))
    assert isinstance(err, LocalFilesystemError) and exit_code_for(err) == 9
    text = str(err)
    assert "/data/out/manifests/csv.yaml" in text and f"({name})" in text and hint in text
    assert "\n" not in text and err.errno == code and err.path == "/data/out/manifests/csv.yaml"


def test_owner_token_of_a_live_and_a_dead_process() -> None:
    assert owner_alive(owner_token())
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    assert not owner_alive(f"{int(done.stdout)}.1")


def test_staging_named_after_its_owner_and_swept_only_when_dead(tmp_path: Path) -> None:
    with StagingDir(tmp_path / "out") as root:
        assert root.name.startswith(f".out.staging-{owner_token()}-")
        assert sweep_stale(tmp_path) == 0 and root.is_dir()  # ours: alive
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stale = tmp_path / f".out.staging-{int(done.stdout)}.1-{'a' * 12}"
    (stale / "manifests").mkdir(parents=True)
    assert sweep_stale(tmp_path) == 1 and not stale.exists()


def test_layer_spool_file_of_a_dead_process_is_swept(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead = tmp_path / f"bundle-extract-layer-{int(done.stdout)}.1-abc123"
    dead.write_bytes(b"x")
    alive = tmp_path / f"bundle-extract-layer-{owner_token()}-def456"
    alive.write_bytes(b"y")
    assert sweep_stale(tmp_path) == 1
    assert not dead.exists() and alive.exists()
