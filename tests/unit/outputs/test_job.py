from __future__ import annotations

from typing import Any

import pytest

from imgextract.errors import InvalidReference, UsageError
from imgextract.outputs.configmap import default_name, dump_yaml, load_yaml
from imgextract.outputs.kube.job import render_job
from tests.unit.outputs.k8s_schema import validate

DIGEST = "sha256:" + "c" * 64
REF = "quay.io/example/etcd-bundle:v0.9.4"
REF_DIGEST = f"quay.io/example/etcd-bundle:v0.9.4@{DIGEST}"
IMAGE = "registry.example.com/tools/bundle-extract:0.1.0"
# Pod Security Standards "restricted": allowed volume types.
RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def job_of(objs: list[dict[str, Any]]) -> dict[str, Any]:
    [job] = [o for o in objs if o["kind"] == "Job"]
    return job


def container_of(job: dict[str, Any]) -> dict[str, Any]:
    [c] = job["spec"]["template"]["spec"]["containers"]
    return c


def env_of(c: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in c["env"]}


def assert_restricted(job: dict[str, Any]) -> None:
    """The checks of the restricted Pod Security Standard (v1.30) that apply to this pod."""
    pod = job["spec"]["template"]["spec"]
    psc = pod.get("securityContext", {})
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod.get(key)
    for v in pod.get("volumes", []):
        assert set(v) - {"name"} <= RESTRICTED_VOLUMES, v
    for c in pod["containers"] + pod.get("initContainers", []):
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"]["drop"] == ["ALL"] and not sc["capabilities"].get("add")
        assert sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True
        assert sc.get("runAsUser", psc.get("runAsUser", 1)) != 0
        seccomp = sc.get("seccompProfile", psc.get("seccompProfile"))
        assert seccomp["type"] in ("RuntimeDefault", "Localhost")
        assert not sc.get("privileged")
        assert "ports" not in c or all("hostPort" not in p for p in c["ports"])
        # beyond restricted: read-only root with writable emptyDir scratch
        assert sc["readOnlyRootFilesystem"] is True


def test_plain_job_is_valid_and_restricted() -> None:
    objs = render_job(REF, namespace="bundles", image=IMAGE)
    assert [o["kind"] for o in objs] == ["Job"]
    job = objs[0]
    validate(job)
    assert_restricted(job)
    assert job["apiVersion"] == "batch/v1"
    spec = job["spec"]
    assert (
        spec["activeDeadlineSeconds"] > 0
        and spec["ttlSecondsAfterFinished"] >= 0
        and spec["backoffLimit"] >= 0
    )
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    assert spec["template"]["spec"]["automountServiceAccountToken"] is False
    assert len(job["metadata"]["name"]) <= 63
    assert all(len(v) <= 63 for v in job["metadata"]["labels"].values())


def test_job_runs_pull_to_configmap_on_stdout() -> None:
    c = container_of(
        job_of(render_job(REF, namespace="bundles", image=IMAGE, extra_args=["--platform", "linux/arm64"]))
    )
    assert c["image"] == IMAGE
    args = c["args"]
    assert args[:2] == ["pull", REF]
    assert args[args.index("--format") + 1] == "configmap"
    assert args[args.index("-o") + 1] == "-"
    assert args[args.index("--configmap-name") + 1] == default_name(REF)
    assert args[args.index("--namespace") + 1] == "bundles"
    assert "--quiet" in args  # stdout (the pod log) carries only the YAML
    assert args[-2:] == ["--platform", "linux/arm64"]


def test_scratch_is_writable_emptydir_and_home_points_into_it() -> None:
    job = job_of(render_job(REF, namespace="bundles", image=IMAGE))
    c = container_of(job)
    env = env_of(c)
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}

    def on_emptydir(path: str) -> bool:
        return any(
            (path + "/").startswith(mp.rstrip("/") + "/") and "emptyDir" in volumes[name]
            for mp, name in mounts.items()
        )

    for var in ("HOME", "XDG_CACHE_HOME", "TMPDIR"):
        assert on_emptydir(env[var]), var
    assert "REGISTRY_AUTH_FILE" not in env


def test_pull_secret_is_mounted_as_authfile() -> None:
    job = job_of(
        render_job(
            REF,
            namespace="bundles",
            image=IMAGE,
            pull_secret_name="quay-pull",
            service_account="bundle-unpacker",
        )
    )
    validate(job)
    assert_restricted(job)
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "bundle-unpacker"
    c = container_of(job)
    [vol] = [v for v in pod["volumes"] if "secret" in v]
    assert vol["secret"]["secretName"] == "quay-pull"
    [item] = vol["secret"]["items"]
    assert item["key"] == ".dockerconfigjson"
    [mount] = [m for m in c["volumeMounts"] if m["name"] == vol["name"]]
    assert mount["readOnly"] is True
    assert env_of(c)["REGISTRY_AUTH_FILE"] == f"{mount['mountPath']}/{item['path']}"


def test_job_names_and_limits_are_parameters() -> None:
    job = job_of(
        render_job(
            REF,
            namespace="ns",
            image=IMAGE,
            job_name="unpack-etcd",
            configmap_name="etcd-cm",
            active_deadline_seconds=120,
            ttl_seconds_after_finished=0,
            backoff_limit=0,
        )
    )
    validate(job)
    assert job["metadata"]["name"] == "unpack-etcd"
    assert (
        job["spec"]["activeDeadlineSeconds"],
        job["spec"]["ttlSecondsAfterFinished"],
        job["spec"]["backoffLimit"],
    ) == (120, 0, 0)
    args = container_of(job)["args"]
    assert args[args.index("--configmap-name") + 1] == "etcd-cm"


