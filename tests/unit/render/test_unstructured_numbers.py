"""Numbers of a bundle object as opm's ``unstructured.Unstructured`` holds them.

A YAML manifest reaches the object through ``sigs.k8s.io/yaml.YAMLToJSON`` (go-yaml v2 values written
by ``encoding/json``) and is then decoded again by apimachinery's ``UnstructuredJSONScheme``, which
keeps every number that ``strconv.ParseInt`` accepts as an int64. A JSON manifest is decoded once.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from imgextract.catalog.render.bundle import render_bundle

CSV = """\
apiVersion: operators.coreos.com/v1alpha1
kind: ClusterServiceVersion
metadata:
  name: zero-operator.v0.1.0
spec:
  version: 0.1.0
  install:
    strategy: deployment
    spec:
      deployments: []
"""

ANNOTATIONS = """\
annotations:
  operators.operatorframework.io.bundle.mediatype.v1: registry+v1
  operators.operatorframework.io.bundle.package.v1: zero-operator
  operators.operatorframework.io.bundle.channels.v1: alpha
"""


def _bundle(tmp_path: Path, name: str, text: str) -> Path:
    root = tmp_path / "bundle"
    (root / "manifests").mkdir(parents=True)
    (root / "metadata").mkdir()
    (root / "manifests" / "zero.clusterserviceversion.yaml").write_text(CSV)
    (root / "manifests" / name).write_text(text)
    (root / "metadata" / "annotations.yaml").write_text(ANNOTATIONS)
    return root


def _object(root: Path, kind: str) -> str:
    for p in render_bundle(root).properties:
        if p.type == "olm.bundle.object":
            text = base64.b64decode(json.loads(p.value)["data"]).decode()
            if json.loads(text)["kind"] == kind:
                return text
    raise AssertionError(f"no {kind} object")


@pytest.mark.parametrize("written", ["-0.0", "-0e0", "-.0", "-0.", "-0.000"])
def test_yaml_negative_zero_float_becomes_int_zero(tmp_path: Path, written: str) -> None:
    """``ObjectsAndPropertiesFromBundle`` marshals the object that ``decodeFileFS`` decoded: YAMLToJSON
    writes go-yaml's float64 -0 as ``-0``, which apimachinery's ``UnstructuredJSONScheme`` (PreserveInts)
    reads back as the int64 0, so opm's object says 0."""
    root = _bundle(
        tmp_path, "limits.yaml", f"apiVersion: v1\nkind: LimitRange\nspec:\n  zero: {written}\n  half: -0.5\n"
    )
    assert (
        _object(root, "LimitRange") == '{"apiVersion":"v1","kind":"LimitRange","spec":{"half":-0.5,"zero":0}}'
    )


def test_json_negative_zero_float_stays_negative_zero(tmp_path: Path) -> None:
    """``decodeFileFS`` on a JSON manifest: encoding/json reads ``-0.0`` as a number ParseInt refuses,
    so apimachinery keeps the float64 -0, which ``json.Marshal`` writes as ``-0``; ``-0`` itself is
    the int64 0."""
    root = _bundle(
        tmp_path, "limits.json", '{"apiVersion": "v1", "kind": "LimitRange", "spec": {"f": -0.0, "i": -0}}'
    )
    assert _object(root, "LimitRange") == '{"apiVersion":"v1","kind":"LimitRange","spec":{"f":-0,"i":0}}'
