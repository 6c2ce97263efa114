"""Explicit YAML tags whose value does not fit (``!!bool maybe``, ``!!timestamp xyz``, ``!!map`` on a
sequence, ``!!float abc``): PyYAML's constructors raise KeyError, AttributeError, TypeError or
ValueError for them. Every reader of YAML the product does not control turns that into its own
"not valid YAML" error, never an internal error (render's reader follows go-yaml v2, which refuses
the scalars and drops the tags of sequences and mappings: tests/unit/render/test_goyaml_tags.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from imgextract.auth.pullsecret import parse_pull_secret
from imgextract.catalog.render.goyaml import DecodeError
from imgextract.catalog.render.goyaml import load_yaml as render_load
from imgextract.errors import ConfigError, InvalidBundleError
from imgextract.imgpkg.yamlio import load as imgpkg_load
from imgextract.mirrors.policies import load_policy_file
from imgextract.outputs.configmap import load_yaml as configmap_load

TAGGED = [
    "!!float abc",
    "!!timestamp xyz",
    "!!timestamp 2001-13-99",
    "!!bool maybe",
    "!!map [a]",
    "!!seq {a: b}",
    "!!omap [a]",
    "!!set [a]",
]


def _icsp(tmp_path: Path) -> Callable[[str], object]:
    def load(text: str) -> object:
        path = tmp_path / "icsp.yaml"
        path.write_text(text)
        return load_policy_file(path, "ImageContentSourcePolicy")

    return load


@pytest.mark.parametrize("tagged", TAGGED)
def test_a_tag_its_value_does_not_fit_is_invalid_yaml(tmp_path: Path, tagged: str) -> None:
    text = f"kind: ImageContentSourcePolicy\nx: {tagged}\n"
    readers: list[tuple[Callable[[str], object], type[Exception]]] = [
        (lambda t: imgpkg_load(t, what="images.yml"), InvalidBundleError),
        (configmap_load, InvalidBundleError),
        (lambda t: parse_pull_secret(t, "secret.yaml"), ConfigError),
        (_icsp(tmp_path), ConfigError),
        (render_load, DecodeError),
    ]
    for read, error in readers:
        try:
            read(text)
        except error:
            continue
        except Exception as exc:  # noqa: BLE001 - the failure this test is about
            pytest.fail(f"{tagged!r}: {type(exc).__name__}: {exc}")


@pytest.mark.parametrize("tagged", TAGGED)
def test_configmap_file_placement_reads_a_mistagged_document_as_no_metadata(tagged: str) -> None:
    from imgextract.outputs.configmap.layout import is_metadata

    assert is_metadata(f"annotations:\n  x: {tagged}\n".encode()) is False
