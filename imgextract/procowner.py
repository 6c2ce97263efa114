"""Which process owns a temporary file or directory, and whether that process is still alive.

Staging directories beside OUT and temporary files in the cache carry their owner in their name:
``<pid>.<start>`` where ``start`` is the process start time in clock ticks since boot (field 22
of ``/proc/<pid>/stat``), so a recycled pid is not mistaken for the owner.  An entry whose owner
is gone was left by a killed process (SIGKILL, power loss) and may be removed by anyone.
Without ``/proc`` the start time is 0 and only the pid is checked.
"""

from __future__ import annotations

import os
import re

_TOKEN = re.compile(r"(\d+)\.(\d+)")


def _start_time(pid: int) -> int | None:
    """Start time of ``pid`` in ticks since boot; None when it does not exist, 0 when unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    except OSError:
        return 0
    try:  # the command name (field 2) may hold spaces and parentheses: split after the last ')'
        return int(data.rsplit(b")", 1)[1].split()[19])
    except (IndexError, ValueError):
        return 0


def owner_token(pid: int | None = None) -> str:
    """``<pid>.<start>`` for this process (or ``pid``)."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}.{_start_time(pid) or 0}"


def owner_alive(token: str) -> bool:
    """True when the process named by ``token`` is still running (or we cannot tell)."""
    match = _TOKEN.fullmatch(token)
    if match is None:
        return True
    pid, start = int(match.group(1)), int(match.group(2))
    if pid <= 0:
        return True
    if os.path.isdir("/proc/self"):
        now = _start_time(pid)
        if now is None:
            return False
        return start == 0 or now == 0 or now == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
