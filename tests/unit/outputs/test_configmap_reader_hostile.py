"""ConfigMap YAML with a number past int()'s digit limit is the reader's InvalidBundleError, never
a bare ValueError (reported as an internal error)."""

from __future__ import annotations

import pytest

from imgextract.errors import InvalidBundleError
from imgextract.outputs.configmap import load_yaml


@pytest.mark.parametrize("number", ["1" * 5000, "-" + "2" * 5000])
def test_a_huge_integer_is_a_bundle_error(number: str) -> None:
    with pytest.raises(InvalidBundleError, match="ConfigMap YAML does not parse"):
        load_yaml(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generation: {number}\n")
