"""Peak memory does not grow with layer size: a 200 MB layer pulled by a subprocess stays under 100 MiB."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from regfix.oci import File, ImageSpec, Layer
from regfix.pytest_plugin import PushedImage

from tests.e2e.cli import REPO

pytestmark = [pytest.mark.registry, pytest.mark.slow]

LAYER_BYTES = 200 * 1024 * 1024
RSS_LIMIT_KIB = 100 * 1024


# A child forked from this (large) test process would start with our resident pages counted in its
# ru_maxrss, so a tiny wrapper interpreter starts the CLI and reports the CLI's own peak.
_WRAPPER = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
_pid, status, usage = os.wait4(proc.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def _max_rss_kib(args: list[str], env: dict[str, str]) -> tuple[int, int, str]:
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *args], env=env, capture_output=True, text=True, timeout=600
    )
    code, rss = done.stdout.split()
    return int(code), int(rss), done.stderr


def test_200mb_layer_bounded_rss(
    registry: object, push_image: Callable[..., PushedImage], tmp_path: Path
) -> None:
    payload = os.urandom(LAYER_BYTES)  # incompressible: the blob really is 200 MB
    spec = ImageSpec(
        layers=[Layer([File("data/big.bin", payload)], compression="gzip")], labels={"org.example": "big"}
    )
    img = push_image(registry, spec, "big/image")
    del payload, spec
    out = tmp_path / "out"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "HOME": str(tmp_path),
        "XDG_CACHE_HOME": str(tmp_path / "c"),
    }
    code, rss_kib, err = _max_rss_kib(
        [
            sys.executable,
            "-m",
            "imgextract",
            "pull",
            img.ref,
            "-o",
            str(out),
            "--all",
            "--insecure-registry",
            img.registry.host,
            "-q",
        ],
        env,
    )
    assert code == 0, err
    assert (out / "data" / "big.bin").stat().st_size == LAYER_BYTES
    assert rss_kib < RSS_LIMIT_KIB, f"peak RSS {rss_kib} KiB for a {LAYER_BYTES >> 20} MiB layer"
