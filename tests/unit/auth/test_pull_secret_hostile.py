"""Pull-secret files with hostile YAML: one ConfigError naming the file, never a RecursionError or
a bare ValueError (reported as an internal error)."""

from __future__ import annotations

import pytest

from imgextract.auth.pullsecret import parse_pull_secret
from imgextract.errors import ConfigError

HOSTILE = {
    "flow-nesting": "data: " + "[" * 5000 + "]" * 5000 + "\n",
    "block-nesting": "data:\n" + "".join("  " * i + "- \n" for i in range(3000)),
    "huge-int": "data:\n  n: " + "1" * 5000 + "\n",
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_yaml_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError, match=r"^secret\.yaml: not valid YAML or JSON"):
        parse_pull_secret("apiVersion: v1\nkind: Secret\n" + text, "secret.yaml")
