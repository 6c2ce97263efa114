"""The YAML reader's C extension is built where CI requires it, and used wherever it is built.

CI sets IMGEXTRACT_REQUIRE_CEXT=1 (.ci/run): a build that quietly left the optional extension out
(no compiler, no libyaml headers, a compile error) fails here instead of leaving the suite to test
the Python loop alone.  IMGEXTRACT_NO_CEXT=1 switches the extension off (the suite then runs the
Python loop everywhere; test_goyaml_cext.py still compares the two).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from imgextract.catalog.render import goyaml


def test_the_extension_is_built_where_ci_requires_it_and_used_when_built() -> None:
    try:
        ext = __import__("imgextract.catalog.render._goyamlc", fromlist=["load"])
    except ImportError:
        ext = None
    if os.environ.get("IMGEXTRACT_REQUIRE_CEXT"):
        assert ext is not None, "IMGEXTRACT_REQUIRE_CEXT is set but the C extension was not built"
    if ext is not None and not os.environ.get("IMGEXTRACT_NO_CEXT"):
        assert goyaml._C_LOAD is ext.load
    else:
        assert goyaml._C_LOAD is None


_READ_IN_A_FRESH_PROCESS = """
import json, sys
from imgextract.catalog.render import goyaml
value = goyaml.load_yaml(sys.argv[1])
print(json.dumps([goyaml._C_LOAD is not None, "yaml" in sys.modules, value]))
"""


def _read_fresh(text: str) -> tuple[bool, bool, object]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    run = subprocess.run(
        [sys.executable, "-c", _READ_IN_A_FRESH_PROCESS, text], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    c_on, loaded, value = json.loads(run.stdout)
    return c_on, loaded, value


def test_a_document_the_c_loop_reads_needs_no_pyyaml() -> None:
    # importing PyYAML costs some 8 ms of every render's start-up: only a document the C loop stands
    # aside from (a merge key, an error) or the Python loop (no extension) loads it
    c_on, loaded, value = _read_fresh("a: [1, b]\n")
    assert value == {"a": [1, "b"]}
    assert loaded is not c_on
    c_on, loaded, value = _read_fresh("a: &x [1, b]\nc: *x\n")  # (anchors and aliases too)
    assert value == {"a": [1, "b"], "c": [1, "b"]}
    assert loaded is not c_on
    c_on, loaded, value = _read_fresh("a: &x {b: 1}\nc:\n  <<: *x\n")
    assert value == {"a": {"b": 1}, "c": {"b": 1}}
    assert loaded is True
