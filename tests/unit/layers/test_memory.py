"""glibc malloc tuning for big layers is the CLI's choice, never the library's."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import ctypes, sys
calls = []
class FakeLibc:
    class mallopt:
        argtypes = restype = None
        def __new__(cls, *args):
            calls.append(args)
            return 1
ctypes.CDLL = lambda *a, **k: FakeLibc()
from imgextract.layers import memory
memory.reuse_freed_memory()
before = list(calls)
if sys.argv[1] == "cli":
    memory._done = False
    memory.allow_process_tuning()
    memory.reuse_freed_memory()
print(len(before), len(calls))
"""


def run(mode: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], check=True, capture_output=True, text=True
    ).stdout.strip()


def test_a_library_process_keeps_its_malloc_settings() -> None:
    assert run("library") == "0 0"


def test_the_cli_lets_big_layers_tune_malloc() -> None:
    assert run("cli") == "0 2"


def test_the_cli_entry_point_allows_tuning() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import importlib, sys; from imgextract.layers import memory\n"
            "entry = importlib.import_module('imgextract.cli.main').main\n"
            "sys.argv = ['bundle-extract', '--version']\n"
            "try:\n    entry()\nexcept SystemExit:\n    pass\nprint(memory._allowed)",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert out.strip().endswith("True")
