"""The Indexed Job of `job --from-catalog`: valid for Kubernetes, restricted, one shard per index."""

from __future__ import annotations

from typing import Any

import pytest

from imgextract.errors import UsageError
from imgextract.outputs.kube.indexed_job import render_indexed_job
from imgextract.outputs.kube.job import render_job
from tests.unit.outputs.k8s_schema import validate
from tests.unit.outputs.test_job import assert_restricted, container_of

CATALOG = "registry.example.com/redhat/redhat-operator-index:v4.17"
IMAGE = "registry.example.com/tools/bundle-extract:0.1.0"


def _job(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict(shards=5, namespace="bundles", image=IMAGE, output_claim="catalog-bundles")
    base.update(kw)
    return render_indexed_job(CATALOG, **base)


def test_indexed_job_is_valid_and_restricted() -> None:
    job = _job()
    validate(job)
    assert_restricted(job)
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == 5 and spec["parallelism"] == 5
    assert spec["backoffLimitPerIndex"] >= 0
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    assert spec["template"]["spec"]["automountServiceAccountToken"] is False


def test_restricted_fields_equal_the_single_bundle_job() -> None:
    """Every security field of the existing Job is kept as it is."""
    single = render_job("quay.io/example/etcd-bundle:v0.9.4", namespace="bundles", image=IMAGE)[-1]
    indexed = _job()
    s_pod, i_pod = single["spec"]["template"]["spec"], indexed["spec"]["template"]["spec"]
    assert i_pod["securityContext"] == s_pod["securityContext"]
    assert container_of(indexed)["securityContext"] == container_of(single)["securityContext"]
    for key in ("enableServiceLinks", "restartPolicy"):
        assert i_pod[key] == s_pod[key]


def test_pod_runs_its_shard_into_the_volume() -> None:
    job = _job(filter_args=["--package", "foo", "--heads-only"], jobs=8, parallelism=2)
    c = container_of(job)
    args = c["args"]
    assert args[:3] == ["pull", "--from-catalog", CATALOG]
    assert args[args.index("--shard") + 1] == "$(JOB_COMPLETION_INDEX)/5"
    assert args[args.index("-o") + 1] == "/output/shard-$(JOB_COMPLETION_INDEX)"
    assert args[args.index("--jobs") + 1] == "8"
    assert args[-3:] == ["--package", "foo", "--heads-only"]
    assert "--json" in args
    assert job["spec"]["parallelism"] == 2
    [vol] = [v for v in job["spec"]["template"]["spec"]["volumes"] if v["name"] == "output"]
    assert vol == {"name": "output", "persistentVolumeClaim": {"claimName": "catalog-bundles"}}
    assert {"name": "output", "mountPath": "/output"} in c["volumeMounts"]
    validate(job)


def test_pull_secret_is_the_auth_file() -> None:
    job = _job(pull_secret_name="my-pull-secret")
    c = container_of(job)
    assert {
        "name": "REGISTRY_AUTH_FILE",
        "value": "/var/run/secrets/bundle-extract/pull-secret/config.json",
    } in c["env"]
    validate(job)
    assert_restricted(job)


@pytest.mark.parametrize(
    "kw",
    [
        {"shards": 0},
        {"parallelism": 6},
        {"parallelism": 0},
        {"namespace": "Bad_NS"},
        {"output_claim": "UPPER"},
        {"job_name": "x" * 60},
        {"jobs": 0},
    ],
)
def test_invalid_parameters(kw: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        _job(**kw)


def test_local_directory_is_refused() -> None:
    with pytest.raises(UsageError, match="catalog image"):
        render_indexed_job("/srv/catalog", shards=2, namespace="ns", image=IMAGE, output_claim="c")


def _volumes(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}


def test_signature_policy_reaches_every_pod_from_configmaps() -> None:
    """Without --policy on the pod's pull, each pod would pull unverified."""
    job = _job(policy_configmap="signature-policy", registries_d_configmap="sigstore-lookaside")
    validate(job)
    assert_restricted(job)
    c = container_of(job)
    args = c["args"]
    assert args[args.index("--policy") + 1] == "/etc/bundle-extract/policy/policy.json"
    assert args[args.index("--registries-d") + 1] == "/etc/bundle-extract/registries.d"
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    assert mounts["signature-policy"] == {
        "name": "signature-policy",
        "mountPath": "/etc/bundle-extract/policy",
        "readOnly": True,
    }
    assert mounts["registries-d"]["mountPath"] == "/etc/bundle-extract/registries.d"
    assert mounts["registries-d"]["readOnly"] is True
    volumes = _volumes(job)
    assert volumes["signature-policy"]["configMap"] == {"name": "signature-policy", "defaultMode": 0o444}
    assert volumes["registries-d"]["configMap"] == {"name": "sigstore-lookaside", "defaultMode": 0o444}


def test_signature_paths_inside_the_pod_are_passed_as_given() -> None:
    job = _job(policy="/etc/containers/policy.json", registries_d="/etc/containers/registries.d")
    validate(job)
    args = container_of(job)["args"]
    assert args[args.index("--policy") + 1] == "/etc/containers/policy.json"
    assert args[args.index("--registries-d") + 1] == "/etc/containers/registries.d"
    assert set(_volumes(job)) == {"scratch", "tmp", "output"}  # nothing mounted for them
    default = container_of(_job(policy="default"))["args"]
    assert default[default.index("--policy") + 1] == "default"
    # an explicit path wins over the ConfigMap's default file name
    named = container_of(_job(policy="/etc/bundle-extract/policy/strict.json", policy_configmap="p"))["args"]
    assert named[named.index("--policy") + 1] == "/etc/bundle-extract/policy/strict.json"
    assert "--policy" not in container_of(_job())["args"]


@pytest.mark.parametrize(
    "kw",
    [
        {"policy": "policy.json"},  # a local file: the pod cannot read it
        {"policy": "./p/policy.json"},
        {"policy": "/etc/p\nx"},
        {"policy": "/p.json", "registries_d": "registries.d"},
        {"registries_d": "/etc/containers/registries.d"},  # no effect without a policy
        {"policy_configmap": "Not_A_Name"},
    ],
)
def test_signature_settings_refused(kw: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        _job(**kw)


def test_single_bundle_job_carries_the_policy_too() -> None:
    [job] = render_job(
        "quay.io/example/etcd-bundle:v0.9.4", namespace="bundles", image=IMAGE, policy_configmap="sigs"
    )
    validate(job)
    assert_restricted(job)
    args = container_of(job)["args"]
    assert args[args.index("--policy") + 1] == "/etc/bundle-extract/policy/policy.json"
    assert _volumes(job)["signature-policy"]["configMap"]["name"] == "sigs"


@pytest.mark.parametrize(
    ("image", "detail"),
    [
        ("alice:s3cret-pw@quay.io/tools/bundle-extract:1", "invalid reference format"),
        ("docker://quay.io/tools/bundle-extract:1", "invalid reference format"),
        ("quay.io/tools/bundle-extract:1\nmalicious: true", "invalid reference format"),
        ("quay.io/Tools/bundle-extract:1", "repository name must be lowercase"),
        ("quay.io/tools/bundle-extract@sha256:s3cret-pw", "invalid reference format"),
        ("", "invalid reference format"),
    ],
)
def test_library_refuses_an_image_that_is_no_reference(image: str, detail: str) -> None:
    """The library checks the pod's image itself (not only the command line), and its message
    repeats nothing of the value (user information would otherwise reach a log)."""
    calls = [
        lambda: _job(image=image),
        lambda: render_job("quay.io/x/bundle:1", namespace="ns", image=image),
    ]
    for call in calls:
        with pytest.raises(UsageError) as info:
            call()
        err = info.value
        assert str(err) == f"image: {detail}" and err.reference is None
        assert "s3cret" not in str(err) and "alice" not in str(err) and "malicious" not in str(err)
        assert err.__cause__ is None and err.__suppress_context__


@pytest.mark.parametrize(
    "host",
    [
        "alice:s3cret-pw@registry.example.com",
        "https://registry.example.com",
        "Registry.example.com:x",
        "a/b",
        "",
    ],
)
def test_library_refuses_a_registry_host_that_is_no_host(host: str) -> None:
    with pytest.raises(UsageError) as info:
        render_job(
            f"quay.io/x/bundle@sha256:{'c' * 64}",
            namespace="ns",
            image=IMAGE,
            via_imagestream=True,
            registry_host_override=host,
        )
    assert str(info.value) == "registry_host_override: not a registry host[:port]"
    assert "s3cret" not in repr(info.value.__dict__)
    for good in ("registry.example.com", "registry.example.com:5000", "[::1]:5000", "localhost"):
        render_job(
            f"quay.io/x/bundle@sha256:{'c' * 64}",
            namespace="ns",
            image=IMAGE,
            via_imagestream=True,
            registry_host_override=good,
        )
