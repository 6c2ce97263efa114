from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import json
import re
from typing import Any

import pytest
import yaml

from imgextract.cli.exits import exit_code_for
from imgextract.errors import InvalidBundleError, UsageError
from imgextract.outputs import configmap
from imgextract.outputs.configmap import (
    MAX_DATA_BYTES,
    build_configmaps,
    default_name,
    dump_yaml,
    load_yaml,
    read,
)
from tests.unit.outputs import bundle_factory as bf
from tests.unit.outputs.k8s_schema import validate

KEY_RE = re.compile(r"^[-._a-zA-Z0-9]+$")
DIGEST = "sha256:" + "ab" * 32
REF = "quay.io/example/etcd-bundle:v0.9.4"
BUNDLE_KEYS = [
    "operators.operatorframework.io.bundle.mediatype.v1",
    "operators.operatorframework.io.bundle.manifests.v1",
    "operators.operatorframework.io.bundle.metadata.v1",
    "operators.operatorframework.io.bundle.package.v1",
    "operators.operatorframework.io.bundle.channels.v1",
    "operators.operatorframework.io.bundle.channel.default.v1",
]


@functools.cache
def prometheus() -> dict[str, bytes]:
    return bf.prometheus_like()


def build(files: dict[str, bytes], **kw: Any) -> list[dict[str, Any]]:
    args: dict[str, Any] = {
        "name": "bundle",
        "namespace": "olm",
        "annotations": bf.annotations_for("etcd"),
        "source_image": REF,
        "resolved_digest": DIGEST,
        "compress": "auto",
        "split": False,
        "olm_labels": False,
    }
    args.update(kw)
    return build_configmaps(files, **args)


def without_annotations_yaml(files: dict[str, bytes]) -> dict[str, bytes]:
    return {k: v for k, v in files.items() if k != "metadata/annotations.yaml"}


def stored_size(cm: dict[str, Any]) -> int:
    """What the API server counts: data as UTF-8 plus binaryData decoded once."""
    data = sum(len(v.encode()) for v in (cm.get("data") or {}).values())
    return data + sum(len(base64.b64decode(v)) for v in (cm.get("binaryData") or {}).values())


def check_valid(cms: list[dict[str, Any]]) -> None:
    for cm in cms:
        validate(cm)
        keys = list(cm.get("data") or {}) + list(cm.get("binaryData") or {})
        assert len(keys) == len(set(keys))
        for key in keys:
            assert KEY_RE.match(key) and len(key) <= 253 and key not in (".", ".."), key
        assert stored_size(cm) <= MAX_DATA_BYTES
        for v in (cm.get("binaryData") or {}).values():
            base64.b64decode(v, validate=True)


