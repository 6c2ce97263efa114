"""Synthetic registry+v1 bundles for the ConfigMap tests (generated here, deterministic)."""

from __future__ import annotations

import json
import random
from typing import Any

import yaml

ANNOTATIONS = {
    "operators.operatorframework.io.bundle.mediatype.v1": "registry+v1",
    "operators.operatorframework.io.bundle.manifests.v1": "manifests/",
    "operators.operatorframework.io.bundle.metadata.v1": "metadata/",
    "operators.operatorframework.io.bundle.package.v1": "PKG",
    "operators.operatorframework.io.bundle.channels.v1": "stable,beta",
    "operators.operatorframework.io.bundle.channel.default.v1": "stable",
}


def annotations_for(package: str) -> dict[str, str]:
    return {k: (package if v == "PKG" else v) for k, v in ANNOTATIONS.items()}


def _dump(doc: Any) -> bytes:
    return yaml.safe_dump(doc, sort_keys=False).encode()


def _schema(rng: random.Random, depth: int, width: int, nest: float = 0.3) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for i in range(width):
        name = f"field{i}{rng.choice(['Name', 'Spec', 'Config', 'Selector', 'Limit'])}"
        words = " ".join(
            rng.choice(
                [
                    "the",
                    "pod",
                    "selector",
                    "label",
                    "value",
                    "must",
                    "be",
                    "set",
                    "when",
                    "storage",
                    "retention",
                    "shard",
                    "replica",
                    "alerting",
                    "rule",
                ]
            )
            for _ in range(rng.randint(8, 30))
        )
        if depth > 0 and rng.random() < nest:
            props[name] = {
                "type": "object",
                "description": words.capitalize() + ".",
                "properties": _schema(rng, depth - 1, max(2, width // 2), nest),
            }
        else:
            props[name] = {"type": rng.choice(["string", "integer", "boolean"]), "description": words + "."}
    return props


def crd(group: str, kind: str, plural: str, *, seed: int, depth: int, width: int, nest: float = 0.3) -> bytes:
    rng = random.Random(seed)
    return _dump(
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {
                "group": group,
                "names": {
                    "kind": kind,
                    "plural": plural,
                    "listKind": kind + "List",
                    "singular": kind.lower(),
                },
                "scope": "Namespaced",
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "properties": {
                                    "spec": {"type": "object", "properties": _schema(rng, depth, width, nest)}
                                },
                            }
                        },
                    }
                ],
            },
        }
    )


def csv(name: str, version: str, owned: list[tuple[str, str]], description: str) -> bytes:
    examples = [
        {"apiVersion": f"{g}/v1", "kind": k, "metadata": {"name": "example"}, "spec": {}} for g, k in owned
    ]
    return _dump(
        {
            "apiVersion": "operators.coreos.com/v1alpha1",
            "kind": "ClusterServiceVersion",
            "metadata": {
                "name": f"{name}.v{version}",
                "namespace": "placeholder",
                "annotations": {
                    "alm-examples": json.dumps(examples, indent=2),
                    "capabilities": "Deep Insights",
                },
            },
            "spec": {
                "displayName": name,
                "version": version,
                "description": description,
                "customresourcedefinitions": {
                    "owned": [{"name": f"{k.lower()}s.{g}", "kind": k, "version": "v1"} for g, k in owned]
                },
                "install": {"strategy": "deployment", "spec": {"deployments": [{"name": name, "spec": {}}]}},
            },
        }
    )


def etcd_like() -> dict[str, bytes]:
    """Small bundle (~tens of KB): fits as plain text."""
    group = "etcd.database.coreos.com"
    owned = [(group, "EtcdCluster"), (group, "EtcdBackup"), (group, "EtcdRestore")]
    files = {
        "manifests/etcdoperator.v0.9.4.clusterserviceversion.yaml": csv(
            "etcdoperator", "0.9.4", owned, "Etcd is a distributed key value store.\n\n## Usage\n"
        ),
        "metadata/annotations.yaml": _dump({"annotations": annotations_for("etcd")}),
        "metadata/dependencies.yaml": _dump(
            {
                "dependencies": [
                    {"type": "olm.package", "value": {"packageName": "prometheus", "version": ">0.27.0"}}
                ]
            }
        ),
    }
    for i, (g, kind) in enumerate(owned):
        files[f"manifests/{kind.lower()}s.{g}.crd.yaml"] = crd(
            g, kind, kind.lower() + "s", seed=i, depth=2, width=8
        )
    return files


def prometheus_like() -> dict[str, bytes]:
    """Bundle with large CRDs (> 1 MiB in total, like the real one): needs compression."""
    group = "monitoring.coreos.com"
    kinds = ["Prometheus", "Alertmanager", "ServiceMonitor", "PodMonitor", "PrometheusRule", "ThanosRuler"]
    files = {
        "manifests/prometheusoperator.0.47.0.clusterserviceversion.yaml": csv(
            "prometheusoperator", "0.47.0", [(group, k) for k in kinds], "Prometheus operator.\n" * 50
        ),
        "manifests/prometheus-operator_v1_service.yaml": _dump(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "prometheus-operator"},
                "spec": {"ports": [{"port": 8080}]},
            }
        ),
        "metadata/annotations.yaml": _dump({"annotations": annotations_for("prometheus")}),
        "metadata/properties.yaml": _dump(
            {"properties": [{"type": "olm.maxOpenShiftVersion", "value": "4.16"}]}
        ),
    }
    for i, kind in enumerate(kinds):
        files[f"manifests/monitoring.coreos.com_{kind.lower()}s.yaml"] = crd(
            group, kind, kind.lower() + "s", seed=100 + i, depth=4, width=24 if i < 2 else 12, nest=0.5
        )
    return files


def compressible(total: int = 3 * 1024 * 1024) -> dict[str, bytes]:
    """About ``total`` bytes of repetitive YAML across a few files."""
    files = etcd_like()
    n = 4
    for i in range(n):
        rng = random.Random(i)
        lines = []
        size = 0
        while size < total // n:
            line = f"  - name: item-{rng.randint(0, 999)}\n    value: {rng.choice(['a', 'b', 'c']) * 20}\n"
            lines.append(line)
            size += len(line)
        files[f"manifests/big-{i}.configmap.yaml"] = (
            "apiVersion: v1\nkind: List\nitems:\n" + "".join(lines)
        ).encode()
    return files


def random_blobs(count: int, size: int, seed: int = 7) -> dict[str, bytes]:
    """Incompressible files (random bytes) in manifests/."""
    rng = random.Random(seed)
    files = etcd_like()
    for i in range(count):
        files[f"manifests/blob-{i}.bin"] = rng.randbytes(size)
    return files
