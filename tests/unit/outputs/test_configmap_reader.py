"""Reading ConfigMaps written by opm/OLM (no file-name map) and rejecting malformed ones."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest

from imgextract.errors import InvalidBundleError, LimitExceeded
from imgextract.outputs.configmap import build_configmaps, load_yaml, read
from imgextract.outputs.configmap import reader as configmap_reader
from tests.unit.outputs import bundle_factory as bf

CSV = b"apiVersion: operators.coreos.com/v1alpha1\nkind: ClusterServiceVersion\nmetadata:\n  name: etcd.v0.9.4\n"
CRD = b"apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: x.y\n"
DEPS = b"dependencies:\n- type: olm.package\n  value:\n    packageName: p\n    version: '>1'\n"
PROPS = b'{"properties": [{"type": "olm.maxOpenShiftVersion", "value": "4.16"}]}\n'


def opm_configmap(data: dict[str, bytes], *, gzip_b64: bool) -> dict[str, Any]:
    """What `opm alpha bundle extract [-z]` stores, as `kubectl get -o yaml` shows it."""
    ann = dict(bf.annotations_for("etcd"), **{"olm.sourceImage": "quay.io/x/etcd:v1"})
    cm: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "abc",
            "namespace": "olm",
            "annotations": ann,
            "labels": {"olm.managed": "true"},
        },
    }
    if gzip_b64:
        ann["olm.contentEncoding"] = "gzip+base64"
        # Go: BinaryData[key] = []byte(GzipBase64Encode(file)); JSON encodes []byte as base64 again.
        cm["binaryData"] = {
            k: base64.b64encode(base64.b64encode(gzip.compress(v))).decode() for k, v in data.items()
        }
    else:
        cm["data"] = {k: v.decode() for k, v in data.items()}
    return cm


OPM_FILES = {
    "etcdoperator.v0.9.4.clusterserviceversion.yaml": CSV,
    "etcdclusters.crd.yaml": CRD,
    "dependencies.yaml": DEPS,
    "props.json": PROPS,
}
EXPECTED = {
    "manifests/etcdoperator.v0.9.4.clusterserviceversion.yaml": CSV,
    "manifests/etcdclusters.crd.yaml": CRD,
    "metadata/dependencies.yaml": DEPS,
    "metadata/props.json": PROPS,
}


@pytest.mark.parametrize("gz", [False, True])
def test_reads_opm_configmaps(gz: bool) -> None:
    assert read([opm_configmap(OPM_FILES, gzip_b64=gz)]) == EXPECTED


def test_reads_opm_yaml_as_kubectl_prints_it() -> None:
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: abc\n  annotations:\n"
        "    olm.contentEncoding: gzip+base64\n"
        "binaryData:\n  dependencies.yaml: "
        + base64.b64encode(base64.b64encode(gzip.compress(DEPS))).decode()
        + "\n"
    )
    assert read(load_yaml(text)) == {"metadata/dependencies.yaml": DEPS}


def test_single_base64_gzip_is_tolerated() -> None:
    cm = opm_configmap({}, gzip_b64=True)
    cm["binaryData"] = {"x.yaml": base64.b64encode(gzip.compress(CRD)).decode()}
    assert read([cm]) == {"manifests/x.yaml": CRD}


def test_plain_binary_data_without_encoding_annotation() -> None:
    cm = opm_configmap({"a.yaml": CRD}, gzip_b64=False)
    cm["binaryData"] = {"logo.png": base64.b64encode(b"\x89PNG\xff").decode()}
    assert read([cm]) == {"manifests/a.yaml": CRD, "manifests/logo.png": b"\x89PNG\xff"}


def test_metadata_classification_is_by_content_not_name() -> None:
    # a Kubernetes object with metadata.annotations stays a manifest; a dependencies document is metadata
    odd = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  annotations:\n    a: b\n"
    cm = opm_configmap({"annotations-like.yaml": odd, "deps.yml": DEPS}, gzip_b64=False)
    assert read([cm]) == {"manifests/annotations-like.yaml": odd, "metadata/deps.yml": DEPS}


def test_bad_base64_is_invalid_bundle() -> None:
    cm = opm_configmap({}, gzip_b64=True)
    cm["binaryData"] = {"x.yaml": "not base64!!"}
    with pytest.raises(InvalidBundleError, match="base64"):
        read([cm])


def test_bad_gzip_is_invalid_bundle() -> None:
    cm = opm_configmap({}, gzip_b64=True)
    cm["binaryData"] = {"x.yaml": base64.b64encode(base64.b64encode(b"\x1f\x8bnot gzip")).decode()}
    with pytest.raises(InvalidBundleError, match="gzip"):
        read([cm])


def test_gzip_expansion_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(configmap_reader, "MAX_FILE_BYTES", 1000)
    cm = opm_configmap({"big.yaml": b"a" * 100_000}, gzip_b64=True)
    with pytest.raises(LimitExceeded):
        read([cm])


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "manifests/../../x", "a//b", ""])
def test_unsafe_recorded_path_rejected(path: str) -> None:
    cm = opm_configmap({"a.yaml": CRD}, gzip_b64=False)
    cm["metadata"]["annotations"]["bundle-extract/file-names"] = json.dumps({"a.yaml": path})
    with pytest.raises(InvalidBundleError):
        read([cm])


def test_malformed_file_names_annotation() -> None:
    cm = opm_configmap({"a.yaml": CRD}, gzip_b64=False)
    cm["metadata"]["annotations"]["bundle-extract/file-names"] = "{not json"
    with pytest.raises(InvalidBundleError):
        read([cm])


def test_two_keys_for_one_path_rejected() -> None:
    cm = opm_configmap({"a.yaml": CRD, "b.yaml": CRD}, gzip_b64=False)
    cm["metadata"]["annotations"]["bundle-extract/file-names"] = json.dumps({"b.yaml": "manifests/a.yaml"})
    with pytest.raises(InvalidBundleError, match="same file"):
        read([cm])


def test_several_unrelated_configmaps_rejected() -> None:
    cm = opm_configmap(OPM_FILES, gzip_b64=False)
    with pytest.raises(InvalidBundleError, match="not parts"):
        read([cm, cm])


def test_parts_from_different_images_rejected() -> None:
    files = bf.random_blobs(3, 400_000)
    common: dict[str, Any] = {
        "name": "b",
        "annotations": bf.annotations_for("etcd"),
        "source_image": "r",
        "split": True,
    }
    a = build_configmaps(files, resolved_digest="sha256:" + "1" * 64, **common)
    b = build_configmaps(files, resolved_digest="sha256:" + "2" * 64, **common)
    assert len(a) == len(b) >= 2
    with pytest.raises(InvalidBundleError, match="different images"):
        read([a[0], *b[1:]])


@pytest.mark.parametrize("part", ["1", "2/2", "x/3", "-1/2"])
def test_malformed_part_annotation(part: str) -> None:
    cm = opm_configmap({"a.yaml": CRD}, gzip_b64=False)
    cm["metadata"]["annotations"]["bundle-extract/part"] = part
    with pytest.raises(InvalidBundleError):
        read([cm])


def test_not_a_configmap() -> None:
    with pytest.raises(InvalidBundleError):
        read([{"apiVersion": "v1", "kind": "Secret"}])
    with pytest.raises(InvalidBundleError):
        read([])


def test_metadata_document_followed_by_more_documents_is_metadata() -> None:
    """opm's bundle parser recognises metadata files by their first document (``decodeFileFS`` decodes
    one document, as go-yaml v2's ``Unmarshal`` does): a dependencies file ending in ``---`` or
    followed by another document is still metadata, not a manifest."""
    deps = DEPS + b"---\n"
    props = b"properties:\n- {type: olm.maxOpenShiftVersion, value: '4.16'}\n---\nkind: Note\n"
    files = read([opm_configmap({"deps.yaml": deps, "props.yaml": props, "csv.yaml": CSV}, gzip_b64=False)])
    assert files == {"metadata/deps.yaml": deps, "metadata/props.yaml": props, "manifests/csv.yaml": CSV}
