"""Fixture images with realistic, self-written content: operator bundles, an FBC catalog, a generic image.

Each builder returns a `Fixture`: the ImageSpec to write with `oci.write_layout`, plus what a correct
extractor must produce (`files`: path -> bytes, `symlinks`: path -> target, `absent`: paths that must not
exist). Paths are relative to the image root, "/"-separated.

Content is written for this project (shaped after what `operator-sdk` / `opm` produce), not copied.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from regfix.oci import (
    Compression,
    Dir,
    Entry,
    File,
    Hardlink,
    ImageSpec,
    Layer,
    MediaFlavor,
    Opaque,
    Symlink,
    Whiteout,
)

BUNDLE_PREFIX = "operators.operatorframework.io.bundle."
MEDIATYPE = BUNDLE_PREFIX + "mediatype.v1"
MANIFESTS = BUNDLE_PREFIX + "manifests.v1"
METADATA = BUNDLE_PREFIX + "metadata.v1"
PACKAGE = BUNDLE_PREFIX + "package.v1"
CHANNELS = BUNDLE_PREFIX + "channels.v1"
CHANNEL_DEFAULT = BUNDLE_PREFIX + "channel.default.v1"
BUNDLE_KEYS = (MEDIATYPE, MANIFESTS, METADATA, PACKAGE, CHANNELS, CHANNEL_DEFAULT)
INDEX_CONFIGS = "operators.operatorframework.io.index.configs.v1"
SCORECARD = "operators.operatorframework.io.test.config.v1"


@dataclass(frozen=True)
class Fixture:
    kind: str  # "registry+v1" | "plain+v0" | "fbc" | "generic"
    spec: ImageSpec
    files: dict[str, bytes]
    labels: dict[str, str]
    annotations: dict[str, str] = field(default_factory=dict)  # metadata/annotations.yaml (bundles)
    package: str = ""
    symlinks: dict[str, str] = field(default_factory=dict)
    absent: tuple[str, ...] = ()


_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _dump(obj: object) -> bytes:
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=False, width=100).encode()


def _dump_all(objs: Sequence[object]) -> bytes:
    return yaml.dump_all(objs, Dumper=_Dumper, sort_keys=False, width=100).encode()


def _tree_entries(files: Mapping[str, bytes], mode: int = 0o644) -> list[Entry]:
    """Directory entries (parents first, like COPY in a Containerfile) followed by the files."""
    dirs: list[str] = []
    for p in sorted(files):
        parts = p.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in dirs:
                dirs.append(d)
    return [Dir(d) for d in dirs] + [File(p, files[p], mode) for p in sorted(files)]


# --------------------------------------------------------------------------- Kubernetes content


def _crd(
    group: str,
    kind: str,
    plural: str,
    schema: dict[str, object],
    *,
    versions: Sequence[str] = ("v1",),
    salt: str | None = None,
) -> dict[str, Any]:
    annotations = {"controller-gen.kubebuilder.io/version": "v0.14.0"}
    if salt is not None:
        annotations["fixtures.acme.example.test/build"] = salt
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.{group}",
            "annotations": annotations,
        },
        "spec": {
            "group": group,
            "names": {"kind": kind, "listKind": kind + "List", "plural": plural, "singular": kind.lower()},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": v,
                    "served": True,
                    "storage": i == len(versions) - 1,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": schema},
                }
                for i, v in enumerate(versions)
            ],
        },
    }


def _simple_schema(kind: str, spec_props: Mapping[str, str]) -> dict[str, object]:
    return {
        "description": f"{kind} is the Schema for the {kind.lower()}s API.",
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string", "description": "APIVersion defines the versioned schema."},
            "kind": {
                "type": "string",
                "description": "Kind is a string value representing the REST resource.",
            },
            "metadata": {"type": "object"},
            "spec": {
                "type": "object",
                "properties": {
                    k: {"type": t, "description": f"{k} of the {kind}."} for k, t in spec_props.items()
                },
            },
            "status": {
                "type": "object",
                "properties": {
                    "phase": {"type": "string"},
                    "observedGeneration": {"type": "integer", "format": "int64"},
                },
            },
        },
    }


@functools.lru_cache(maxsize=4)
def _large_crd_yaml(group: str, kind: str, plural: str, target_bytes: int, salt: str | None = None) -> bytes:
    return _dump(_crd(group, kind, plural, _large_schema(kind, target_bytes), salt=salt))


def _large_schema(kind: str, target_bytes: int) -> dict[str, object]:
    """A deep, wide openAPIV3Schema (like a CRD embedding PodTemplateSpec) of roughly target_bytes of YAML."""

    def leaf(i: int, j: int) -> dict[str, object]:
        types = ("string", "integer", "boolean", "number")
        t = types[(i + j) % len(types)]
        d: dict[str, object] = {
            "type": t,
            "description": (
                f"Field {j} of rule set {i}. Controls how the operator reconciles this aspect of the managed "
                f"workload; when unset the controller default applies and the value is reported in status."
            ),
        }
        if t == "string" and j % 3 == 0:
            d["enum"] = ["Always", "IfNotPresent", "Never"]
        if t == "integer":
            d.update({"format": "int32", "minimum": 0, "maximum": 65535})
        return d

    def group(i: int) -> dict[str, object]:
        return {
            "type": "object",
            "description": f"RuleSet{i:03d} groups related policy rules.",
            "properties": {f"field{j:02d}": leaf(i, j) for j in range(12)}
            | {
                "selectors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "key": {"type": "string"},
                            "operator": {"type": "string", "enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                            "values": {"type": "array", "items": {"type": "string"}},
                        },
                        "required": ["key", "operator"],
                    },
                }
            },
            "x-kubernetes-preserve-unknown-fields": i % 5 == 0,
        }

    # indentation inside the final CRD adds ~40% to the size of the dumped groups
    per_group = len(_dump({"ruleSet000": group(0)}))
    groups = {f"ruleSet{i:03d}": group(i) for i in range(max(1, int(target_bytes * 0.7 / per_group)))}
    schema = _simple_schema(kind, {"enabled": "boolean"})
    props: Any = schema["properties"]
    props["spec"]["properties"].update(groups)
    return schema


def _csv(package: str, version: str, crds: Sequence[dict[str, Any]], replaces: str | None) -> dict[str, Any]:
    owned = [
        {
            "name": c["metadata"]["name"],
            "kind": c["spec"]["names"]["kind"],
            "version": c["spec"]["versions"][-1]["name"],
            "displayName": c["spec"]["names"]["kind"],
            "description": f"Manages {c['spec']['names']['plural']}.",
        }
        for c in crds
    ]
    group = crds[0]["spec"]["group"] if crds else "example.com"
    examples = [
        {
            "apiVersion": f"{c['spec']['group']}/{c['spec']['versions'][-1]['name']}",
            "kind": c["spec"]["names"]["kind"],
            "metadata": {"name": "example"},
            "spec": {},
        }
        for c in crds
    ]
    name = f"{package}.v{version}"
    csv: dict[str, object] = {
        "apiVersion": "operators.coreos.com/v1alpha1",
        "kind": "ClusterServiceVersion",
        "metadata": {
            "name": name,
            "namespace": "placeholder",
            "annotations": {
                "alm-examples": yaml.safe_dump(examples, default_flow_style=True, width=10_000).strip(),
                "capabilities": "Seamless Upgrades",
                "categories": "Storage",
                "containerImage": f"quay.example.test/acme/{package}@sha256:" + "ab" * 32,
                "createdAt": "2026-11-01T10:00:00Z",
                "repository": f"https://git.example.test/acme/{package}",
                "operators.operatorframework.io/builder": "operator-sdk-v1.33.0",
                "operators.operatorframework.io/project_layout": "go.kubebuilder.io/v4",
            },
            "labels": {
                "operatorframework.io/arch.amd64": "supported",
                "operatorframework.io/arch.arm64": "supported",
            },
        },
        "spec": {
            "displayName": package.replace("-", " ").title(),
            "description": f"The {package} manages widgets and their backups on Kubernetes.\n\nFor tests only.",
            "version": version,
            "maturity": "stable",
            "minKubeVersion": "1.25.0",
            "provider": {"name": "Acme Test Corp"},
            "maintainers": [{"name": "Acme Operators Team", "email": "operators@example.test"}],
            "links": [{"name": "Documentation", "url": f"https://docs.example.test/{package}"}],
            "keywords": ["widgets", "backup", "storage"],
            "icon": [
                {
                    "base64data": "PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4=",
                    "mediatype": "image/svg+xml",
                }
            ],
            "installModes": [
                {"type": "OwnNamespace", "supported": True},
                {"type": "SingleNamespace", "supported": True},
                {"type": "MultiNamespace", "supported": False},
                {"type": "AllNamespaces", "supported": True},
            ],
            "customresourcedefinitions": {"owned": owned},
            "install": {
                "strategy": "deployment",
                "spec": {
                    "clusterPermissions": [
                        {
                            "serviceAccountName": f"{package}-controller-manager",
                            "rules": [
                                {"apiGroups": [group], "resources": ["*"], "verbs": ["*"]},
                                {
                                    "apiGroups": [""],
                                    "resources": ["pods", "services", "configmaps", "secrets"],
                                    "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
                                },
                                {
                                    "apiGroups": ["apps"],
                                    "resources": ["deployments", "statefulsets"],
                                    "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
                                },
                            ],
                        }
                    ],
                    "deployments": [
                        {
                            "name": f"{package}-controller-manager",
                            "label": {"control-plane": "controller-manager"},
                            "spec": {
                                "replicas": 1,
                                "selector": {"matchLabels": {"control-plane": "controller-manager"}},
                                "template": {
                                    "metadata": {"labels": {"control-plane": "controller-manager"}},
                                    "spec": {
                                        "serviceAccountName": f"{package}-controller-manager",
                                        "securityContext": {
                                            "runAsNonRoot": True,
                                            "seccompProfile": {"type": "RuntimeDefault"},
                                        },
                                        "containers": [
                                            {
                                                "name": "manager",
                                                "image": f"quay.example.test/acme/{package}@sha256:"
                                                + "ab" * 32,
                                                "args": [
                                                    "--leader-elect",
                                                    "--health-probe-bind-address=:8081",
                                                ],
                                                "resources": {
                                                    "limits": {"cpu": "500m", "memory": "256Mi"},
                                                    "requests": {"cpu": "10m", "memory": "64Mi"},
                                                },
                                                "securityContext": {
                                                    "allowPrivilegeEscalation": False,
                                                    "capabilities": {"drop": ["ALL"]},
                                                },
                                            }
                                        ],
                                    },
                                },
                            },
                        }
                    ],
                },
            },
            "relatedImages": [
                {"name": "manager", "image": f"quay.example.test/acme/{package}@sha256:" + "ab" * 32}
            ],
        },
    }
    if replaces:
        csv["spec"]["replaces"] = replaces  # type: ignore[index]
    return csv


# --------------------------------------------------------------------------- builders


def registry_v1_bundle(
    package: str = "widget-operator",
    version: str = "1.4.2",
    channels: Sequence[str] = ("stable", "fast"),
    default_channel: str | None = "stable",
    *,
    large_crd: bool = True,
    large_crd_bytes: int = 300_000,
    label_overrides: Mapping[str, str | None] | None = None,
    annotation_overrides: Mapping[str, str | None] | None = None,
    extra_files: Mapping[str, bytes] | None = None,
    scorecard: bool = True,
    compression: Compression = "gzip",
    media: MediaFlavor = "oci",
    crd_salt: str | None = None,
) -> Fixture:
    """A registry+v1 bundle as `operator-sdk bundle` lays it out: one layer per COPY (manifests/, metadata/,
    tests/scorecard/). Overrides set a key (str) or drop it (None); labels and annotations.yaml are the same
    unless overridden separately. ``crd_salt``: an annotation on every CRD, so that bundles built with
    different salts share no CRD file byte for byte."""
    group = "widgets.acme.example.test"
    crds = [
        _crd(
            group,
            "WidgetCluster",
            "widgetclusters",
            _simple_schema("WidgetCluster", {"size": "integer", "version": "string", "paused": "boolean"}),
            versions=("v1alpha1", "v1"),
            salt=crd_salt,
        ),
        _crd(
            group,
            "WidgetBackup",
            "widgetbackups",
            _simple_schema(
                "WidgetBackup", {"clusterName": "string", "schedule": "string", "retain": "integer"}
            ),
            salt=crd_salt,
        ),
    ]
    csv_crds = crds + ([_crd(group, "WidgetPolicy", "widgetpolicies", {})] if large_crd else [])
    csv = _csv(package, version, csv_crds, replaces=None)
    manifests = {f"manifests/{package}.clusterserviceversion.yaml": _dump(csv)}
    for c in crds:
        manifests[f"manifests/{c['metadata']['name']}.crd.yaml"] = _dump(c)
    if large_crd:
        manifests[f"manifests/widgetpolicies.{group}.crd.yaml"] = _large_crd_yaml(
            group, "WidgetPolicy", "widgetpolicies", large_crd_bytes, salt=crd_salt
        )
    manifests[f"manifests/{package}-metrics-service_v1_service.yaml"] = _dump(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": f"{package}-metrics", "labels": {"control-plane": "controller-manager"}},
            "spec": {
                "ports": [{"name": "https", "port": 8443, "targetPort": "https"}],
                "selector": {"control-plane": "controller-manager"},
            },
        }
    )

    annotations: dict[str, str] = {
        MEDIATYPE: "registry+v1",
        MANIFESTS: "manifests/",
        METADATA: "metadata/",
        PACKAGE: package,
        CHANNELS: ",".join(channels),
    }
    if default_channel is not None:
        annotations[CHANNEL_DEFAULT] = default_channel
    labels = dict(annotations)
    if scorecard:
        annotations[SCORECARD] = "tests/scorecard/"
        labels[SCORECARD] = "tests/scorecard/"
    for target, over in ((annotations, annotation_overrides), (labels, label_overrides)):
        for k, v in (over or {}).items():
            if v is None:
                target.pop(k, None)
            else:
                target[k] = v
    metadata = {
        "metadata/annotations.yaml": _dump({"annotations": annotations}),
        "metadata/dependencies.yaml": _dump(
            {
                "dependencies": [
                    {"type": "olm.package", "value": {"packageName": "cert-manager", "version": ">=1.12.0"}},
                    {
                        "type": "olm.gvk",
                        "value": {"group": "storage.acme.example.test", "kind": "Volume", "version": "v1"},
                    },
                ]
            }
        ),
    }
    files = {**manifests, **metadata}
    layers = [
        Layer(_tree_entries(manifests), compression=compression),
        Layer(_tree_entries(metadata), compression=compression),
    ]
    if scorecard:
        sc = {
            "tests/scorecard/config.yaml": _dump(
                {
                    "apiVersion": "scorecard.operatorframework.io/v1alpha3",
                    "kind": "Configuration",
                    "metadata": {"name": "config"},
                    "stages": [
                        {
                            "parallel": True,
                            "tests": [
                                {
                                    "entrypoint": ["scorecard-test", "basic-check-spec"],
                                    "image": "quay.example.test/operator-framework/scorecard-test:v1.33.0",
                                    "labels": {"suite": "basic", "test": "basic-check-spec-test"},
                                }
                            ],
                        }
                    ],
                }
            )
        }
        files.update(sc)
        layers.append(Layer(_tree_entries(sc), compression=compression))
    if extra_files:
        files.update(extra_files)
        layers.append(Layer(_tree_entries(extra_files), compression=compression))
    spec = ImageSpec(layers=layers, labels=labels, media=media)
    return Fixture("registry+v1", spec, files, labels, annotations, package)


def mismatched_labels_bundle(**kw: object) -> Fixture:
    """registry+v1 bundle whose config labels disagree with metadata/annotations.yaml (package and channels)."""
    kw.setdefault("large_crd", False)
    return registry_v1_bundle(
        label_overrides={PACKAGE: "legacy-widget-operator", CHANNELS: "alpha", CHANNEL_DEFAULT: "alpha"},
        **kw,  # type: ignore[arg-type]
    )


def plain_v0_bundle(compression: Compression = "gzip") -> Fixture:
    """plain+v0 (rukpak style): flat manifests/ of ordinary Kubernetes objects, label mediatype "plain"."""
    ns = "gadget-system"
    manifests = {
        "manifests/00-namespace.yaml": _dump(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
        ),
        "manifests/10-rbac.yaml": _dump_all(
            [
                {
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": "gadget", "namespace": ns},
                },
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRole",
                    "metadata": {"name": "gadget"},
                    "rules": [
                        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}
                    ],
                },
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRoleBinding",
                    "metadata": {"name": "gadget"},
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "ClusterRole",
                        "name": "gadget",
                    },
                    "subjects": [{"kind": "ServiceAccount", "name": "gadget", "namespace": ns}],
                },
            ]
        ),
        "manifests/20-deployment.yaml": _dump(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "gadget", "namespace": ns},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": {"app": "gadget"}},
                    "template": {
                        "metadata": {"labels": {"app": "gadget"}},
                        "spec": {
                            "serviceAccountName": "gadget",
                            "containers": [
                                {"name": "gadget", "image": "quay.example.test/acme/gadget:v0.3.0"}
                            ],
                        },
                    },
                },
            }
        ),
    }
    labels = {MEDIATYPE: "plain", MANIFESTS: "manifests/"}
    spec = ImageSpec(layers=[Layer(_tree_entries(manifests), compression=compression)], labels=labels)
    return Fixture("plain+v0", spec, manifests, labels, {}, "gadget")


def fbc_catalog(
    packages: Sequence[str] = ("widget-operator", "gadget-operator"), compression: Compression = "gzip"
) -> Fixture:
    """File-based catalog: a base layer (like the opm base image) and /configs/<pkg>/catalog.yaml."""
    configs: dict[str, bytes] = {}
    for pkg in packages:
        docs: list[object] = [
            {
                "schema": "olm.package",
                "name": pkg,
                "defaultChannel": "stable",
                "description": f"{pkg} for tests",
                "icon": {"base64data": "PHN2Zy8+", "mediatype": "image/svg+xml"},
            },
            {
                "schema": "olm.channel",
                "package": pkg,
                "name": "stable",
                "entries": [
                    {"name": f"{pkg}.v1.4.1"},
                    {"name": f"{pkg}.v1.4.2", "replaces": f"{pkg}.v1.4.1"},
                ],
            },
        ]
        for v in ("1.4.1", "1.4.2"):
            docs.append(
                {
                    "schema": "olm.bundle",
                    "name": f"{pkg}.v{v}",
                    "package": pkg,
                    "image": f"quay.example.test/acme/{pkg}-bundle@sha256:"
                    + ("1" if v.endswith("1") else "2") * 64,
                    "properties": [
                        {"type": "olm.package", "value": {"packageName": pkg, "version": v}},
                        {
                            "type": "olm.gvk",
                            "value": {
                                "group": "widgets.acme.example.test",
                                "kind": "WidgetCluster",
                                "version": "v1",
                            },
                        },
                    ],
                    "relatedImages": [
                        {"name": "manager", "image": f"quay.example.test/acme/{pkg}@sha256:" + "ab" * 32}
                    ],
                }
            )
        configs[f"configs/{pkg}/catalog.yaml"] = _dump_all(docs)
    base = {
        "bin/opm": b"#!/bin/sh\necho 'opm (regfix placeholder)'\n",
        "etc/passwd": b"root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n",
        "etc/nsswitch.conf": b"hosts: files dns\n",
    }
    base_entries = _tree_entries(base)
    base_entries = [File(e.info.name, e.data, 0o755) if e.info.name == "bin/opm" else e for e in base_entries]
    labels = {INDEX_CONFIGS: "/configs", "operators.operatorframework.io.index.cache.v1": "/var/cache/opm"}
    spec = ImageSpec(
        layers=[
            Layer(base_entries, compression=compression),
            Layer(_tree_entries(configs), compression=compression),
        ],
        labels=labels,
        cmd=["serve", "/configs", "--cache-dir=/var/cache/opm"],
    )
    return Fixture("fbc", spec, {**base, **configs}, labels, {}, packages[0] if packages else "")


def generic_multilayer(compression: Compression = "gzip") -> Fixture:
    """A three-layer image exercising overwrite, whiteout, opaque dir, symlinks and hardlinks.

    Final tree: see Fixture.files / symlinks / absent.
    """
    l1 = [
        Dir("etc"),
        File("etc/os-release", "ID=regfix\nVERSION_ID=1\n"),
        File("etc/motd", "old motd\n"),
        Dir("usr"),
        Dir("usr/bin"),
        File("usr/bin/tool", b"\x7fELF fake tool v1\n", 0o755),
        Dir("var"),
        Dir("var/cache"),
        File("var/cache/a", "cache a\n"),
        File("var/cache/b", "cache b\n"),
        Dir("opt"),
        Dir("opt/app"),
        File("opt/app/data.bin", bytes(range(256)) * 64),
    ]
    l2 = [
        Dir("etc"),
        File("etc/motd", "new motd\n"),
        Whiteout("etc/os-release"),
        Dir("var"),
        Dir("var/cache"),
        Opaque("var/cache"),
        File("var/cache/c", "cache c\n"),
        Dir("usr"),
        Dir("usr/bin"),
        Symlink("usr/bin/tool-link", "tool"),
        Hardlink("usr/bin/tool-hard", "usr/bin/tool"),
    ]
    l3 = [
        Dir("etc"),
        File("etc/os-release", "ID=regfix\nVERSION_ID=3\n"),
        Symlink("etc/localtime", "/usr/share/zoneinfo/UTC"),
        Whiteout("opt/app"),
    ]
    files = {
        "etc/os-release": b"ID=regfix\nVERSION_ID=3\n",
        "etc/motd": b"new motd\n",
        "usr/bin/tool": b"\x7fELF fake tool v1\n",
        "usr/bin/tool-hard": b"\x7fELF fake tool v1\n",
        "var/cache/c": b"cache c\n",
    }
    symlinks = {"usr/bin/tool-link": "tool", "etc/localtime": "/usr/share/zoneinfo/UTC"}
    absent = ("var/cache/a", "var/cache/b", "opt/app", "opt/app/data.bin")
    spec = ImageSpec(
        layers=[Layer(x, compression=compression) for x in (l1, l2, l3)],
        labels={"org.example.kind": "generic"},
    )
    return Fixture("generic", spec, files, dict(spec.labels), {}, "", symlinks, absent)
