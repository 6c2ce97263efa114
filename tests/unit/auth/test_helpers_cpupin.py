"""A credential helper asked by a worker kept on one CPU (:mod:`imgextract.cpupin`, ``render``'s and
``pull --from-catalog``'s workers) runs on the process's CPUs: the helper is a process of its own
(its runtime sizes itself by the CPUs it may use: Go's GOMAXPROCS), and what it starts may outlive
us (``pass`` starts a gpg-agent)."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

from imgextract.auth.helpers import run_helper

WAIT = 30
SCRIPT = """#!/bin/sh
read -r url
grep Cpus_allowed_list /proc/self/status > "{log}"
echo '{{"Username":"robot","Secret":"s3cret"}}'
"""


def _cpus(text: str) -> set[int]:
    out: set[int] = set()
    for part in text.split(":", 1)[1].strip().split(","):
        first, _, last = part.partition("-")
        out.update(range(int(first), int(last or first) + 1))
    return out


def test_a_helper_asked_by_a_kept_worker_runs_on_the_process_cpus(tmp_path: Path) -> None:
    log = tmp_path / "cpus.log"
    exe = tmp_path / "docker-credential-cpus"
    exe.write_text(SCRIPT.format(log=log))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    process = os.sched_getaffinity(os.getpid())
    kept: list[set[int]] = []

    def kept_worker() -> None:
        tid = threading.get_native_id()
        os.sched_setaffinity(tid, {min(process)})  # as cpupin.pin_thread does
        creds = run_helper("cpus", "registry.test", env={"PATH": f"{tmp_path}:/usr/bin:/bin"})
        assert creds is not None and creds.username == "robot"
        kept.append(os.sched_getaffinity(tid))

    worker = threading.Thread(target=kept_worker)
    worker.start()
    worker.join(WAIT)
    assert _cpus(log.read_text()) == process
    assert kept == [{min(process)}]  # and the worker is back on its CPU
