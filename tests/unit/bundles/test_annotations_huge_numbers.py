"""Plain scalars that look like numbers too large for Go: go-yaml v2 keeps them as strings
(``strconv.ParseInt``/``ParseUint``/``ParseFloat`` report a range error), so opm and imgpkg read
the text as written.  Python's int() refuses more than 4300 digits with a bare ValueError, which
must never escape from the readers of image content."""

from __future__ import annotations

import pytest

from imgextract.bundles.annotations import go_yaml_number, parse_annotations, parse_yaml
from imgextract.catalog.render.goyaml import load_yaml
from imgextract.imgpkg.lock import ImagesLock

DIGITS = [".1e999", "1" * 400, "1" * 5000, "-" + "9" * 5000, "0x" + "f" * 5000, "0" * 5000 + "7"]


@pytest.mark.parametrize(
    "text", DIGITS, ids=["dot-exponent", "400", "5000", "negative", "hex", "leading-zeros"]
)
def test_out_of_range_numbers_stay_text(text: str) -> None:
    expected_number = go_yaml_number(text)
    if text == "0" * 5000 + "7":  # Go reads any number of leading zeros: octal 7
        assert expected_number == 7
        return
    assert expected_number is None
    doc = f"annotations:\n  a: {text}\n".encode()
    assert parse_annotations(doc) == {"a": text}
    assert parse_yaml(doc) == {"a": text}
    assert load_yaml(f"a: {text}\n") == {"a": text}


def test_imgpkg_annotation_with_a_huge_number_is_its_text() -> None:
    text = "1" * 5000
    lock = ImagesLock.parse(
        "apiVersion: imgpkg.carvel.dev/v1alpha1\nkind: ImagesLock\nimages:\n"
        f"- image: reg.test/aa@sha256:{'a' * 64}\n  annotations:\n    x: {text}\n"
    )
    assert lock.images[0].annotations == {"x": text}
