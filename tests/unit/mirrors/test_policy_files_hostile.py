"""ICSP/IDMS/ITMS files with hostile YAML: nesting deeper than Python's recursion limit and numbers
past int()'s digit limit are the file's one-line ConfigError (exit 2), never a RecursionError or a
bare ValueError (an internal error)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgextract.errors import ConfigError
from imgextract.mirrors.policies import load_policy_file

HOSTILE = {
    "flow-nesting": "spec: " + "[" * 5000 + "]" * 5000 + "\n",
    "block-nesting": "spec:\n" + "".join("  " * i + "- \n" for i in range(3000)),
    "huge-int": "spec:\n  n: " + "1" * 5000 + "\n",
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_yaml_is_a_config_error(tmp_path: Path, body: str) -> None:
    path = tmp_path / "icsp.yaml"
    path.write_text("apiVersion: operator.openshift.io/v1alpha1\nkind: ImageContentSourcePolicy\n" + body)
    with pytest.raises(ConfigError, match=r"^ICSP file .*icsp\.yaml: invalid YAML"):
        load_policy_file(path, "ImageContentSourcePolicy")
