"""Signature verification inside the pod: ``--policy`` and ``--registries-d`` on its command line,
and the files they name mounted from ConfigMaps.

A pod cannot read files of the machine that printed the Job, so the policy (containers-policy.json,
with the public keys its ``keyPath`` entries name) and the registries.d directory travel as
ConfigMaps: ``policy_configmap`` is mounted read-only at :data:`POLICY_DIR` and the pull gets
``--policy POLICY_DIR/policy.json``; ``registries_d_configmap`` is mounted at
:data:`REGISTRIES_D_DIR` and the pull gets ``--registries-d REGISTRIES_D_DIR``.  ``policy`` and
``registries_d`` name paths inside the pod instead (files baked into the image, or in a ConfigMap
mounted at a path of its own); ``policy="default"`` reads the image's ``/etc/containers/policy.json``.
A ConfigMap that does not exist keeps the pod from starting, and a policy the pod cannot read fails
the pull: never an unverified pull.  See docs/in-cluster.md.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from imgextract.errors import UsageError, option
from imgextract.outputs.configmap.meta import check_object_name

POLICY_DIR = "/etc/bundle-extract/policy"
POLICY_FILE = f"{POLICY_DIR}/policy.json"
REGISTRIES_D_DIR = "/etc/bundle-extract/registries.d"


@dataclass(frozen=True)
class PodVerification:
    """What a pod needs to verify signatures: pull arguments, volume mounts and volumes."""

    args: list[str] = field(default_factory=list)
    mounts: list[dict[str, Any]] = field(default_factory=list)
    volumes: list[dict[str, Any]] = field(default_factory=list)


def _pod_path(value: str, setting: str, configmap_setting: str) -> str:
    if not posixpath.isabs(value) or any(not ch.isprintable() for ch in value):
        raise UsageError(
            f"{option(setting)} {value!r} is read inside the pod: give an absolute path there, "
            f"or mount it from a ConfigMap with {option(configmap_setting)}"
        )
    return posixpath.normpath(value)


def pod_verification(
    *,
    policy: str | None = None,
    registries_d: str | None = None,
    policy_configmap: str | None = None,
    registries_d_configmap: str | None = None,
) -> PodVerification:
    """The pull arguments, mounts and volumes for the given settings (all None: nothing)."""
    out = PodVerification()
    if policy_configmap is not None:
        name = check_object_name(policy_configmap, "policy ConfigMap name")
        out.mounts.append({"name": "signature-policy", "mountPath": POLICY_DIR, "readOnly": True})
        out.volumes.append({"name": "signature-policy", "configMap": {"name": name, "defaultMode": 0o444}})
        if policy is None:
            policy = POLICY_FILE
    if registries_d_configmap is not None:
        name = check_object_name(registries_d_configmap, "registries.d ConfigMap name")
        out.mounts.append({"name": "registries-d", "mountPath": REGISTRIES_D_DIR, "readOnly": True})
        out.volumes.append({"name": "registries-d", "configMap": {"name": name, "defaultMode": 0o444}})
        if registries_d is None:
            registries_d = REGISTRIES_D_DIR
    if registries_d is not None and policy is None:
        raise UsageError(f"{option('registries_d')} has no effect without {option('policy')}")
    if policy is not None:
        if policy != "default":
            policy = _pod_path(policy, "policy", "policy_configmap")
        out.args.extend(["--policy", policy])
    if registries_d is not None:
        out.args.extend(["--registries-d", _pod_path(registries_d, "registries_d", "registries_d_configmap")])
    return out
