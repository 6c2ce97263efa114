"""Keep the 1 MiB buffers of layer streams in the process's heap instead of fresh pages every time.

A layer flows through the pipeline as 1 MiB ``bytes`` objects (downloaded chunks, inflated
chunks), hundreds of them for a big layer, a few alive at any moment.  glibc's malloc serves
blocks that large with ``mmap`` until its adaptive threshold catches up, and gives free memory at
the top of a heap back to the kernel once it exceeds 128 KiB-2x the threshold: so most chunks
land on pages the kernel must fault in and zero again.  For the 320 MB benchmark image that was
~55,000 page faults and (in a virtual machine, where a fresh page is expensive) about as much
system time as writing the files.  Blocks under 2 MiB from the heap and 4 MiB of free heap kept
bring that to ~30,000-36,000 faults and a fraction of the system time (8 MiB kept: ~26,000, for a
few MiB more peak RSS at 100,000 files).

Process-wide and best effort: only where the C library is glibc (``mallopt`` exists); called once,
when the first big layer is about to be applied, and only in a process that said it owns its
allocator (the CLI calls :func:`allow_process_tuning`): an application embedding the library keeps
its malloc settings.
"""

from __future__ import annotations

import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 2 * 1024 * 1024
TRIM_THRESHOLD = 4 * 1024 * 1024

_done = False
_allowed = False


def allow_process_tuning() -> None:
    """This process is ours (the command line): big layers may tune glibc's malloc."""
    global _allowed
    _allowed = True


def reuse_freed_memory() -> None:
    """Tune glibc's malloc for streams of 1 MiB buffers (once per process, if allowed; else a no-op)."""
    global _done
    if _done or not _allowed:
        return
    _done = True
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (or no C library symbols): keep the defaults
        return
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
