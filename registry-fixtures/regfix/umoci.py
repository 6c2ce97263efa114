"""umoci as an independent unpack oracle (tests only), and a filesystem tree comparator.

umoci 0.4.7 (Debian) handles OCI media types with gzip or uncompressed layers only (no zstd, no Docker types).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

UMOCI_ENV = "REGFIX_UMOCI"


class UmociError(RuntimeError):
    pass


def umoci_binary() -> str | None:
    cand = os.environ.get(UMOCI_ENV) or "/usr/bin/umoci"
    return cand if os.access(cand, os.X_OK) else shutil.which("umoci")


def umoci_unpack(layout_dir: Path, tag: str, bundle: Path, timeout: float = 120) -> Path:
    """`umoci unpack --rootless --image DIR:TAG BUNDLE`; returns BUNDLE/rootfs."""
    umoci = umoci_binary()
    if umoci is None:
        raise UmociError("umoci not found (apt install umoci)")
    proc = subprocess.run(
        [umoci, "unpack", "--rootless", "--image", f"{layout_dir}:{tag}", str(bundle)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise UmociError(f"umoci unpack failed ({proc.returncode}):\n{proc.stderr}")
    return bundle / "rootfs"


@dataclass(frozen=True)
class Node:
    kind: str  # "dir" | "file" | "symlink" | "fifo" | "char" | "block" | "socket" | "other"
    sha256: str | None = None  # files
    size: int | None = None
    target: str | None = None  # symlinks
    executable: bool | None = None


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "dir"),
        (stat.S_ISREG, "file"),
        (stat.S_ISLNK, "symlink"),
        (stat.S_ISFIFO, "fifo"),
        (stat.S_ISCHR, "char"),
        (stat.S_ISBLK, "block"),
        (stat.S_ISSOCK, "socket"),
    ):
        if test(mode):
            return name
    return "other"


def snapshot(root: Path, *, exec_bit: bool = False) -> dict[str, Node]:
    """Map relative path -> Node for everything under root (root itself excluded). Never follows symlinks."""
    out: dict[str, Node] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            kind = _kind(st.st_mode)
            rel = p.relative_to(root).as_posix()
            if kind == "file":
                h = hashlib.sha256()
                with open(p, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
                out[rel] = Node(
                    "file",
                    h.hexdigest(),
                    st.st_size,
                    executable=bool(st.st_mode & 0o111) if exec_bit else None,
                )
            elif kind == "symlink":
                out[rel] = Node("symlink", target=os.readlink(p))
            else:
                out[rel] = Node(kind)
    return out


def compare_trees(
    expected: Path, actual: Path, *, exec_bit: bool = False, ignore: tuple[str, ...] = ()
) -> str:
    """Compare paths, types, file contents, symlink targets (and optionally the executable bit).

    Ownership, timestamps, permissions other than x, xattrs are ignored. Returns "" when equal, else a
    readable diff, one line per difference. `ignore` holds relative paths (and everything below them)."""

    def keep(p: str) -> bool:
        return not any(p == i or p.startswith(i.rstrip("/") + "/") for i in ignore)

    a = {k: v for k, v in snapshot(expected, exec_bit=exec_bit).items() if keep(k)}
    b = {k: v for k, v in snapshot(actual, exec_bit=exec_bit).items() if keep(k)}
    lines: list[str] = []
    for p in sorted(a.keys() | b.keys()):
        x, y = a.get(p), b.get(p)
        if y is None:
            lines.append(f"- missing   {p} ({x.kind if x else '?'})")
        elif x is None:
            lines.append(f"+ extra     {p} ({y.kind})")
        elif x.kind != y.kind:
            lines.append(f"~ type      {p}: expected {x.kind}, got {y.kind}")
        elif x.kind == "symlink" and x.target != y.target:
            lines.append(f"~ target    {p}: expected -> {x.target!r}, got -> {y.target!r}")
        elif x.kind == "file" and x.sha256 != y.sha256:
            lines.append(
                f"~ content   {p}: expected {x.size} bytes sha256 {x.sha256[:12] if x.sha256 else ''}, "
                f"got {y.size} bytes sha256 {y.sha256[:12] if y.sha256 else ''}"
            )
        elif x.kind == "file" and x.executable != y.executable:
            lines.append(f"~ exec bit  {p}: expected {x.executable}, got {y.executable}")
    return "\n".join(lines)