@pytest.mark.parametrize(
    "kw",
    [
        {"namespace": "Bad_NS"},
        {"configmap_name": "UPPER"},
        {"job_name": "x" * 64},
        {"active_deadline_seconds": 0},
        {"backoff_limit": -1},
        {"pull_secret_name": "a b"},
    ],
)
def test_invalid_parameters(kw: dict[str, Any]) -> None:
    args: dict[str, Any] = {"namespace": "ns", "image": IMAGE} | kw
    with pytest.raises(UsageError):
        render_job(REF, **args)


def test_invalid_reference() -> None:
    with pytest.raises(InvalidReference):
        render_job("Not A Ref", namespace="ns", image=IMAGE)


# --- OpenShift: staging through an ImageStream ----------------------------------------------------


def test_imagestream_staging() -> None:
    objs = render_job(
        REF_DIGEST, namespace="bundles", image=IMAGE, via_imagestream=True, imagestream_name="etcd"
    )
    assert [o["kind"] for o in objs] == ["ImageStream", "Job"]
    stream, job = objs
    assert stream["apiVersion"] == "image.openshift.io/v1"
    assert stream["metadata"] == {
        "name": "etcd",
        "namespace": "bundles",
        "labels": stream["metadata"]["labels"],
    }
    [tag] = stream["spec"]["tags"]
    assert tag["from"] == {"kind": "DockerImage", "name": f"quay.io/example/etcd-bundle@{DIGEST}"}
    assert tag["referencePolicy"] == {"type": "Local"}
    assert tag["importPolicy"]["importMode"] == "Legacy"
    validate(job)
    assert_restricted(job)
    args = container_of(job)["args"]
    assert args[1] == f"image-registry.openshift-image-registry.svc:5000/bundles/etcd@{DIGEST}"
    ca = args[args.index("--ca-file") + 1]
    assert ca == "/var/run/secrets/kubernetes.io/serviceaccount/service-ca.crt"
    assert job["spec"]["template"]["spec"]["automountServiceAccountToken"] is True
    # the ConfigMap keeps OLM's name for the reference as given, not for the internal pull spec
    assert args[args.index("--configmap-name") + 1] == default_name(REF_DIGEST)


def test_imagestream_for_manifest_list_preserves_original() -> None:
    stream = render_job(
        REF_DIGEST, namespace="b", image=IMAGE, via_imagestream=True, import_mode="PreserveOriginal"
    )[0]
    assert stream["spec"]["tags"][0]["importPolicy"]["importMode"] == "PreserveOriginal"
    assert stream["metadata"]["name"].startswith("bundle-")


def test_imagestream_registry_host_override() -> None:
    job = job_of(
        render_job(
            REF_DIGEST,
            namespace="b",
            image=IMAGE,
            via_imagestream=True,
            imagestream_name="s",
            registry_host_override="registry.apps.example.com",
        )
    )
    args = container_of(job)["args"]
    assert args[1] == f"registry.apps.example.com/b/s@{DIGEST}"
    assert "--ca-file" not in args


def test_imagestream_needs_digest() -> None:
    with pytest.raises(UsageError, match="digest"):
        render_job(REF, namespace="b", image=IMAGE, via_imagestream=True)


def test_imagestream_bad_import_mode() -> None:
    with pytest.raises(UsageError):
        render_job(REF_DIGEST, namespace="b", image=IMAGE, via_imagestream=True, import_mode="Whatever")  # type: ignore[arg-type]


def test_manifests_dump_as_applyable_yaml() -> None:
    objs = render_job(REF_DIGEST, namespace="b", image=IMAGE, via_imagestream=True, pull_secret_name="p")
    again = load_yaml(dump_yaml(objs))
    assert again == objs
    assert again[1]["spec"]["template"]["spec"]["volumes"][-1]["secret"]["defaultMode"] == 0o444


def test_dockercfg_secret_is_the_legacy_home_file() -> None:
    """OpenShift's <sa>-dockercfg-* Secret (legacy format) for the integrated registry."""
    job = job_of(
        render_job(
            REF_DIGEST,
            namespace="b",
            image=IMAGE,
            via_imagestream=True,
            pull_secret_name="builder-dockercfg-x7k2p",
            pull_secret_type="dockercfg",
        )
    )
    validate(job)
    assert_restricted(job)
    c = container_of(job)
    env = env_of(c)
    assert "REGISTRY_AUTH_FILE" not in env  # it would replace the search that reads ~/.dockercfg
    [mount] = [m for m in c["volumeMounts"] if m["name"] == "pull-secret"]
    assert mount["mountPath"] == f"{env['HOME']}/.dockercfg" and mount["readOnly"] is True
    [vol] = [v for v in job["spec"]["template"]["spec"]["volumes"] if v["name"] == "pull-secret"]
    assert vol["secret"]["items"] == [{"key": ".dockercfg", "path": mount["subPath"]}]


def test_bad_pull_secret_type() -> None:
    with pytest.raises(UsageError):
        render_job(REF, namespace="b", image=IMAGE, pull_secret_name="p", pull_secret_type="opaque")  # type: ignore[arg-type]
