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
    from imgextract.outputs.configmap.meta import FILE_NAMES
    from imgextract.outputs.configmap.reader import _file_names

    deep = '{"a": ' * 100_000 + '"b"' + "}" * 100_000
    cm = {"metadata": {"name": "cm", "annotations": {FILE_NAMES: deep}}}
    with pytest.raises(InvalidBundleError, match="annotation is not JSON"):
        _file_names(cm)


def test_aliases_expanding_far_past_the_text_are_refused() -> None:
    """One 10 KB value aliased 2000 times: 20 MB of files from a 40 KB ConfigMap (and terabytes
    from a large one); a ConfigMap without aliases never expands past its own size."""
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n"
        f"  big: &b {'x' * 10_000}\n" + "".join(f"  k{i}: *b\n" for i in range(2000))
    )
    with pytest.raises(InvalidBundleError, match="excessive aliasing"):
        load_yaml(text)


def test_a_few_aliases_are_fine() -> None:
    text = "kind: ConfigMap\nmetadata: {name: cm}\ndata:\n  a: &v value\n  b: *v\n"
    assert load_yaml(text)[0]["data"] == {"a": "value", "b": "value"}
