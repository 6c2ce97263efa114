"""`make demo`: a local registry with a sample operator bundle, pulled by bundle-extract.

Starts Debian's docker-registry on a free loopback port (temporary storage), pushes a registry+v1
bundle written by regfix (skopeo is used only to load the fixture), runs
`bundle-extract pull REF -o OUT --insecure-registry HOST`, shows the result, and stops the registry.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from regfix import bundles  # noqa: E402
from regfix.oci import write_layout  # noqa: E402
from regfix.push import push  # noqa: E402
from regfix.registry import start_registry  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="demo-out", help="output directory (replaced if it exists)")
    args = ap.parse_args()
    exe = shutil.which("bundle-extract", path=str(Path(sys.executable).parent)) or "bundle-extract"
    with tempfile.TemporaryDirectory(prefix="bundle-extract-demo-") as tmp:
        reg = start_registry(Path(tmp) / "registry")
        try:
            fixture = bundles.registry_v1_bundle()
            layout = write_layout(Path(tmp) / "layout", fixture.spec, "v1.4.2")
            pushed = push(layout, reg, "demo/widget-operator-bundle", "v1.4.2")
            cmd = [exe, "pull", pushed.ref, "-o", args.out, "--insecure-registry", reg.host, "--force"]
            print(f"$ {' '.join(cmd)}", flush=True)
            done = subprocess.run(cmd, check=False)
            if done.returncode != 0:
                return done.returncode
            print(f"\n$ find {args.out} -type f")
            for p in sorted(Path(args.out).rglob("*")):
                if p.is_file():
                    print(f"{p}  ({p.stat().st_size} bytes)")
            print(f"\n$ {exe} inspect {pushed.ref} --insecure-registry {reg.host}", flush=True)
            subprocess.run(
                [exe, "inspect", pushed.ref, "--insecure-registry", reg.host], check=False, env={**os.environ}
            )
        finally:
            reg.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
