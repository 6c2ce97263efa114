"""A CSV ``spec.version`` that is no JSON string, as opm reports it.

``ClusterServiceVersion.GetVersion`` decodes ``spec.version`` into a Go string, so encoding/json names
the JSON kind it found. ``bundleParser.derivedProperties`` asks for the version first when the
bundle's annotations name a package (``Parse`` then says "failed to derive properties"); without a
package the first to ask is ``ObjectsAndPropertiesFromBundle`` ("get version").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imgextract.catalog.render.bundle import BundleError, render_bundle

CSV = """\
apiVersion: operators.coreos.com/v1alpha1
kind: ClusterServiceVersion
metadata:
  name: kinds-operator.v1.0.0
spec:
  version: {version}
"""


def _bundle(tmp_path: Path, version: str, package: str) -> Path:
    root = tmp_path / "bundle"
    (root / "manifests").mkdir(parents=True)
    (root / "metadata").mkdir()
    (root / "manifests" / "csv.yaml").write_text(CSV.format(version=version))
    (root / "metadata" / "annotations.yaml").write_text(
        f"annotations:\n  operators.operatorframework.io.bundle.package.v1: {package}\n"
        "  operators.operatorframework.io.bundle.channels.v1: alpha\n"
    )
    return root


@pytest.mark.parametrize(
    ("version", "kind"),
    [("1.0", "number"), ("2", "number"), ("yes", "bool"), ("[1, 0]", "array"), ("{major: 1}", "object")],
)
def test_derived_properties_names_the_json_kind(tmp_path: Path, version: str, kind: str) -> None:
    """``bundleParser.Parse``: ``derivedProperties`` fails on ``Bundle.Version`` (``GetVersion``'s
    json.Unmarshal into a string) and Parse wraps it as "failed to derive properties: %s"."""
    root = _bundle(tmp_path, version, "kinds-operator")
    with pytest.raises(BundleError) as err:
        render_bundle(root)
    assert str(err.value) == (
        f"failed to derive properties: json: cannot unmarshal {kind} into Go value of type string"
    )


def test_without_a_package_objects_and_properties_asks_first(tmp_path: Path) -> None:
    """``ObjectsAndPropertiesFromBundle``: ``b.Version()`` fails as "get version: %v", inside
    ``bundleToDeclcfg``'s "get properties for bundle %q: %v"."""
    root = _bundle(tmp_path, "true", '""')
    with pytest.raises(BundleError) as err:
        render_bundle(root)
    assert str(err.value) == (
        'get properties for bundle "kinds-operator.v1.0.0": get version: '
        "json: cannot unmarshal bool into Go value of type string"
    )
