"""Local filesystem failures: one line naming the path and the errno; owners of staging names."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imgextract.cli.exits import exit_code_for
from imgextract.errors import LocalFilesystemError, local_filesystem_error
from imgextract.outputs.directory import StagingDir, sweep_stale
from imgextract.procowner import FOREIGN_MAX_AGE, host_mark, owner_alive, owner_token


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


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(done.stdout)


OTHER_HOST = "0123456789ab" if host_mark() != "0123456789ab" else "ba9876543210"


def test_owner_token_of_a_live_and_a_dead_process() -> None:
    assert owner_token().startswith(f"{host_mark()}.{os.getpid()}.")
    assert owner_alive(owner_token())
    pid = _dead_pid()
    assert not owner_alive(f"{host_mark()}.{pid}.1")
    # another host's (or an unmarked, older) token: its pid means nothing here, never "dead"
    assert owner_alive(f"{OTHER_HOST}.{pid}.1")
    assert owner_alive(f"{pid}.1")


def test_own_token_is_alive_without_reading_proc(monkeypatch: pytest.MonkeyPatch) -> None:
    """A catalog pull's sweeps meet this process's own staging directories at every bundle: no
    /proc read for them (any other pid of this host is still checked)."""
    import imgextract.procowner as procowner

    mine = owner_token()
    read: list[int] = []

    def start_time(pid: int) -> int | None:
        read.append(pid)
        return None

    monkeypatch.setattr(procowner, "_start_time", start_time)
    assert owner_alive(mine)
    assert read == []
    other = f"{host_mark()}.{os.getpid() + 1}.1"
    assert not owner_alive(other)  # _start_time (patched) says it does not exist
    assert read == [os.getpid() + 1]


def test_host_mark_depends_on_the_hostname(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    mine = host_mark()
    host_mark.cache_clear()
    try:
        monkeypatch.setattr(socket, "gethostname", lambda: "another-pod-7f9c")
        assert host_mark() != mine and len(host_mark()) == 12
    finally:
        monkeypatch.undo()
        host_mark.cache_clear()
    assert host_mark() == mine


def test_staging_named_after_its_owner_and_swept_only_when_dead(tmp_path: Path) -> None:
    with StagingDir(tmp_path / "out") as root:
        assert root.name.startswith(f".out.staging-{owner_token()}-")
        assert sweep_stale(tmp_path) == 0 and root.is_dir()  # ours: alive
    stale = tmp_path / f".out.staging-{host_mark()}.{_dead_pid()}.1-{'a' * 12}"
    (stale / "manifests").mkdir(parents=True)
    assert sweep_stale(tmp_path) == 1 and not stale.exists()


def test_another_hosts_staging_is_swept_by_age_only(tmp_path: Path) -> None:
    pid = _dead_pid()
    foreign = tmp_path / f".out.staging-{OTHER_HOST}.{pid}.1-{'a' * 12}"
    (foreign / "manifests").mkdir(parents=True)
    (foreign / "manifests" / "csv.yaml").write_text("x")
    unmarked = tmp_path / f".out.old-{pid}.1-{'b' * 12}"  # named before owners carried a host mark
    unmarked.mkdir()
    local = tmp_path / f".out.staging-{host_mark()}.{pid}.1-{'c' * 12}"
    local.mkdir()
    assert sweep_stale(tmp_path) == 1  # only this host's dead owner
    assert foreign.is_dir() and unmarked.is_dir() and not local.exists()
    # a day on, nothing in them changed: debris, whoever the owner was
    assert sweep_stale(tmp_path, now=time.time() + FOREIGN_MAX_AGE - 60) == 0
    assert sweep_stale(tmp_path, now=time.time() + FOREIGN_MAX_AGE + 60) == 2
    assert list(tmp_path.iterdir()) == []


def test_layer_spool_file_of_a_dead_process_is_swept(tmp_path: Path) -> None:
    pid = _dead_pid()
    dead = tmp_path / f"bundle-extract-layer-{host_mark()}.{pid}.1-abc123"
    dead.write_bytes(b"x")
    alive = tmp_path / f"bundle-extract-layer-{owner_token()}-def456"
    alive.write_bytes(b"y")
    foreign = tmp_path / f"bundle-extract-layer-{OTHER_HOST}.{pid}.1-0a1b2c"
    foreign.write_bytes(b"z")
    assert sweep_stale(tmp_path) == 1
    assert not dead.exists() and alive.exists() and foreign.exists()
    assert sweep_stale(tmp_path, now=time.time() + FOREIGN_MAX_AGE + 60) == 1
    assert not foreign.exists() and alive.exists()
