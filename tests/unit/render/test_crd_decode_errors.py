"""A CRD whose fields have the wrong JSON type, as opm reports it.

``Bundle.cache`` (operator-registry ``pkg/registry/bundle.go``) decodes each CRD with the API
machinery's deserializer and wraps its error: ``error decoding v1 CRD: %v``.  The deserializer's
type errors are ``encoding/json``'s: ``json: cannot unmarshal <JSON type> into Go struct field
<struct>.<path> of type <Go type>``, the path being the JSON field names from the object's root.
A ``null`` leaves a field at its zero value (no error).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from imgextract.catalog.render.bundle import BundleError, render_bundle

WIDGET = Path(__file__).resolve().parents[2] / "data" / "render" / "widget-operator"
CRD = "manifests/example.com_widgets.yaml"
ORIGINAL = "  names:\n    kind: Widget\n"


def _bundle(tmp_path: Path, old: str, new: str) -> Path:
    root = tmp_path / "bundle"
    shutil.copytree(WIDGET, root)
    crd = root / CRD
    text = crd.read_text()
    assert old in text, old
    crd.write_text(text.replace(old, new, 1))
    return root


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            ORIGINAL,
            "  names: oops\n  was:\n    kind: Widget\n",
            "Go struct field CustomResourceDefinitionSpec.spec.names of type v1.CustomResourceDefinitionNames",
        ),
        (
            "  group: example.com\n",
            "  group: 7\n",
            "number into Go struct field CustomResourceDefinitionSpec.spec.group of type string",
        ),
        (
            ORIGINAL,
            "  names:\n    kind: [Widget]\n",
            "array into Go struct field CustomResourceDefinitionNames.spec.names.kind of type string",
        ),
        (
            "  - name: v1alpha1\n",
            "  - name: 1.5\n",
            "number into Go struct field CustomResourceDefinitionVersion.spec.versions.name of type string",
        ),
        (
            "  versions:\n  - name: v1alpha1\n",
            "  versions:\n  - oops\n  - name: v1alpha1\n",
            "string into Go struct field CustomResourceDefinitionSpec.spec.versions "
            "of type v1.CustomResourceDefinitionVersion",
        ),
    ],
)
def test_a_crd_field_of_the_wrong_type(tmp_path: Path, old: str, new: str, message: str) -> None:
    with pytest.raises(BundleError) as exc:
        render_bundle(_bundle(tmp_path, old, new), image="r/b:1")
    assert str(exc.value).startswith("error decoding v1 CRD: json: cannot unmarshal "), exc.value
    assert str(exc.value).endswith(message), exc.value


def test_a_null_field_is_its_zero_value(tmp_path: Path) -> None:
    """``null`` in a list of versions decodes to an empty version: no error, as Go's decoder."""
    bundle = render_bundle(_bundle(tmp_path, "  versions:\n", "  versions:\n  - null\n"), image="r/b:1")
    assert bundle.name
