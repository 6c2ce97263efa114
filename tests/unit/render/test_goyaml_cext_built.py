"""The YAML reader's C extension is built where CI requires it, and used wherever it is built.

CI sets IMGEXTRACT_REQUIRE_CEXT=1 (.ci/run): a build that quietly left the optional extension out
(no compiler, no libyaml headers, a compile error) fails here instead of leaving the suite to test
the Python loop alone.  IMGEXTRACT_NO_CEXT=1 switches the extension off (the suite then runs the
Python loop everywhere; test_goyaml_cext.py still compares the two).
"""

from __future__ import annotations

import os

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
