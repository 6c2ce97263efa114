"""Kubernetes manifests that run ``bundle-extract pull REF --format configmap`` in a cluster.

The Job runs under the ``restricted`` Pod Security Standard (non-root, RuntimeDefault
seccomp, no privilege escalation, all capabilities dropped, read-only root filesystem with
emptyDir scratch). It prints the bundle's ConfigMap(s) as YAML on stdout; applying them is
a documented follow-up (``kubectl logs job/NAME | kubectl apply -f -``): the Job needs no
API access and no RBAC. On OpenShift, ``via_imagestream`` stages the bundle in the
integrated registry first (an ImageStream importing it by digest, ``referencePolicy:
Local``), so the pull honours the cluster's mirror configuration. See docs/in-cluster.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Literal

from imgextract.errors import InvalidReference, UsageError, option, remedy
from imgextract.outputs.configmap.meta import check_namespace, check_object_name, default_name
from imgextract.outputs.kube.policy import PodVerification, pod_verification
from imgextract.reference import parse_raw, parse_reference

INTERNAL_REGISTRY = "image-registry.openshift-image-registry.svc:5000"
# OpenShift projects the service CA (which signs the integrated registry's certificate) here.
SERVICE_CA_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/service-ca.crt"
SCRATCH = "/scratch"
PULL_SECRET_DIR = "/var/run/secrets/bundle-extract/pull-secret"
AUTH_FILE = f"{PULL_SECRET_DIR}/config.json"
IMAGESTREAM_TAG = "bundle"
CONTAINER = "bundle-extract"

ImportMode = Literal["Legacy", "PreserveOriginal"]
SecretType = Literal["dockerconfigjson", "dockercfg"]


def _short_hash(text: str, n: int = 12) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]


_INT32_MAX = 2**31 - 1
_INT64_MAX = 2**63 - 1


def check_job_integers(**fields: int) -> None:
    """batch/v1 ``JobSpec`` types: ``activeDeadlineSeconds`` is an int64, the other counts int32 (a
    larger number fails the API server's decoding of the whole Job)."""
    for what, value in fields.items():
        limit = _INT64_MAX if what == "active_deadline_seconds" else _INT32_MAX
        if value > limit:
            raise UsageError(f"{what} must be at most {limit}")


def literal_args(args: Sequence[str]) -> list[str]:
    """``args`` as a container's ``args`` must spell them to reach the process unchanged: the kubelet
    expands ``$(VAR)`` from the container's environment and reads ``$$`` as ``$``
    (``expansion.Expand``), so every ``$`` is doubled."""
    return [a.replace("$", "$$") for a in args]


def _labels(ref: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "bundle-extract",
        "app.kubernetes.io/component": "bundle-unpack",
        "bundle-extract/reference-hash": _short_hash(ref, 40),
    }


def render_imagestream(
    ref: str, *, namespace: str, name: str, import_mode: ImportMode = "Legacy"
) -> dict[str, Any]:
    """An ImageStream importing ``ref`` (which must carry a digest) with a Local reference policy."""
    parsed = parse_reference(ref)
    if parsed.digest is None:
        raise UsageError(
            f"staging through an ImageStream needs a reference by digest{remedy('resolve_digest')}",
            reference=ref,
        )
    if import_mode not in ("Legacy", "PreserveOriginal"):
        raise UsageError(
            f"invalid ImageStream import mode {import_mode!r}: expected Legacy or PreserveOriginal"
        )
    return {
        "apiVersion": "image.openshift.io/v1",
        "kind": "ImageStream",
        "metadata": {"name": name, "namespace": namespace, "labels": _labels(ref)},
        "spec": {
            "lookupPolicy": {"local": False},
            "tags": [
                {
                    "name": IMAGESTREAM_TAG,
                    "from": {"kind": "DockerImage", "name": str(parsed.pull_ref())},
                    "importPolicy": {"importMode": import_mode, "scheduled": False},
                    "referencePolicy": {"type": "Local"},
                }
            ],
        },
    }


# reference errors whose message repeats nothing of the value
_VALUE_FREE = frozenset(
    {"invalid_format", "name_empty", "name_contains_uppercase", "name_too_long", "hex64_name"}
)


def check_image(image: str) -> None:
    """The pod's container image: a reference as the kubelet parses it (distribution/reference
    ``ParseNormalizedNamed``; a short name is fine).  UsageError otherwise, which repeats nothing
    of the value (it may carry ``user:password@``)."""
    try:
        parse_reference(image)
    except InvalidReference as e:
        detail = e.message if e.error_class in _VALUE_FREE else "invalid reference format"
        raise UsageError(f"{option('image')}: {detail}") from None


def check_registry_host(host: str) -> None:
    """The host of the pod's pull reference: a distribution/reference ``domain[:port]``.
    UsageError otherwise, which repeats nothing of the value."""
    try:
        domain = None if "@" in host else parse_raw(f"{host}/x").domain
    except InvalidReference:
        domain = None
    if domain != host:
        raise UsageError(f"{option('registry_host_override')}: not a registry host[:port]")


def _security_context() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def restricted_pod_spec(
    *,
    image: str,
    args: Sequence[str],
    resources: dict[str, Any],
    scratch_size: str,
    verification: PodVerification,
    pull_secret_name: str | None,
    pull_secret_type: SecretType,
    automount_token: bool,
    service_account: str | None,
    extra_mounts: Sequence[dict[str, Any]] = (),
    extra_volumes: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The pod that runs bundle-extract under the ``restricted`` Pod Security Standard, for the Job
    and the Indexed Job alike (``args`` as the container spells them: see :func:`literal_args`): emptyDir scratch and /tmp (``scratch_size`` each), then
    ``extra_mounts``/``extra_volumes``, the signature policy's ConfigMaps, and the pull secret
    (``dockerconfigjson`` as the auth file, ``dockercfg`` as ``$HOME/.dockercfg``).  ``image`` must
    be an image reference (:func:`check_image`)."""
    check_image(image)
    env: list[dict[str, Any]] = [
        {"name": "HOME", "value": SCRATCH},
        {"name": "XDG_CACHE_HOME", "value": f"{SCRATCH}/cache"},
        {"name": "TMPDIR", "value": "/tmp"},  # noqa: S108 - an emptyDir mounted in the pod
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "scratch", "mountPath": SCRATCH},
        {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 (an emptyDir in the pod)
        *extra_mounts,
        *verification.mounts,
    ]
    volumes: list[dict[str, Any]] = [
        {"name": "scratch", "emptyDir": {"sizeLimit": scratch_size}},
        {"name": "tmp", "emptyDir": {"sizeLimit": scratch_size}},
        *extra_volumes,
        *verification.volumes,
    ]
    if pull_secret_name:
        check_object_name(pull_secret_name, "pull secret name")
        if pull_secret_type == "dockerconfigjson":
            env.append({"name": "REGISTRY_AUTH_FILE", "value": AUTH_FILE})
            mounts.append({"name": "pull-secret", "mountPath": PULL_SECRET_DIR, "readOnly": True})
            item = {"key": ".dockerconfigjson", "path": "config.json"}
        elif pull_secret_type == "dockercfg":
            mounts.append(
                {
                    "name": "pull-secret",
                    "mountPath": f"{SCRATCH}/.dockercfg",
                    "subPath": ".dockercfg",
                    "readOnly": True,
                }
            )
            item = {"key": ".dockercfg", "path": ".dockercfg"}
        else:
            raise UsageError(
                f"invalid pull secret type {pull_secret_type!r}: expected dockerconfigjson or dockercfg"
            )
        # 0444: the pod runs as an arbitrary non-root UID without fsGroup (OpenShift assigns both).
        volumes.append(
            {
                "name": "pull-secret",
                "secret": {"secretName": pull_secret_name, "defaultMode": 0o444, "items": [item]},
            }
        )
    container = {
        "name": CONTAINER,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": list(args),
        "env": env,
        "resources": resources,
        "securityContext": _security_context(),
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": mounts,
    }
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": automount_token,
        "enableServiceLinks": False,
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": volumes,
    }
    if service_account:
        pod_spec["serviceAccountName"] = check_object_name(service_account, "service account name")
    return pod_spec


def render_job(
    ref: str,
    *,
    namespace: str,
    image: str,
    service_account: str | None = None,
    pull_secret_name: str | None = None,
    configmap_name: str | None = None,
    via_imagestream: bool = False,
    imagestream_name: str | None = None,
    registry_host_override: str | None = None,
    extra_args: Sequence[str] = (),
    import_mode: ImportMode = "Legacy",
    job_name: str | None = None,
    active_deadline_seconds: int = 600,
    ttl_seconds_after_finished: int = 3600,
    backoff_limit: int = 2,
    scratch_size: str = "2Gi",
    pull_secret_type: SecretType = "dockerconfigjson",
    policy: str | None = None,
    registries_d: str | None = None,
    policy_configmap: str | None = None,
    registries_d_configmap: str | None = None,
) -> list[dict[str, Any]]:
    """The manifests to apply, in order: ``[ImageStream,] Job``.

    ``image`` is the bundle-extract image (see the Containerfile). ``pull_secret_name`` names a
    Secret mounted read-only: type ``dockerconfigjson`` (default) becomes the auth file
    (``REGISTRY_AUTH_FILE``); type ``dockercfg`` (e.g. OpenShift's per-ServiceAccount
    ``<sa>-dockercfg-*`` Secret, which holds credentials for the integrated registry) is mounted
    as the legacy ``$HOME/.dockercfg``, the last file of the auth search. ``configmap_name`` defaults to OLM's name for ``ref``
    (computed from the reference as given, also when pulling through the ImageStream).
    ``import_mode``: ``Legacy`` for a single-manifest bundle, ``PreserveOriginal`` for a
    manifest list (Legacy would import one platform and the list digest would not resolve).
    ``policy``/``registries_d`` (paths inside the pod) and ``policy_configmap``/
    ``registries_d_configmap`` (ConfigMaps mounted for them) make the pull verify signatures: see
    :mod:`imgextract.outputs.kube.policy`.
    """
    check_namespace(namespace)
    parse_reference(ref)  # InvalidReference (exit 2) early
    if registry_host_override is not None:
        check_registry_host(registry_host_override)
    cm_name = check_object_name(configmap_name or default_name(ref))
    name = check_object_name(job_name or f"bundle-extract-{_short_hash(ref)}", "Job name")
    if len(name) > 63:
        raise UsageError(f"Job name {name!r} is longer than 63 characters (it becomes a Pod label value)")
    for what, value in (
        ("active_deadline_seconds", active_deadline_seconds),
        ("ttl_seconds_after_finished", ttl_seconds_after_finished),
        ("backoff_limit", backoff_limit),
    ):
        if value < 0 or (what == "active_deadline_seconds" and value == 0):
            raise UsageError(f"{what} must be {'positive' if what.startswith('active') else 'zero or more'}")
    check_job_integers(
        active_deadline_seconds=active_deadline_seconds,
        ttl_seconds_after_finished=ttl_seconds_after_finished,
        backoff_limit=backoff_limit,
    )

    verification = pod_verification(
        policy=policy,
        registries_d=registries_d,
        policy_configmap=policy_configmap,
        registries_d_configmap=registries_d_configmap,
    )
    objects: list[dict[str, Any]] = []
    pull_ref = ref
    args_extra: list[str] = []
    if via_imagestream:
        is_name = check_object_name(imagestream_name or f"bundle-{_short_hash(ref)}", "ImageStream name")
        stream = render_imagestream(ref, namespace=namespace, name=is_name, import_mode=import_mode)
        objects.append(stream)
        digest = parse_reference(ref).digest
        pull_ref = f"{registry_host_override or INTERNAL_REGISTRY}/{namespace}/{is_name}@{digest}"
        args_extra += ["--source-image", ref]
        if registry_host_override is None:
            args_extra += ["--ca-file", SERVICE_CA_FILE]

    args = literal_args(
        [
            "pull",
            pull_ref,
            "--format",
            "configmap",
            "-o",
            "-",
            "--configmap-name",
            cm_name,
            "--namespace",
            namespace,
            "--quiet",
            *args_extra,
            *verification.args,
            *extra_args,
        ]
    )
    pod_spec = restricted_pod_spec(
        image=image,
        args=args,
        resources={"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "1Gi"}},
        scratch_size=scratch_size,
        verification=verification,
        pull_secret_name=pull_secret_name,
        pull_secret_type=pull_secret_type,
        # The token is only needed to read the service CA of the integrated registry.
        automount_token=via_imagestream,
        service_account=service_account,
    )
    labels = _labels(ref)
    objects.append(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": labels,
                "annotations": {"bundle-extract/reference": ref, "bundle-extract/configmap": cm_name},
            },
            "spec": {
                "activeDeadlineSeconds": active_deadline_seconds,
                "backoffLimit": backoff_limit,
                "ttlSecondsAfterFinished": ttl_seconds_after_finished,
                "template": {"metadata": {"labels": labels}, "spec": pod_spec},
            },
        }
    )
    return objects
