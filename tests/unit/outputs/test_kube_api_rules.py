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


def _kubelet_expand(arg: str, env: dict[str, str]) -> str:
    """What the kubelet passes to the container for one ``args`` item (``third_party/forked/golang/
    expansion``): ``$$`` is one ``$``, ``$(NAME)`` of a defined variable is its value, anything
    else is kept as written."""
    out, i = [], 0
    while i < len(arg):
        if arg[i] == "$" and i + 1 < len(arg):
            nxt = arg[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            if nxt == "(":
                end = arg.find(")", i + 2)
                if end > 0 and arg[i + 2 : end] in env:
                    out.append(env[arg[i + 2 : end]])
                    i = end + 1
                    continue
        out.append(arg[i])
        i += 1
    return "".join(out)


def _pod_env(job: dict[str, Any]) -> dict[str, str]:
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    env["JOB_COMPLETION_INDEX"] = "0"  # what the Job controller adds to an Indexed Job's pods
    return env


def test_values_reach_the_pod_unexpanded() -> None:
    """The kubelet expands ``$(VAR)`` and ``$$`` in a container's args (``expansion.Expand``): a
    package or channel name, a policy path or a pull argument holding ``$`` must reach ``pull`` as
    given, while the Indexed Job's own ``$(JOB_COMPLETION_INDEX)`` still expands."""
    hostile = ["--package", "op$(HOME)", "--channel", "a$$b", "--channel", "c$"]
    job = _indexed(filter_args=hostile, extra_args=["--cache-dir", "/c/$(TMPDIR)"], policy="/p/$(HOME).json")
    args = [
        _kubelet_expand(a, _pod_env(job)) for a in job["spec"]["template"]["spec"]["containers"][0]["args"]
    ]
    for value in (*hostile, "/c/$(TMPDIR)", "/p/$(HOME).json"):
        assert value in args
    assert "/output/shard-0" in args and "0/3" in args
    [single] = render_job(REF, namespace="olm", image=IMAGE, extra_args=["--authfile", "/a/$$(HOME)"])
    args = [
        _kubelet_expand(a, _pod_env(single))
        for a in single["spec"]["template"]["spec"]["containers"][0]["args"]
    ]
    assert "/a/$$(HOME)" in args


@pytest.mark.parametrize(
    "kw",
    [
        {"ttl_seconds_after_finished": 2**31},
        {"backoff_limit": 2**31},
        {"active_deadline_seconds": 2**63},
    ],
)
def test_job_integer_fields_fit_their_api_types(kw: dict[str, Any]) -> None:
    """batch/v1 ``JobSpec``: ``ttlSecondsAfterFinished``, ``backoffLimit`` and
    ``backoffLimitPerIndex`` are int32, ``activeDeadlineSeconds`` int64; a larger number is refused
    by the API server's decoder, so it is refused when the Job is printed."""
    with pytest.raises(UsageError):
        render_job(REF, namespace="olm", image=IMAGE, **kw)
    indexed = {"backoff_limit_per_index" if k == "backoff_limit" else k: v for k, v in kw.items()}
    with pytest.raises(UsageError):
        _indexed(**indexed)


GO_TYPED = [
    "y",
    "N",
    "yes",
    "Off",
    "~",
    "null",
    "1e3",
    "-1E3",
    "1.5e3",
    "0o17",
    "0O17",
    "1_000",
    ".5",
    "12",
    "0x1F",
    ".inf",
]


def test_printed_yaml_keeps_every_string_a_string_for_kubectl() -> None:
    """kubectl reads manifests with sigs.k8s.io/yaml, i.e. go-yaml v2's YAML 1.1 resolution: a plain
    ``y``/``n`` is a bool, ``1e3`` a float, ``0o17`` an int (PyYAML writes these unquoted). A bool
    data key becomes the key ``"true"``, and a non-string data or annotation value is refused by
    the API server; every string we print must read back as the same string."""
    from imgextract.catalog.render.goyaml import load_yaml  # go-yaml v2's resolution, as kubectl reads
    from imgextract.outputs.configmap import dump_yaml

    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "annotations": {f"k{i}": v for i, v in enumerate(GO_TYPED)}},
        "data": {v: v for v in GO_TYPED if v not in ("~", "")},
    }
    [doc] = [load_yaml(part) for part in dump_yaml([cm]).split("---\n") if part.strip()]
    assert doc == cm
