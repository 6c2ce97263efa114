"""An Indexed Job that pulls a catalog's bundles across a cluster: pod I pulls shard I of N.

``completionMode: Indexed`` gives every pod its index in ``JOB_COMPLETION_INDEX`` (the Job controller
adds that variable to each container, so ``$(JOB_COMPLETION_INDEX)`` expands in the arguments).
Pod I runs ``pull --from-catalog CATALOG --shard I/N -o /output/shard-I`` on a shared volume (a
PersistentVolumeClaim, ReadWriteMany when pods may land on several nodes). Each index has its own
directory: shards are disjoint, and a retried pod finds and skips the bundles its index already
finished. A pod removes another pod's staging directories (whose owner process it cannot see from
its own PID namespace) only once they are a day old: see :mod:`imgextract.procowner`.
``backoffLimitPerIndex`` retries a failed index on its own without failing the others. The pod runs
under the ``restricted`` Pod Security Standard exactly as the single-bundle Job does.
See docs/in-cluster.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from imgextract.errors import UsageError, option
from imgextract.outputs.configmap.meta import check_label_name, check_namespace, check_object_name
from imgextract.outputs.kube.job import (
    SecretType,
    _short_hash,
    check_job_integers,
    literal_args,
    restricted_pod_spec,
)
from imgextract.outputs.kube.policy import pod_verification
from imgextract.reference import parse_reference

OUTPUT = "/output"
# batch validation: above this many completions, backoffLimitPerIndex needs maxFailedIndexes (and
# parallelism <= 10,000); an Indexed Job's parallelism may never exceed it.
MAX_SHARDS = 100_000


def render_indexed_job(
    catalog_ref: str,
    *,
    shards: int,
    namespace: str,
    image: str,
    output_claim: str,
    parallelism: int | None = None,
    filter_args: Sequence[str] = (),
    jobs: int = 4,
    service_account: str | None = None,
    pull_secret_name: str | None = None,
    pull_secret_type: SecretType = "dockerconfigjson",
    job_name: str | None = None,
    active_deadline_seconds: int = 6 * 3600,
    ttl_seconds_after_finished: int = 24 * 3600,
    backoff_limit_per_index: int = 2,
    scratch_size: str = "4Gi",
    extra_args: Sequence[str] = (),
    policy: str | None = None,
    registries_d: str | None = None,
    policy_configmap: str | None = None,
    registries_d_configmap: str | None = None,
) -> dict[str, Any]:
    """The Indexed Job (one object). ``filter_args`` are catalog filter flags passed through as given
    (``--package P``, ``--channel C``, ``--min-version V``, ``--max-version V``, and ``--heads-only``
    or ``--all-bundles``: the caller resolves the choice so that every pod selects the same set).
    ``policy``/``registries_d`` (paths inside the pod) and ``policy_configmap``/
    ``registries_d_configmap`` (ConfigMaps mounted for them) make every pod verify the catalog image
    and each bundle before extracting it: see :mod:`imgextract.outputs.kube.policy`."""
    check_namespace(namespace)
    check_object_name(output_claim, "output claim name")
    if not catalog_ref or catalog_ref.startswith("/"):
        raise UsageError(
            "--from-catalog needs a catalog image reference (pods cannot read a local directory)"
        )
    parse_reference(catalog_ref)
    if not 1 <= shards <= MAX_SHARDS:
        raise UsageError(f"{option('shards')} must be between 1 and {MAX_SHARDS}")
    parallel = shards if parallelism is None else parallelism
    if not 1 <= parallel <= shards:
        raise UsageError(f"{option('parallelism')} must be between 1 and {option('shards')} ({shards})")
    if jobs < 1:
        raise UsageError(f"{option('jobs')} must be at least 1")
    if active_deadline_seconds <= 0 or ttl_seconds_after_finished < 0 or backoff_limit_per_index < 0:
        raise UsageError("deadlines must be positive, ttl and backoff zero or more")
    check_job_integers(
        active_deadline_seconds=active_deadline_seconds,
        ttl_seconds_after_finished=ttl_seconds_after_finished,
        backoff_limit_per_index=backoff_limit_per_index,
    )
    name = check_object_name(job_name or f"bundle-extract-catalog-{_short_hash(catalog_ref)}", "Job name")
    if len(name) > 52:  # pods are <job>-<index>-<suffix>; their hostname label stays within 63
        raise UsageError(f"Job name {name!r} is longer than 52 characters")
    # ValidateJob: the last pod's hostname, <name>-<completions-1>, must be a DNS-1123 label
    check_label_name(f"{name}-{shards - 1}", "Job name (with the pod index, the pods' hostname)")

    verification = pod_verification(
        policy=policy,
        registries_d=registries_d,
        policy_configmap=policy_configmap,
        registries_d_configmap=registries_d_configmap,
    )

    # $(JOB_COMPLETION_INDEX) is expanded by the kubelet; every other value is passed literally
    args = [
        "pull",
        "--from-catalog",
        *literal_args([catalog_ref]),
        "-o",
        f"{OUTPUT}/shard-$(JOB_COMPLETION_INDEX)",
        "--shard",
        f"$(JOB_COMPLETION_INDEX)/{shards}",
        "--jobs",
        str(jobs),
        "--json",
        *literal_args([*filter_args, *verification.args, *extra_args]),
    ]
    labels = {
        "app.kubernetes.io/name": "bundle-extract",
        "app.kubernetes.io/component": "catalog-pull",
        "bundle-extract/catalog-hash": _short_hash(catalog_ref, 40),
    }
    pod_spec = restricted_pod_spec(
        image=image,
        args=args,
        resources={"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        scratch_size=scratch_size,
        verification=verification,
        pull_secret_name=pull_secret_name,
        pull_secret_type=pull_secret_type,
        automount_token=False,
        service_account=service_account,
        extra_mounts=[{"name": "output", "mountPath": OUTPUT}],
        extra_volumes=[{"name": "output", "persistentVolumeClaim": {"claimName": output_claim}}],
    )
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "annotations": {"bundle-extract/catalog": catalog_ref, "bundle-extract/shards": str(shards)},
        },
        "spec": {
            "completionMode": "Indexed",
            "completions": shards,
            "parallelism": parallel,
            "backoffLimitPerIndex": backoff_limit_per_index,
            "activeDeadlineSeconds": active_deadline_seconds,
            "ttlSecondsAfterFinished": ttl_seconds_after_finished,
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }
