"""Which process owns a temporary file or directory, and whether that process is still alive.

Staging directories beside OUT, layer spool files and temporary files in the cache carry their owner
in their name: ``<host>.<pid>.<start>``.  ``start`` is the process start time in clock ticks since
boot (field 22 of ``/proc/<pid>/stat``), so a recycled pid is not mistaken for the owner.  ``<host>``
is :func:`host_mark`: 12 hex digits of a hash of the kernel boot id, the PID namespace and the
hostname, i.e. of the place where that pid means something.  A pid is only checked when the mark is
this process's own: a directory shared between pods or hosts (a PersistentVolumeClaim, a cache on
NFS) holds entries of processes this one cannot see, whose pids may be free here or belong to
someone else.  Those, and entries named before owners carried a host mark, are never "dead" here:
they are removed only once older than an age (:data:`FOREIGN_MAX_AGE` or ``cache prune --max-age``).
An entry whose owner is known to be gone was left by a killed process (SIGKILL, power loss) and may
be removed by anyone on the same host.  Without ``/proc`` the start time is 0 and only the pid is
checked.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import socket
from pathlib import Path

FOREIGN_MAX_AGE = 24 * 3600.0
"""Seconds without a change after which an entry of another host (or of unknown owner) is debris."""

_TOKEN = re.compile(r"([0-9a-f]{12})\.(\d+)\.(\d+)")
TOKEN_PATTERN = r"[0-9a-f]{12}\.\d+\.\d+|\d+\.\d+"
"""A regular expression matching an owner token, current or of the older ``<pid>.<start>`` form."""


@functools.cache
def host_mark() -> str:
    """12 hex digits naming where this process's pids are meaningful (boot, PID namespace, host)."""
    parts: list[bytes] = []
    try:
        with open("/proc/sys/kernel/random/boot_id", "rb") as f:
            parts.append(f.read().strip())
    except OSError:
        parts.append(b"")
    try:
        parts.append(str(os.stat("/proc/self/ns/pid").st_ino).encode())
    except OSError:
        parts.append(b"")
    parts.append(socket.gethostname().encode("utf-8", "surrogateescape"))
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:12]


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


_OWN_TOKEN: tuple[int, str] | None = None


def _forget_own_token() -> None:
    global _OWN_TOKEN
    _OWN_TOKEN = None


# a forked child is another process: it works its token out again (so asking for this process's
# token needs no ``getpid``, a system call that hands the interpreter lock over in a busy worker)
os.register_at_fork(after_in_child=_forget_own_token)


def owner_token(pid: int | None = None) -> str:
    """``<host>.<pid>.<start>`` for this process (or ``pid``, on this host)."""
    global _OWN_TOKEN
    known = _OWN_TOKEN
    if pid is None and known is not None:  # our start time never changes
        return known[1]
    own = os.getpid()
    if pid is None or pid == own:
        if known is not None and known[0] == own:
            return known[1]
        token = f"{host_mark()}.{own}.{_start_time(own) or 0}"
        _OWN_TOKEN = (own, token)
        return token
    return f"{host_mark()}.{pid}.{_start_time(pid) or 0}"


def owner_is_local(token: str) -> bool:
    """The token names a process of this host (boot, PID namespace and hostname)."""
    match = _TOKEN.fullmatch(token)
    return match is not None and match.group(1) == host_mark()


def owner_alive(token: str) -> bool:
    """False only when ``token`` names a process of this host that no longer runs.

    True when it runs, and when we cannot tell: another host's process, a malformed or an older
    token without a host mark (such entries are removed by age only).
    """
    own = _OWN_TOKEN
    if own is not None and token == own[1] and own[0] == os.getpid():
        return True  # this process: a catalog pull's sweeps meet its own staging directories often
    match = _TOKEN.fullmatch(token)
    if match is None or match.group(1) != host_mark():
        return True
    pid, start = int(match.group(2)), int(match.group(3))
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


def left_behind(path: Path, token: str, cutoff: float) -> bool:
    """The entry at ``path`` owned by ``token`` is debris: its owner is a process of this host that is
    gone, or (another host's, or an unmarked entry) nothing in it changed since ``cutoff``."""
    if owner_is_local(token):
        return not owner_alive(token)
    return quiet_since(path, cutoff)


def quiet_since(path: Path, cutoff: float) -> bool:
    """Nothing in the tree at ``path`` was created, written or changed after ``cutoff`` (ctime too:
    the applier sets file times from the layer, but cannot set the change time)."""

    def fresh(p: str | Path) -> bool:
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            return False
        except OSError:
            return True
        return max(st.st_mtime, st.st_ctime) >= cutoff

    if fresh(path):
        return False
    if not path.is_dir() or path.is_symlink():
        return True
    for dirpath, dirnames, filenames in os.walk(path):
        for name in (*dirnames, *filenames):
            if fresh(os.path.join(dirpath, name)):
                return False
    return True
