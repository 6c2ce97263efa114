"""One CPU for a pool of threads that take turns holding Python's GIL.

A pool of workers that each send a request, wait for it, then parse what came back (``render``'s,
``pull --from-catalog``'s) runs one worker at a time: the GIL is handed over at every socket and
file call, thousands of times in a 100-image render (~50,000 ``futex`` calls, 97 % of them the
GIL's).  When the next holder waits on another CPU, each hand-over is a cross-CPU
wake-up (an inter-processor interrupt: on a virtual machine, an exit to the hypervisor) and the
lock's memory moves between caches; on one CPU it is a plain context switch.  What a second CPU
could give such a pool is only the work done without the GIL (system calls, hashing and inflating
small blobs): on the benchmark's 2-CPU virtual machine, keeping a cold 100-image render's workers
on one CPU cut its own CPU time 15-20 % and its wall time 13-17 %, and the registry on the same
machine spent 12-14 % less (benchmarks/README.md, "One CPU for the worker pools").

Linux only (``sched_setaffinity``); a process allowed a single CPU already has what this gives.
The CPU is the one the calling thread runs on when the pool starts (where the scheduler just put
it: several processes started together do not all land on one CPU), and only the pool's threads
are kept there: the caller's own thread, and threads other parts of the process start, are not;
the caller's code a kept thread runs (a callback) runs on the caller's CPUs (:func:`call_free`),
for a thread or a process it starts may outlive the pool; a thread of the whole process's that a
kept thread happens to start (the deadline watchdog's) lets go of the CPU (:func:`free_thread`), and
so does a credential helper (a process of its own, :func:`process_cpus`), and a render worker
while it applies layers to disk (the pull machinery's inflate and download threads use every CPU).
The cost: a kept thread cannot move when another process takes that CPU, so callers offer a way
out (``--no-pin-cpu``, ``pin_cpu=False``).
"""

from __future__ import annotations

import os
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Set
    from typing import TypeVar

    T = TypeVar("T")

__all__ = ["call_free", "current_cpu", "free_thread", "pin_thread", "process_cpus", "processor"]


def current_cpu() -> int | None:
    """The CPU the calling thread runs on, when pool threads may be kept on it: Linux, the
    process may run on several CPUs, and there is a GIL to take turns on (a free-threaded
    interpreter runs the threads at once); else None."""
    if not hasattr(os, "sched_setaffinity") or not getattr(sys, "_is_gil_enabled", lambda: True)():
        return None
    try:
        allowed = os.sched_getaffinity(0)
        if len(allowed) < 2:
            return None
        fd = os.open("/proc/thread-self/stat", os.O_RDONLY | os.O_CLOEXEC)
        try:
            cpu = processor(os.read(fd, 4096))
        finally:
            os.close(fd)
    except (OSError, ValueError, IndexError):
        return None
    return cpu if cpu in allowed else None


def processor(stat: bytes) -> int:
    """The CPU a ``/proc/<pid>/stat`` line says the thread last ran on (proc(5): field 39,
    ``processor``).  The fields are counted after the command name's closing parenthesis: the
    name (field 2) may hold anything, spaces and parentheses too."""
    return int(stat.rsplit(b")", 1)[1].split()[36])


def pin_thread(cpu: int) -> None:
    """Keep the calling thread on ``cpu`` from now on (the threads it starts inherit it); a
    refusal (the CPU was taken from the process meanwhile) leaves it free."""
    try:
        os.sched_setaffinity(threading.get_native_id(), {cpu})
    except (OSError, ValueError, OverflowError):
        pass


def process_cpus() -> set[int] | None:
    """The CPUs of the process's main thread (those of a thread or process started outside any
    kept pool); None where affinity is not to be had."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    try:
        return os.sched_getaffinity(os.getpid())
    except OSError:
        return None


def free_thread(tid: int | None) -> None:
    """Let thread ``tid`` run on :func:`process_cpus`: for a thread of the whole process's (the
    deadline watchdog) that a kept worker may be the one to start, and that may outlive the pool."""
    cpus = process_cpus()
    if tid is None or cpus is None:
        return
    try:
        if os.sched_getaffinity(tid) != cpus:
            os.sched_setaffinity(tid, cpus)
    except (OSError, ValueError, OverflowError):
        pass


def call_free(cpus: Set[int] | None, call: Callable[..., T], *args: object) -> T:
    """``call(*args)`` on ``cpus`` (the pool's caller's, :func:`process_cpus`; None: on the
    thread's own), then back on the thread's: the threads and processes ``call`` starts inherit
    ``cpus``, not the pool's CPU."""
    kept: set[int] | None = None
    if cpus is not None:
        tid = threading.get_native_id()
        try:
            kept = os.sched_getaffinity(tid)
            if kept != cpus:
                os.sched_setaffinity(tid, cpus)
            else:
                kept = None
        except (OSError, ValueError, OverflowError):
            kept = None  # (the call's own errors are not caught here)
    if kept is None:
        return call(*args)
    try:
        return call(*args)
    finally:
        try:
            os.sched_setaffinity(tid, kept)
        except (OSError, ValueError, OverflowError):
            pass
