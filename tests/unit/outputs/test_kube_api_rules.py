"""Names, keys and Job fields checked against the Kubernetes API server's own validation rules.

Each test names the rule of kubernetes/kubernetes (``pkg/apis/core/validation``,
``pkg/apis/batch/validation``) or apimachinery (``pkg/util/validation``) it mirrors: the OpenAPI
schema the other tests validate against does not carry these, so an object could pass the schema
and still be refused by ``kubectl apply``.
"""

from __future__ import annotations

from typing import Any

import pytest

from imgextract.errors import UsageError
from imgextract.outputs.configmap import build_configmaps
from imgextract.outputs.configmap.keys import assign_keys, is_valid_key
from imgextract.outputs.kube.indexed_job import render_indexed_job
from imgextract.outputs.kube.job import render_job
from tests.unit.outputs import bundle_factory as bf

REF = "quay.io/example/etcd-bundle:v0.9.4"
CATALOG = "registry.example.com/ns/catalog:v1"
IMAGE = "registry.example.com/tools/bundle-extract:0.1.0"


def _configmaps(**kw: Any) -> list[dict[str, Any]]:
    args: dict[str, Any] = {
        "name": "bundle",
        "namespace": "olm",
        "annotations": bf.annotations_for("etcd"),
        "source_image": REF,
    }
    args.update(kw)
    return build_configmaps(bf.etcd_like(), **args)


def _indexed(**kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"shards": 3, "namespace": "bundles", "image": IMAGE, "output_claim": "claim"}
    args.update(kw)
    return render_indexed_job(CATALOG, **args)


@pytest.mark.parametrize("name", ["bundle\n", "a.b\n"])
def test_object_name_with_a_trailing_newline_is_refused(name: str) -> None:
    """apimachinery ``IsDNS1123Subdomain``: Go's ``^...$`` does not match before a final newline
    (Python's ``$`` does)."""
    with pytest.raises(UsageError):
        _configmaps(name=name)
    with pytest.raises(UsageError):
        render_job(REF, namespace="olm", image=IMAGE, configmap_name=name)


@pytest.mark.parametrize("key", ["..data", "..2024_01_01", "...yaml", "x\n"])
def test_config_map_key_rules(key: str) -> None:
    """apimachinery ``IsConfigMapKey``: ``hasChDirPrefix`` refuses ``.``, ``..`` and any key that
    starts with ``..`` (the kubelet's atomic writer keeps its ``..data`` links there); Go's regex
    does not match before a final newline."""
    assert not is_valid_key(key)


@pytest.mark.parametrize("base", ["..data", "..hidden.yaml", "...yaml", "..."])
def test_file_names_starting_with_two_dots_get_a_valid_key(base: str) -> None:
    """``IsConfigMapKey`` (``hasChDirPrefix``): a bundle file named ``..x`` keeps no ``..`` prefix."""
    path = f"manifests/{base}"
    key = assign_keys([path])[path]
    assert is_valid_key(key) and not key.startswith(".."), key
    [cm] = build_configmaps(
        {"manifests/csv.yaml": b"kind: ClusterServiceVersion\n", path: b"kind: ConfigMap\n"},
        name="bundle",
        annotations=bf.annotations_for("etcd"),
        source_image=REF,
    )
    assert all(not k.startswith("..") for k in cm["data"])


@pytest.mark.parametrize("namespace", ["a.b", "x" * 64, "olm\n"])
def test_namespace_is_a_dns_label(namespace: str) -> None:
    """core ``ValidateNamespaceName`` (apimachinery ``ValidateNamespaceName`` = ``NameIsDNSLabel``):
    a namespace is a DNS-1123 label, at most 63 characters and without dots, not a subdomain."""
    with pytest.raises(UsageError, match="namespace"):
        _configmaps(namespace=namespace)
    with pytest.raises(UsageError, match="namespace"):
        render_job(REF, namespace=namespace, image=IMAGE)
    with pytest.raises(UsageError, match="namespace"):
        _indexed(namespace=namespace)


def test_indexed_job_name_makes_valid_pod_hostnames() -> None:
    """batch ``ValidateJob``: for an Indexed Job, ``<name>-<completions-1>`` (the last pod's
    hostname) must be a DNS-1123 label, so a name with a dot is refused."""
    with pytest.raises(UsageError, match="Job name"):
        _indexed(job_name="catalog.pull")
    # the same name is fine for the single-bundle Job (a DNS subdomain, at most 63 characters)
    render_job(REF, namespace="olm", image=IMAGE, job_name="bundle.pull")


def test_indexed_job_completions_within_the_soft_limit() -> None:
    """batch ``validateJobSpec``: above ``completionsSoftLimit`` (100,000) completions a Job with
    ``backoffLimitPerIndex`` needs ``maxFailedIndexes`` and parallelism <= 10,000, and parallelism
    may never exceed ``maxParallelismForIndexedJob`` (100,000): refused when printed."""
    job = _indexed(shards=100_000, parallelism=10)
    assert job["spec"]["completions"] == 100_000
    with pytest.raises(UsageError, match="100000"):
        _indexed(shards=100_001, parallelism=10)
