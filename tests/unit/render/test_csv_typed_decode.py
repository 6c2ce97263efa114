"""The CSV parts opm decodes into typed Go structs, and the errors Go's json.Unmarshal gives for them.

``registry.ClusterServiceVersion.GetOperatorImages`` (called by ``getRelatedImages`` in
operator-registry ``alpha/action/render.go`` for every rendered bundle) unmarshals the CSV spec into a
struct whose deployments are ``apps/v1.DeploymentSpec``: ``Install`` (untagged, so its Go name in the
error path), ``spec``, ``Deployments``, ``Spec``.  encoding/json reports the first type mismatch as
``json: cannot unmarshal <kind> into Go struct field <innermost struct>.<JSON path> of type <Go type>``
after decoding everything; a type with its own UnmarshalJSON (``resource.Quantity``,
``intstr.IntOrString``) fails at once and its error wins.  The spec JSON opm decodes was written from
a map, so its keys come in byte order.  The migration to ``olm.csv.metadata`` unmarshals the whole CSV
into operator-framework/api's ``v1alpha1.ClusterServiceVersion``, whose deployments are the same type.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from imgextract.catalog.render.bundle import BundleError, render_bundle

WIDGET = Path(__file__).resolve().parents[2] / "data" / "render" / "widget-operator"
CSV_FILE = "widget-operator.clusterserviceversion.yaml"
PREFIX = 'get related images for bundle "widget-operator.v1.2.0": '
DEP = "Install.spec.Deployments.Spec"


def _bundle(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    root = tmp_path / "b"
    shutil.copytree(WIDGET, root)
    path = root / "manifests" / CSV_FILE
    csv = yaml.safe_load(path.read_text())
    edit(csv["spec"]["install"]["spec"]["deployments"][0]["spec"])
    path.write_text(yaml.safe_dump(csv))
    return root


def _manager(spec: dict[str, Any]) -> dict[str, Any]:
    c: dict[str, Any] = spec["template"]["spec"]["containers"][0]
    return c


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(spec: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = _manager(spec) if parents[:1] == ["manager"] else spec
        for p in parents[1:] if parents[:1] == ["manager"] else parents:
            node = node.setdefault(p, {})
        node[last] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            _set("replicas", "3"),
            f"json: cannot unmarshal string into Go struct field DeploymentSpec.{DEP}.replicas of type int32",
        ),
        (
            _set("replicas", 1.5),
            f"json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.{DEP}.replicas of type int32",
        ),
        (
            _set("replicas", 3_000_000_000),
            "json: cannot unmarshal number 3000000000 into Go struct field "
            f"DeploymentSpec.{DEP}.replicas of type int32",
        ),
        (
            _set("manager.env", [{"name": "PORT", "value": 8080}]),
            "json: cannot unmarshal number into Go struct field "
            f"EnvVar.{DEP}.template.spec.containers.env.value of type string",
        ),
        (
            _set("manager.ports", [{"containerPort": "8080"}]),
            "json: cannot unmarshal string into Go struct field "
            f"ContainerPort.{DEP}.template.spec.containers.ports.containerPort of type int32",
        ),
        (
            _set("template.metadata.labels", {"tier": True}),
            "json: cannot unmarshal bool into Go struct field "
            f"ObjectMeta.{DEP}.template.metadata.labels of type string",
        ),
        (
            _set("template.spec.containers", {"name": "x"}),
            "json: cannot unmarshal object into Go struct field PodSpec.{DEP}.template.spec.containers "
            "of type []v1.Container".replace("{DEP}", DEP),
        ),
        (
            _set("manager.resources", {"limits": {"cpu": "1 core"}}),
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        ),
        (
            _set("manager.resources", {"limits": {"memory": "64K"}}),  # "k" or "Ki"
            "unable to parse quantity's suffix",
        ),
        (
            _set("manager.livenessProbe", {"httpGet": {"port": 80.5}}),
            "json: cannot unmarshal number 80.5 into Go struct field "
            f"HTTPGetAction.{DEP}.template.spec.containers.livenessProbe.httpGet.port of type int32",
        ),
    ],
)
def test_wrong_types_in_a_deployment_fail_as_in_opm(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None], message: str
) -> None:
    with pytest.raises(BundleError) as exc:
        render_bundle(_bundle(tmp_path, edit))
    assert str(exc.value) == PREFIX + message


def test_values_go_accepts_render(tmp_path: Path) -> None:
    # a float Go writes as an integer, a numeric quantity, a string or integer IntOrString, nulls
    def edit(spec: dict[str, Any]) -> None:
        spec["replicas"] = 2.0
        spec["strategy"] = {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}}
        spec["template"]["metadata"]["creationTimestamp"] = None
        _manager(spec)["resources"] = {"limits": {"cpu": 0.5, "memory": "1.5Gi"}, "requests": {"cpu": "100m"}}
        _manager(spec)["livenessProbe"] = {"tcpSocket": {"port": "metrics"}, "periodSeconds": None}

    b = render_bundle(_bundle(tmp_path, edit))
    assert ("", "quay.example.com/widgets/init:v1") in b.related_images


def test_first_type_error_wins_but_an_unmarshaler_error_wins_over_it(tmp_path: Path) -> None:
    # keys in byte order: "replicas" < "strategy" < "template"; the first mismatch is reported ...
    def two_mismatches(spec: dict[str, Any]) -> None:
        spec["replicas"] = "1"
        spec["paused"] = "no"  # "paused" < "replicas": this one comes first

    with pytest.raises(
        BundleError, match=r"DeploymentSpec\.Install\.spec\.Deployments\.Spec\.paused of type bool"
    ):
        render_bundle(_bundle(tmp_path / "a", two_mismatches))

    # ... unless a later value fails in its own UnmarshalJSON, which stops decoding at once
    def then_quantity(spec: dict[str, Any]) -> None:
        spec["replicas"] = "1"
        _manager(spec)["resources"] = {"requests": {"cpu": "lots"}}

    with pytest.raises(BundleError, match="quantities must match"):
        render_bundle(_bundle(tmp_path / "b", then_quantity))


def test_deployments_are_decoded_whatever_the_strategy_name(tmp_path: Path) -> None:
    # GetOperatorImages unmarshals the whole csvSpec before it compares the strategy name
    root = tmp_path / "b"
    shutil.copytree(WIDGET, root)
    path = root / "manifests" / CSV_FILE
    csv = yaml.safe_load(path.read_text())
    csv["spec"]["install"]["strategy"] = "other"
    csv["spec"]["install"]["spec"]["deployments"][0]["spec"]["replicas"] = "3"
    path.write_text(yaml.safe_dump(csv))
    with pytest.raises(BundleError, match="replicas of type int32"):
        render_bundle(root)


def test_related_images_of_the_wrong_type(tmp_path: Path) -> None:
    # getRelatedImages: spec.relatedImages into []declcfg.RelatedImage, a separate json.Unmarshal
    root = tmp_path / "b"
    shutil.copytree(WIDGET, root)
    path = root / "manifests" / CSV_FILE
    csv = yaml.safe_load(path.read_text())
    csv["spec"]["relatedImages"] = [{"name": "a", "image": 5}]
    path.write_text(yaml.safe_dump(csv))
    with pytest.raises(BundleError) as exc:
        render_bundle(root)
    assert str(exc.value) == (
        PREFIX + "json: cannot unmarshal number into Go struct field RelatedImage.image of type string"
    )


def _catalog(tmp_path: Path, replicas: Any, with_metadata: bool = False) -> Path:
    import base64
    import json

    csv = {
        "apiVersion": "operators.coreos.com/v1alpha1",
        "kind": "ClusterServiceVersion",
        "metadata": {"name": "p.v1"},
        "spec": {
            "version": "1.0.0",
            "install": {
                "strategy": "deployment",
                "spec": {"deployments": [{"name": "d", "spec": {"replicas": replicas}}]},
            },
        },
    }
    props: list[dict[str, Any]] = [
        {"type": "olm.package", "value": {"packageName": "p", "version": "1.0.0"}},
        {"type": "olm.bundle.object", "value": {"data": base64.b64encode(json.dumps(csv).encode()).decode()}},
    ]
    if with_metadata:
        props.append({"type": "olm.csv.metadata", "value": {"displayName": "P"}})
    bundle = {"schema": "olm.bundle", "name": "p.v1", "package": "p", "image": "r/p:1", "properties": props}
    root = tmp_path / "cat"
    root.mkdir(parents=True)
    (root / "c.json").write_text(json.dumps(bundle))
    return root


def test_migration_decodes_the_csv_deployments_as_typed_structs(tmp_path: Path) -> None:
    # convertObjectsToCSVMetadata: json.Unmarshal(CsvJSON, &v1alpha1.ClusterServiceVersion) fails on a
    # deployment field of the wrong type; without a migration the catalog renders (LoadFS decodes no CSV)
    from imgextract.catalog.render.pipeline import RenderError, RenderOptions, render_refs

    root = _catalog(tmp_path, "3")
    assert render_refs([str(root)])[0]["name"] == "p.v1"
    with pytest.raises(RenderError) as exc:
        render_refs([str(root)], options=RenderOptions(migrate_level="bundle-object-to-csv-metadata"))
    assert str(exc.value) == (
        "migrate: json: cannot unmarshal string into Go struct field "
        "DeploymentSpec.spec.install.spec.deployments.spec.replicas of type int32"
    )


def test_migration_leaves_a_bundle_with_csv_metadata_alone(tmp_path: Path) -> None:
    # migrations.bundleObjectToCSVMetadata: a bundle that already has olm.csv.metadata only gets that
    # property minified through property.CSVMetadata; its CSV is not decoded, so a bad one is no error
    from imgextract.catalog.render.pipeline import RenderOptions, render_refs

    opts = RenderOptions(migrate_level="bundle-object-to-csv-metadata")
    [out] = render_refs([str(_catalog(tmp_path, 1.5, with_metadata=True))], options=opts)
    assert [p["type"] for p in out["properties"]] == ["olm.package", "olm.bundle.object", "olm.csv.metadata"]
    assert str(out["properties"][2]["value"]) == (
        '{"apiServiceDefinitions":{},"crdDescriptions":{},"displayName":"P","provider":{}}'
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "    group: 5\n    kind: Cache\n    version: v1\n",
            'parse property[0] of type "olm.gvk": '
            "json: cannot unmarshal number into Go struct field GVK.group of type string",
        ),
        (
            "    - cache.example.com\n",
            'parse property[0] of type "olm.gvk": json: cannot unmarshal array into Go value of type property.GVK',
        ),
    ],
)
def test_dependency_values_of_the_wrong_type(tmp_path: Path, value: str, message: str) -> None:
    # ObjectsAndPropertiesFromBundle: json.Unmarshal of an olm.gvk dependency into property.GVK fails
    # with property.ParseError ("parse property[%d] of type %q: %v"), under "get properties for bundle"
    root = tmp_path / "b"
    shutil.copytree(WIDGET, root)
    deps = root / "metadata" / "dependencies.yaml"
    text = deps.read_text()
    start = text.index("  value:\n") + len("  value:\n")
    end = text.index("- type: olm.package")
    deps.write_text(text[:start] + value + text[end:])
    with pytest.raises(BundleError) as exc:
        render_bundle(root)
    assert str(exc.value) == 'get properties for bundle "widget-operator.v1.2.0": ' + message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("generation", "2"),
        ("creationTimestamp", "yesterday"),
        ("finalizers", "one"),
        ("ownerReferences", [5]),
    ],
)
def test_csv_metadata_is_decoded_as_object_meta(tmp_path: Path, field: str, value: Any) -> None:
    # Bundle.cache: runtime.DefaultUnstructuredConverter.FromUnstructured into the registry CSV, whose
    # metav1.ObjectMeta is typed: a mistyped field fails the bundle (before any property is built)
    root = tmp_path / "b"
    shutil.copytree(WIDGET, root)
    path = root / "manifests" / CSV_FILE
    csv = yaml.safe_load(path.read_text())
    csv["metadata"][field] = value
    path.write_text(yaml.safe_dump(csv))
    with pytest.raises(BundleError, match="error decoding CSV metadata: "):
        render_bundle(root)
    csv["metadata"][field] = None  # a null is the zero value
    path.write_text(yaml.safe_dump(csv))
    assert render_bundle(root).name == "widget-operator.v1.2.0"
