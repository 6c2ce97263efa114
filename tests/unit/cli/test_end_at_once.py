"""A command that succeeded ends without the interpreter's teardown, its atexit work done."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = """
import atexit, sys, threading
from imgextract.cli.exits import end_at_once

atexit.register(lambda: print("atexit ran", flush=True))

class Teardown:
    def __del__(self):
        print("teardown ran", flush=True)

keep = Teardown()
sys.stdout.write("buffered output\\n")
{setup}
end_at_once({code})
print("returned", flush=True)
"""


def _run(code: int, setup: str = "") -> subprocess.CompletedProcess[str]:
    script = textwrap.dedent(SCRIPT).format(code=code, setup=setup)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)


def test_a_success_ends_at_once_after_the_atexit_functions_and_a_flush() -> None:
    r = _run(0)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["buffered output", "atexit ran"]  # no teardown, nothing after


def test_a_failure_or_a_running_thread_takes_the_usual_exit() -> None:
    r = _run(5)
    assert r.stdout.splitlines() == ["buffered output", "returned", "atexit ran", "teardown ran"]
    thread = "t = threading.Thread(target=threading.Event().wait, args=(0.2,)); t.start()"
    r = _run(0, thread)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["buffered output", "returned", "atexit ran", "teardown ran"]


def test_the_process_entry_point_ends_at_once_and_the_command_function_raises() -> None:
    """``imgextract.cli.main`` (the console script, ``python -m imgextract``) ends the process;
    ``imgextract.cli.main.main``, called in a process that goes on, raises SystemExit as before."""
    script = textwrap.dedent(
        """
        import sys
        from imgextract.cli import main as entry  # (before the submodule of that name is imported)
        from imgextract.cli.main import main as command

        class Teardown:
            def __del__(self):
                print("teardown ran", flush=True)

        keep = Teardown()
        try:
            command(["--version"])
        except SystemExit as done:
            print("raised", done.code, flush=True)
        entry(["--version"])
        print("returned", flush=True)
        """
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[1] == "raised 0"
    assert lines[2].startswith("bundle-extract, version") and len(lines) == 3  # no teardown
