"""Bundle directory -> olm.bundle, rule by rule (operator-registry functions cited per test).

The fixture bundle tests/data/render/widget-operator was written for these tests; each expectation
below is worked out by hand from the cited Go function, not taken from this implementation's output.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from imgextract.catalog.render.bundle import BundleError, render_bundle
from imgextract.catalog.render.migrate import migrate_bundle

WIDGET = Path(__file__).resolve().parents[2] / "data" / "render" / "widget-operator"
IMAGE = "registry.example.com/widgets/bundle:v1.2.0"


@pytest.fixture(scope="module")
def widget() -> object:
    return render_bundle(WIDGET, image=IMAGE)


def _objects(b: object) -> list[str]:
    return [
        base64.b64decode(json.loads(p.value)["data"]).decode()
        for p in b.properties  # type: ignore[attr-defined]
        if p.type == "olm.bundle.object"
    ]


def test_objects_first_document_first_csv_no_dotfiles(widget: object) -> None:
    # bundleParser.addManifests: files by name, dotfiles skipped, one document per file, undecodable or
    # kind-less skipped (aa-commented.yaml's first document is its comment), only the first CSV
    kinds = [json.loads(o)["kind"] + "/" + json.loads(o)["metadata"]["name"] for o in _objects(widget)]
    assert sorted(kinds) == sorted(
        [
            "ConfigMap/widget-config",  # config.json
            "CustomResourceDefinition/widgets.example.com",  # example.com_widgets.yaml
            "CustomResourceDefinition/gadgets.example.com",  # gadgets.crd.yaml
            "Service/widget-metrics",  # service.yaml (its Secret is the second document)
            "ClusterServiceVersion/widget-operator.v1.2.0",  # widget-operator.clusterserviceversion.yaml
        ]
    )
    # like every property, the bundle objects are ordered by their value's bytes (the base64 text)
    values = [p.value for p in widget.properties if p.type == "olm.bundle.object"]  # type: ignore[attr-defined]
    assert values == sorted(values)


def test_bundle_object_is_go_json_marshal(widget: object) -> None:
    # ObjectsAndPropertiesFromBundle: json.Marshal(unstructured): sorted keys, HTML escaped, int64 or
    # float64 numbers written by encoding/json (YAML 0x1F90 -> 8080, 8_443 -> 8443, 0.10 -> 0.1, the
    # key "on" -> bool true -> "true", value y -> true)
    objs = {json.loads(o)["metadata"]["name"]: o for o in _objects(widget)}
    assert objs["widget-metrics"] == (
        '{"apiVersion":"v1","kind":"Service","metadata":{"annotations":{"ratio":0.1,"true":false,'
        '"yes-key":true},"name":"widget-metrics"},"spec":{"ports":[{"port":8080,"targetPort":8443}],'
        '"selector":{"app":"widget-operator"}}}'
    )
    # JSON file: \u2028 and <>& escaped, uint64-sized int becomes float64, 1E+2 -> 100, 1.0 -> 1
    assert objs["widget-config"] == (
        '{"apiVersion":"v1","binaryData":null,"data":{"html":"\\u003cb\\u003ebold\\u003c/b\\u003e '
        '\\u0026 \\u2028 done","ratio":"1.0"},"extra":{"big":12345678901234567000,"e":100,"n":1},'
        '"kind":"ConfigMap","metadata":{"name":"widget-config"}}'
    )
    crd = json.loads(objs["widgets.example.com"])
    props = crd["spec"]["versions"][2]["schema"]["openAPIV3Schema"]["properties"]
    assert '"huge":{"default":18446744073709552000,' in objs["widgets.example.com"]
    assert '"tiny":{"default":1.5e-7,' in objs["widgets.example.com"]
    assert props["size"] == {"maximum": 1000, "minimum": 1, "multipleOf": 0.5, "type": "number"}


def _props(b: object) -> list[tuple[str, str]]:
    return [(p.type, p.value) for p in b.properties if p.type != "olm.bundle.object"]  # type: ignore[attr-defined]


def test_properties_derivation_and_order(widget: object) -> None:
    # ObjectsAndPropertiesFromBundle + bundleParser.derivedProperties:
    # - olm.gvk: every version of every CRD (v1beta1: spec.version too), owned APIServices,
    #   olm.gvk properties (properties.yaml) -- rebuilt by MustBuildGVK (no HTML escaping)
    # - olm.gvk.required: dependencies.yaml gvks, required CRDs (plural.group split), required APIServices
    # - olm.package: the last one wins (CSV olm.properties annotation after annotations.yaml), rebuilt
    # - olm.package.required: dependencies.yaml olm.package, versionRange = its version, not escaped
    # - other properties/dependencies verbatim: YAML ones are json.Marshal output (HTML escaped, keys
    #   sorted), the CSV annotation's keep their bytes (spaces, 1.0, raw <)
    # - sorted by type, then value bytes; olm.bundle.object moved last
    gvk = '{{"group":"{}","kind":"{}","version":"{}"}}'.format
    assert _props(widget) == [
        ("example.com/tier", '{"level": 1.0, "note": "a < b"}'),
        ("example.com/weights", '{"a":2.5,"b":1,"c":"x\\u003cy"}'),
        (
            "olm.constraint",
            '{"all":{"constraints":[{"package":{"packageName":"cache-operator","versionRange":"\\u003e=0.5.0"}},'
            '{"gvk":{"group":"cache.example.com","kind":"Cache","version":"v1"}}]},'
            '"failureMessage":"requires \\u003ccache\\u003e \\u0026 db"}',
        ),
        ("olm.gvk", gvk("example.com", "Gadget", "v1")),
        ("olm.gvk", gvk("example.com", "Gadget", "v2")),
        ("olm.gvk", gvk("example.com", "Widget", "v1")),
        ("olm.gvk", gvk("example.com", "Widget", "v1alpha1")),
        ("olm.gvk", gvk("example.com", "Widget", "v1beta1")),
        ("olm.gvk", gvk("extra.example.com", "Extra", "v1")),
        ("olm.gvk", gvk("metrics.example.com", "Metric", "v1")),
        ("olm.gvk.required", gvk("auth.example.com", "Token", "v1beta1")),
        ("olm.gvk.required", gvk("cache.example.com", "Cache", "v1")),
        ("olm.gvk.required", gvk("db.example.org", "Database", "v1")),
        ("olm.label", '{"label":"tier\\u0026gold"}'),
        ("olm.maxOpenShiftVersion", "4.16"),
        ("olm.package", '{"packageName":"widget-operator","version":"1.2.0"}'),
        ("olm.package.required", '{"packageName":"database-operator","versionRange":">=1.0.0 <2.0.0"}'),
    ]
    types = [p.type for p in widget.properties]  # type: ignore[attr-defined]
    assert types[-5:] == ["olm.bundle.object"] * 5


def test_related_images(widget: object) -> None:
    # getRelatedImages: spec.relatedImages, then the bundle image and the deployment's container and
    # init container images (name ""), each image once; Render.Run sorts by image
    assert widget.related_images == [  # type: ignore[attr-defined]
        ("", "quay.example.com/widgets/init:v1"),
        ("operator", "quay.example.com/widgets/operator:v1.2.0"),
        ("proxy", "quay.example.com/widgets/proxy@sha256:" + "1" * 64),
        ("", "quay.example.com/widgets/sidecar:v3"),
        ("", IMAGE),
    ]


def test_directory_has_no_image_and_template_sets_it() -> None:
    # renderBundleDirectory: image "" (no bundle image in relatedImages) unless --image-ref-template
    b = render_bundle(WIDGET)
    assert b.image == "" and IMAGE not in [i for _n, i in b.related_images]
    t = render_bundle(WIDGET, image_template="quay.example.com/{{.Package}}:v{{ .Version }}-{{.Name}}")
    assert t.image == "quay.example.com/widget-operator:v1.2.0-widget-operator.v1.2.0"


def test_csv_metadata_migration(widget: object) -> None:
    # migrations.bundleObjectToCSVMetadata + property.MustBuildCSVMetadata: olm.bundle.object dropped,
    # one olm.csv.metadata appended: struct field order, omitempty, provider always present, no HTML
    # escaping, descriptor value a RawMessage of the CSV JSON (1.0 -> 1)
    b = render_bundle(WIDGET, image=IMAGE)
    migrate_bundle(b, "bundle-object-to-csv-metadata")
    assert [p.type for p in b.properties].count("olm.bundle.object") == 0
    last = b.properties[-1]
    assert last.type == "olm.csv.metadata"
    v = last.value
    assert v.startswith('{"annotations":{"capabilities":"Basic Install","categories":"Developer Tools",')
    assert '"description":"Widgets <for> everyone & more"' in v
    assert (
        '"apiServiceDefinitions":{"owned":[{"name":"metrics","group":"metrics.example.com","version":"v1",'
        in v
    )
    assert (
        '"kind":"Metric","deploymentName":"widget-operator","containerPort":8443,"displayName":"Metric"}]'
        in v
    )
    assert (
        '"specDescriptors":[{"path":"size","displayName":"Size","x-descriptors":'
        '["urn:alm:descriptor:com.tectonic.ui:number"],"value":1}]' in v
    )
    assert v.endswith(
        '"maintainers":[{"name":"Widget Team","email":"widgets@example.com"}],"maturity":"stable",'
        '"minKubeVersion":"1.25.0","nativeAPIs":[{"group":"","version":"v1","kind":"ConfigMap"}],'
        '"provider":{"name":"Example <Inc>"}}'
    )
    # a directory without an image keeps its bundle objects (the migration needs an image)
    d = migrate_bundle(render_bundle(WIDGET), "bundle-object-to-csv-metadata")
    assert [p.type for p in d.properties].count("olm.bundle.object") == 5


def _bundle(tmp_path: Path) -> Path:
    root = tmp_path / "b"
    shutil.copytree(WIDGET, root)
    return root


def test_no_csv_is_an_error(tmp_path: Path) -> None:
    # bundleParser.addManifests: "no csv in bundle"
    root = _bundle(tmp_path)
    for p in (root / "manifests").glob("*clusterserviceversion*"):
        p.unlink()
    with pytest.raises(BundleError, match="no csv in bundle"):
        render_bundle(root)


def test_no_objects_is_an_error(tmp_path: Path) -> None:
    root = _bundle(tmp_path)
    for p in (root / "manifests").iterdir():
        p.unlink()
    (root / "manifests" / "broken.yaml").write_text("kind: [unclosed\n")
    with pytest.raises(BundleError, match="no bundle objects found"):
        render_bundle(root)


def test_missing_annotations_is_an_error(tmp_path: Path) -> None:
    # bundleParser.addMetadata: "Could not find annotations file"
    root = _bundle(tmp_path)
    (root / "metadata" / "annotations.yaml").unlink()
    with pytest.raises(BundleError, match="Could not find annotations file"):
        render_bundle(root)


def test_annotations_found_by_content(tmp_path: Path) -> None:
    root = _bundle(tmp_path)
    (root / "metadata" / "annotations.yaml").rename(root / "metadata" / "zz-any-name.yml")
    assert render_bundle(root).package == "widget-operator"


def test_owned_crd_must_be_in_bundle(tmp_path: Path) -> None:
    # Bundle.AllProvidedAPIsInBundle
    root = _bundle(tmp_path)
    (root / "manifests" / "gadgets.crd.yaml").unlink()
    with pytest.raises(BundleError, match=r"couldn't find example.com/v2/Gadget \(gadgets\) in bundle"):
        render_bundle(root)


def test_bad_annotation_type_in_csv_metadata_is_an_error(tmp_path: Path) -> None:
    # Bundle.cache: FromUnstructured into ObjectMeta rejects a non-string annotation
    root = _bundle(tmp_path)
    csv = root / "manifests" / "widget-operator.clusterserviceversion.yaml"
    csv.write_text(csv.read_text().replace("capabilities: Basic Install", "capabilities: 3"))
    with pytest.raises(BundleError, match="annotations"):
        render_bundle(root)


def test_symlink_out_of_bundle_is_not_followed(tmp_path: Path) -> None:
    root = _bundle(tmp_path)
    secret = tmp_path / "secret.yaml"
    secret.write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: host-secret}\n")
    (root / "manifests" / "link.yaml").symlink_to(secret)
    assert all("host-secret" not in o for o in _objects(render_bundle(root)))


def test_migration_needs_a_semver_csv_version(tmp_path: Path) -> None:
    # OperatorVersion.UnmarshalJSON (blang/semver ParseTolerant): "v1.2" is fine, "1.2-rc1" is not
    from imgextract.catalog.render.migrate import MigrationError

    root = _bundle(tmp_path)
    csv = root / "manifests" / "widget-operator.clusterserviceversion.yaml"
    csv.write_text(csv.read_text().replace("  version: 1.2.0\n", "  version: v1.2\n"))
    assert migrate_bundle(render_bundle(root, image=IMAGE), "bundle-object-to-csv-metadata")
    csv.write_text(csv.read_text().replace("  version: v1.2\n", "  version: 1.2-rc1\n"))
    with pytest.raises(MigrationError, match="Short version"):
        migrate_bundle(render_bundle(root, image=IMAGE), "bundle-object-to-csv-metadata")


@pytest.mark.parametrize(
    ("version", "ok"),
    [
        ("1.2.0-18446744073709551615", True),
        ("1.2.0-18446744073709551616", False),
        ("1.2.0-rc.99999999999999999999", False),
        ("18446744073709551616.2.0", False),
    ],
)
def test_migration_refuses_a_prerelease_number_past_uint64(tmp_path: Path, version: str, ok: bool) -> None:
    """``OperatorVersion.UnmarshalJSON`` (blang/semver ``ParseTolerant``, then ``NewPRVersion``): a
    number (MAJOR, MINOR, PATCH or a numeric pre-release identifier) is read with
    ``strconv.ParseUint(s, 10, 64)``, so one past 18446744073709551615 fails the CSV decode, hence
    the migration, with Go's message."""
    from imgextract.catalog.render.migrate import MigrationError

    root = _bundle(tmp_path)
    csv = root / "manifests" / "widget-operator.clusterserviceversion.yaml"
    csv.write_text(csv.read_text().replace("  version: 1.2.0\n", f"  version: {version}\n"))
    if ok:
        assert migrate_bundle(render_bundle(root, image=IMAGE), "bundle-object-to-csv-metadata")
        return
    with pytest.raises(MigrationError, match="value out of range"):
        migrate_bundle(render_bundle(root, image=IMAGE), "bundle-object-to-csv-metadata")


@pytest.mark.parametrize("version", ["1.2.0-" + "9" * 5000, "9" * 5000 + ".2.0", "1.2." + "9" * 5000])
def test_migration_names_a_number_of_thousands_of_digits_as_go_does(tmp_path: Path, version: str) -> None:
    """A CSV number too long for ``strconv.ParseUint`` fails with Go's message, whatever its
    length: not with Python's refusal to convert more than 4300 digits to an int."""
    from imgextract.catalog.render.migrate import MigrationError

    root = _bundle(tmp_path)
    csv = root / "manifests" / "widget-operator.clusterserviceversion.yaml"
    csv.write_text(csv.read_text().replace("  version: 1.2.0\n", f"  version: {version}\n"))
    with pytest.raises(MigrationError, match=r'strconv\.ParseUint: parsing "9{5000}": value out of range'):
        migrate_bundle(render_bundle(root, image=IMAGE), "bundle-object-to-csv-metadata")
