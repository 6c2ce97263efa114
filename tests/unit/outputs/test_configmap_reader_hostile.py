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


def test_file_names_annotation_nested_too_deeply_is_a_bundle_error() -> None:
    from imgextract.outputs.configmap.reader import FILE_NAMES, _file_names

    deep = '{"a": ' * 100_000 + '"b"' + "}" * 100_000
    cm = {"metadata": {"name": "cm", "annotations": {FILE_NAMES: deep}}}
    with pytest.raises(InvalidBundleError, match="annotation is not JSON"):
        _file_names(cm)