def via_yaml(cms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return load_yaml(dump_yaml(cms))


# --- small text bundle: plain data, OLM's exact metadata ---------------------------------------------


def test_etcd_like_is_plain_data_with_olm_metadata() -> None:
    files = bf.etcd_like()
    [cm] = build(files)
    check_valid([cm])
    assert cm["apiVersion"] == "v1" and cm["kind"] == "ConfigMap"
    assert cm["metadata"]["name"] == "bundle" and cm["metadata"]["namespace"] == "olm"
    assert "binaryData" not in cm and "labels" not in cm["metadata"]
    ann = cm["metadata"]["annotations"]
    assert {k: ann[k] for k in BUNDLE_KEYS} == bf.annotations_for("etcd")
    assert ann["olm.sourceImage"] == REF
    assert ann["bundle-extract/resolved-digest"] == DIGEST
    assert "olm.contentEncoding" not in ann
    assert "bundle-extract/file-names" not in ann  # every key maps back by opm's rule
    assert sorted(cm["data"]) == sorted(p.rsplit("/", 1)[1] for p in without_annotations_yaml(files))
    assert cm["data"]["dependencies.yaml"] == files["metadata/dependencies.yaml"].decode()


def test_metadata_files_are_keys_as_in_opm_master_writer() -> None:
    """Every file of metadata/ except annotations.yaml is a key, next to the manifests.

    operator-registry master, pkg/configmap/configmap_writer.go ConfigMapWriter.Populate walks
    subDirs ["manifests/", "metadata/"] and skips only annotations.yaml (whose six keys become
    annotations); #1742 (configmap_writer_test.go at b5c503a) changed only the replacement
    character. A claim that the newest writer keeps manifests/ files only does not hold.
    """
    files = {
        "manifests/gizmo.clusterserviceversion.yaml": b"kind: ClusterServiceVersion\n",
        "metadata/annotations.yaml": b"annotations: {}\n",
        "metadata/properties.yaml": b"properties: []\n",
        "metadata/extra:notes.yaml": b"dependencies: []\n",
    }
    [cm] = build(files)
    assert sorted(cm["data"]) == ["extra-notes.yaml", "gizmo.clusterserviceversion.yaml", "properties.yaml"]


def test_etcd_like_round_trips_through_yaml() -> None:
    files = bf.etcd_like()
    assert read(via_yaml(build(files))) == without_annotations_yaml(files)


def test_missing_bundle_annotations_are_empty_strings() -> None:
    [cm] = build(bf.etcd_like(), annotations={"operators.operatorframework.io.bundle.package.v1": "etcd"})
    ann = cm["metadata"]["annotations"]
    assert ann["operators.operatorframework.io.bundle.package.v1"] == "etcd"
    assert ann["operators.operatorframework.io.bundle.channel.default.v1"] == ""
    assert all(k in ann for k in BUNDLE_KEYS)


def test_olm_labels_and_namespace_optional() -> None:
    [cm] = build(bf.etcd_like(), olm_labels=True, namespace=None)
    assert cm["metadata"]["labels"] == {"olm.managed": "true"}
    assert "namespace" not in cm["metadata"]
    validate(cm)


def test_default_name_is_olms_rule() -> None:
    spec = "quay.io/operatorhubio/etcd@sha256:" + "1" * 64
    assert default_name(spec) == hashlib.sha256(spec.encode()).hexdigest()[:63]
    assert len(default_name(spec)) == 63
    [cm] = build(bf.etcd_like(), name=default_name(spec))
    validate(cm)


@pytest.mark.parametrize("bad", ["Bundle", "a_b", "-x", "x" * 254, ""])
def test_invalid_name_is_usage_error(bad: str) -> None:
    with pytest.raises(UsageError):
        build(bf.etcd_like(), name=bad)


def test_invalid_compress_mode() -> None:
    with pytest.raises(UsageError):
        build(bf.etcd_like(), compress="zstd")


def test_annotations_yaml_rebuilt_on_request() -> None:
    files = bf.etcd_like()
    out = read(build(files), with_annotations_yaml=True)
    assert yaml.safe_load(out["metadata/annotations.yaml"]) == {"annotations": bf.annotations_for("etcd")}


# --- compression ---------------------------------------------------------------------------------


def test_prometheus_like_over_1mib_is_gzipped_automatically() -> None:
    files = prometheus()
    assert sum(len(v) for v in files.values()) > MAX_DATA_BYTES
    [cm] = build(files, annotations=bf.annotations_for("prometheus"))
    check_valid([cm])
    assert "data" not in cm
    assert cm["metadata"]["annotations"]["olm.contentEncoding"] == "gzip+base64"
    assert read(via_yaml([cm])) == without_annotations_yaml(files)


def test_gzip_values_are_what_olm_decodes() -> None:
    """OLM: the API's []byte (wire base64 decoded once) is base64 text of the gzip stream."""
    files = bf.etcd_like()
    [cm] = build(files, compress="always")
    name = "manifests/etcdoperator.v0.9.4.clusterserviceversion.yaml"
    wire = cm["binaryData"]["etcdoperator.v0.9.4.clusterserviceversion.yaml"]
    api_bytes = base64.b64decode(wire)  # what corev1.ConfigMap.BinaryData holds
    assert re.fullmatch(rb"[A-Za-z0-9+/=]+", api_bytes)
    gz = base64.b64decode(api_bytes)
    assert gz[:2] == b"\x1f\x8b"
    assert gz[4:8] == b"\0\0\0\0"  # mtime 0: deterministic
    assert gzip.decompress(gz) == files[name]


def test_build_is_deterministic() -> None:
    files = bf.etcd_like()
    assert dump_yaml(build(files, compress="always")) == dump_yaml(
        build(dict(reversed(files.items())), compress="always")
    )


def test_compressible_3mb_fits_after_gzip_and_round_trips() -> None:
    files = bf.compressible()
    assert sum(len(v) for v in files.values()) > 3 * 1024 * 1024
    cms = build(files)
    assert len(cms) == 1
    check_valid(cms)
    assert stored_size(cms[0]) < MAX_DATA_BYTES
    assert read(via_yaml(cms)) == without_annotations_yaml(files)


def test_never_keeps_text_plain_even_when_over_limit_and_fails() -> None:
    with pytest.raises(InvalidBundleError) as e:
        build(bf.compressible(), compress="never")
    assert exit_code_for(e.value) == 6
    assert "1048576" in str(e.value)


def test_never_stores_non_utf8_as_raw_binary_data() -> None:
    files = bf.etcd_like() | {"manifests/logo.png": b"\x89PNG\r\n\x1a\n\xff\xfe"}
    [cm] = build(files, compress="never")
    check_valid([cm])
    assert "olm.contentEncoding" not in cm["metadata"]["annotations"]
    assert base64.b64decode(cm["binaryData"]["logo.png"]) == files["manifests/logo.png"]
    assert "etcdoperator.v0.9.4.clusterserviceversion.yaml" in cm["data"]
    assert read(via_yaml([cm])) == without_annotations_yaml(files)


def test_auto_gzips_when_a_file_is_not_utf8() -> None:
    files = bf.etcd_like() | {"manifests/logo.png": b"\x89PNG\r\n\x1a\n\xff\xfe"}
    [cm] = build(files)
    assert cm["metadata"]["annotations"]["olm.contentEncoding"] == "gzip+base64"
    assert read(via_yaml([cm])) == without_annotations_yaml(files)


# --- too large: error or split ---------------------------------------------------------------------


def test_incompressible_over_limit_fails_with_sizes() -> None:
    files = bf.random_blobs(4, 400_000)
    with pytest.raises(InvalidBundleError) as e:
        build(files)
    msg = str(e.value)
    assert "1048576" in msg and "use split to write several ConfigMaps" in msg and "manifests/blob-" in msg
    assert re.search(r"needs \d{7} bytes", msg)


def test_incompressible_over_limit_splits_into_valid_parts() -> None:
    files = bf.random_blobs(4, 400_000)
    cms = build(files, split=True, name=default_name(REF))
    assert len(cms) >= 3
    check_valid(cms)
    n = len(cms)
    assert [cm["metadata"]["name"] for cm in cms] == [f"{default_name(REF)}-{i}" for i in range(n)]
    assert [cm["metadata"]["annotations"]["bundle-extract/part"] for cm in cms] == [
        f"{i}/{n}" for i in range(n)
    ]
    for cm in cms:
        ann = cm["metadata"]["annotations"]
        assert ann["olm.contentEncoding"] == "gzip+base64" and ann["olm.sourceImage"] == REF
    assert read(via_yaml(cms)) == without_annotations_yaml(files)
    assert read(list(reversed(cms))) == without_annotations_yaml(files)


def test_split_that_fits_gives_one_unsuffixed_configmap() -> None:
    [cm] = build(bf.etcd_like(), split=True)
    assert cm["metadata"]["name"] == "bundle" and "bundle-extract/part" not in cm["metadata"]["annotations"]


def test_missing_part_is_detected() -> None:
    cms = build(bf.random_blobs(4, 400_000), split=True)
    with pytest.raises(InvalidBundleError, match="missing"):
        read(cms[:-1])
    with pytest.raises(InvalidBundleError):
        read(cms + [cms[0]])


def test_single_file_over_limit_is_named_even_with_split() -> None:
    files = bf.random_blobs(1, 900_000)
    with pytest.raises(InvalidBundleError, match="manifests/blob-0.bin"):
        build(files, split=True)


def test_never_split_uses_uncompressed_parts() -> None:
    files = bf.compressible()
    cms = build(files, compress="never", split=True)
    assert len(cms) >= 3
    check_valid(cms)
    assert all("olm.contentEncoding" not in cm["metadata"]["annotations"] for cm in cms)
    assert read(cms) == without_annotations_yaml(files)


# --- keys and file names -------------------------------------------------------------------------------


def test_colliding_keys_both_recovered() -> None:
    files = bf.etcd_like() | {"manifests/a+b.yaml": b"kind: A\n", "manifests/a-b.yaml": b"kind: B\n"}
    [cm] = build(files)
    check_valid([cm])
    keys = set(cm["data"])
    assert "a-b.yaml" in keys and cm["data"]["a-b.yaml"] == "kind: B\n"  # the untranslated name keeps its key
    other = [k for k in keys if cm["data"][k] == "kind: A\n"]
    assert len(other) == 1 and other[0] != "a-b.yaml"
    names = json.loads(cm["metadata"]["annotations"]["bundle-extract/file-names"])
    assert names == {other[0]: "manifests/a+b.yaml"}
    assert read(via_yaml([cm])) == without_annotations_yaml(files)


def test_same_basename_in_manifests_and_metadata() -> None:
    files = bf.etcd_like() | {
        "metadata/etcdoperator.v0.9.4.clusterserviceversion.yaml": b"properties: []\n",
        "manifests/dependencies.yaml": b"kind: ConfigMap\napiVersion: v1\n",
    }
    [cm] = build(files)
    check_valid([cm])
    assert read(via_yaml([cm])) == without_annotations_yaml(files)


def test_long_and_odd_names_get_valid_keys() -> None:
    long = "manifests/" + "x" * 300 + ".crd.yaml"
    odd = "manifests/ünïcødé file (1).yaml"
    files = bf.etcd_like() | {
        long: b"kind: X\n",
        odd: b"kind: Y\n",
        "manifests/sub/nested.yaml": b"kind: Z\n",
    }
    [cm] = build(files)
    check_valid([cm])
    names = json.loads(cm["metadata"]["annotations"]["bundle-extract/file-names"])
    assert set(names.values()) == {long, odd, "manifests/sub/nested.yaml"}
    assert names["-n-c-d--file--1-.yaml"] == odd  # opm's translation kept, original name recorded
    assert read(via_yaml([cm])) == without_annotations_yaml(files)


def test_keys_are_unique_across_split_parts() -> None:
    files = bf.random_blobs(3, 400_000) | {"metadata/blob-0.bin": b"\x00" * 10}
    cms = build(files, split=True)
    all_keys = [k for cm in cms for k in cm.get("binaryData", {})]
    assert len(all_keys) == len(set(all_keys))
    assert read(cms) == without_annotations_yaml(files)


def test_unsafe_input_path_rejected() -> None:
    with pytest.raises(InvalidBundleError):
        build({"manifests/../../etc/passwd": b"x"})


def test_empty_bundle_rejected() -> None:
    with pytest.raises(InvalidBundleError):
        build({"metadata/annotations.yaml": b"annotations: {}\n"})


# --- YAML output -----------------------------------------------------------------------------------


TRICKY = {
    "manifests/trailing-space.yaml": b"a: 1   \nb: 2\n",
    "manifests/no-final-newline.yaml": b"a: 1\nb: 2",
    "manifests/leading-space.yaml": b"   indented: first\nx: y\n",
    "manifests/crlf.yaml": b"a: 1\r\nb: 2\r\n",
    "manifests/tabs.yaml": b"a:\t1\n",
    "manifests/unicode.yaml": "name: caf\u00e9 \u2013 \u65e5\u672c\n".encode(),
    "manifests/docs.yaml": b"---\na: 1\n...\n---\nb: 2\n",
    "manifests/blank-lines.yaml": b"\n\na: 1\n\n\n",
    "manifests/one-line.yaml": b"kind: List",
    "manifests/empty.yaml": b"",
    "manifests/bom.yaml": "\ufeffa: 1\n".encode(),
}


def test_dump_yaml_round_trips_tricky_text() -> None:
    cms = build(TRICKY, compress="never")
    assert "data" in cms[0] and "binaryData" not in cms[0]
    text = dump_yaml(cms)
    assert read(load_yaml(text)) == TRICKY
    assert [yaml.safe_load(d)["kind"] for d in text.split("\n---\n") if d.strip()] == ["ConfigMap"]


def test_dump_yaml_uses_block_scalars_and_stable_order() -> None:
    [cm] = build(bf.etcd_like())
    text = dump_yaml([cm])
    assert text.startswith("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n")
    assert "  dependencies.yaml: |\n    dependencies:\n" in text
    loaded = yaml.safe_load(text)
    assert list(loaded["data"]) == sorted(loaded["data"])
    assert list(loaded["metadata"]["annotations"])[:8] == [
        *BUNDLE_KEYS,
        "olm.sourceImage",
        "bundle-extract/resolved-digest",
    ]
    assert dump_yaml([cm]) == text


def test_load_yaml_flattens_lists() -> None:
    cms = build(bf.random_blobs(3, 400_000), split=True)
    as_list = json.dumps({"apiVersion": "v1", "kind": "List", "items": cms})
    assert read(load_yaml(as_list)) == read(cms)


def test_module_exports_contract_names() -> None:
    for name in ("build_configmaps", "read", "default_name", "dump_yaml", "load_yaml"):
        assert callable(getattr(configmap, name))


def test_schema_validation_is_effective() -> None:
    """The schema check used above rejects a broken ConfigMap (so passing it means something)."""
    import kubernetes_validate

    [cm] = build(bf.etcd_like())
    broken = dict(cm, data={"a.yaml": 1})
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(broken)
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(dict(cm, extra="field"))
