"""Where a small pull's start-up goes: Python's import log (``-X importtime``) of
``bundle-extract pull`` of the small bundle, the best of several runs per module.

Informational (no target): the small-bundle ratio is decided by ``small``; this says what the
process loads on the way, as self time per module (best of ``runs``, so other load on the machine
matters less), summed by package, and the slowest modules.  The times are the import log's, which
inflates them; compare runs of this workload with each other, not with wall times.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any


def _import_log(ref: str, host: str, repo: Path, scratch: Path) -> dict[str, int]:
    auth = scratch / "auth.json"
    auth.write_text('{"auths":{}}')
    argv = [sys.executable, "-X", "importtime", "-m", "imgextract", "pull", ref, "-o", str(scratch / "out")]
    argv += ["--insecure-registry", host, "-q", "--cache-dir", str(scratch / "cache")]
    env = {**os.environ, "REGISTRY_AUTH_FILE": str(auth)}
    out = subprocess.run(argv, cwd=repo, env=env, check=True, capture_output=True, text=True)
    selfs: dict[str, int] = {}
    for line in out.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "self [us]" not in line:
            own, _, name = line[len("import time:") :].split("|")
            selfs[name.strip()] = selfs.get(name.strip(), 0) + int(own)
    return selfs


def _group(module: str) -> str:
    if module.startswith("imgextract."):
        return ".".join(module.split(".")[:2])
    return module.split(".")[0]


def bench(ref: str, host: str, repo: Path, runs: int = 5) -> dict[str, Any]:
    best: dict[str, int] = {}
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="startup-") as tmp:
            for name, us in _import_log(ref, host, repo, Path(tmp)).items():
                best[name] = min(us, best.get(name, us))
    by_group: dict[str, int] = defaultdict(int)
    for name, us in best.items():
        by_group[_group(name)] += us
    total = sum(best.values())
    print(f"\n== start-up of a small pull: {len(best)} modules, {total / 1000:.1f} ms of import self time")
    print("  (python -X importtime, best of", runs, "runs per module; the log inflates every figure)")
    for group, us in sorted(by_group.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {group:<34} {us / 1000:8.1f} ms")
    print("  slowest modules:")
    for name, us in sorted(best.items(), key=lambda kv: -kv[1])[:10]:
        print(f"    {name:<32} {us / 1000:8.1f} ms")
    return {
        "title": "start-up of a small pull (import self time)",
        "targets": [],
        "modules": len(best),
        "import_self_ms": round(total / 1000, 1),
        "by_package_ms": {
            g: round(us / 1000, 1) for g, us in sorted(by_group.items(), key=lambda kv: -kv[1])
        },
    }
