"""Go ``json.Unmarshal`` into Kubernetes' typed structs: which input fails, and with which error.

opm decodes parts of a CSV into typed Go structs: ``ClusterServiceVersion.GetOperatorImages`` (every
rendered bundle) reads ``spec.install`` into a struct whose deployments are ``apps/v1.DeploymentSpec``,
and the ``bundle-object-to-csv-metadata`` migration reads the whole CSV into operator-framework/api's
``v1alpha1.ClusterServiceVersion``.  A value of the wrong type there (``replicas: "3"``, an env
``value: 8080``, a bad resource quantity) fails opm's render.  :func:`check` walks a decoded value
against a type description the way ``encoding/json`` does:

* object keys find their field exactly or case-insensitively; unknown keys and ``null`` values are
  skipped; keys are visited in document order (``sort_keys`` for JSON written from a Go map);
* a value of the wrong kind is an ``UnmarshalTypeError`` (``json: cannot unmarshal string into Go
  struct field DeploymentSpec.spec.replicas of type int32``: the innermost struct's name, the JSON
  field names from the root, the Go type); decoding goes on and the FIRST such error is returned;
  a number that does not fit an integer field is ``number 1.5`` / ``number 3000000000``;
* types with their own ``UnmarshalJSON`` (``resource.Quantity``, ``intstr.IntOrString``,
  ``metav1.Time``) fail at once with their own error, which wins over an earlier type error.

The type descriptions cover the fields of those structs that carry a non-string type or nest
further; a struct not described (a rarely used volume source, say) is accepted as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from imgextract.catalog.render.gostruct import json_type

__all__ = [
    "CLUSTER_SERVICE_VERSION",
    "CSV_SPEC_FOR_IMAGES",
    "DECLCFG",
    "RELATED_IMAGES",
    "GoTypeError",
    "check",
]


class GoTypeError(ValueError):
    """What Go's ``json.Unmarshal`` returns for the value."""


# ---------------------------------------------------------------------------------------- types


@dataclass(frozen=True)
class Prim:
    """A Go scalar: ``kind`` is string, bool, int32, int64, any; ``name`` its Go type name."""

    kind: str
    name: str


@dataclass(frozen=True)
class Custom:
    """A type with its own UnmarshalJSON: quantity, intorstr, time."""

    kind: str


@dataclass
class Struct:
    name: str  # Go type name with package ("v1.Container")
    fields: dict[str, Any] = field(default_factory=dict)
    _folded: dict[str, str] | None = None

    def find(self, key: str) -> tuple[str, Any] | None:
        t = self.fields.get(key)
        if t is not None:
            return key, t
        if self._folded is None:
            self._folded = {k.lower(): k for k in self.fields}
        name = self._folded.get(key.lower())
        return (name, self.fields[name]) if name is not None else None


@dataclass(frozen=True)
class List:
    elem: Any

    @property
    def name(self) -> str:
        return "[]" + _name(self.elem)


@dataclass(frozen=True)
class Map:
    elem: Any
    go_name: str = ""

    @property
    def name(self) -> str:
        return self.go_name or "map[string]" + _name(self.elem)


def _name(t: Any) -> str:
    if isinstance(t, Custom):
        return {"quantity": "resource.Quantity", "intorstr": "intstr.IntOrString", "time": "v1.Time"}[t.kind]
    return str(t.name)


S = Prim("string", "string")
B = Prim("bool", "bool")
I32 = Prim("int32", "int32")
I64 = Prim("int64", "int64")
ANY = Prim("any", "interface {}")
Q = Custom("quantity")
IOS = Custom("intorstr")
TIME = Custom("time")
STRS = List(S)
SMAP = Map(S)


def _named(name: str) -> Prim:
    return Prim("string", name)


def _struct(go_name: str, /, **fields: Any) -> Struct:
    return Struct(go_name, {k.rstrip("_"): v for k, v in fields.items()})


# ---------------------------------------------------------------------------------------- k8s API

RESOURCES = Map(Q, "v1.ResourceList")
LABEL_SELECTOR = _struct(
    "v1.LabelSelector",
    matchLabels=SMAP,
    matchExpressions=List(
        _struct(
            "v1.LabelSelectorRequirement", key=S, operator=_named("v1.LabelSelectorOperator"), values=STRS
        )
    ),
)
OWNER_REFERENCE = _struct(
    "v1.OwnerReference",
    apiVersion=S,
    kind=S,
    name=S,
    uid=_named("types.UID"),
    controller=B,
    blockOwnerDeletion=B,
)
OBJECT_META = _struct(
    "v1.ObjectMeta",
    name=S,
    generateName=S,
    namespace=S,
    selfLink=S,
    uid=_named("types.UID"),
    resourceVersion=S,
    generation=I64,
    creationTimestamp=TIME,
    deletionTimestamp=TIME,
    deletionGracePeriodSeconds=I64,
    labels=SMAP,
    annotations=SMAP,
    ownerReferences=List(OWNER_REFERENCE),
    finalizers=STRS,
    managedFields=List(
        _struct(
            "v1.ManagedFieldsEntry",
            manager=S,
            operation=_named("v1.ManagedFieldsOperationType"),
            apiVersion=S,
            time=TIME,
            fieldsType=S,
            fieldsV1=ANY,
            subresource=S,
        )
    ),
)
_KEY_SELECTOR = dict(name=S, key=S, optional=B)
ENV_VAR = _struct(
    "v1.EnvVar",
    name=S,
    value=S,
    valueFrom=_struct(
        "v1.EnvVarSource",
        fieldRef=_struct("v1.ObjectFieldSelector", apiVersion=S, fieldPath=S),
        resourceFieldRef=_struct("v1.ResourceFieldSelector", containerName=S, resource=S, divisor=Q),
        configMapKeyRef=_struct("v1.ConfigMapKeySelector", **_KEY_SELECTOR),
        secretKeyRef=_struct("v1.SecretKeySelector", **_KEY_SELECTOR),
    ),
)
ENV_FROM = _struct(
    "v1.EnvFromSource",
    prefix=S,
    configMapRef=_struct("v1.ConfigMapEnvSource", name=S, optional=B),
    secretRef=_struct("v1.SecretEnvSource", name=S, optional=B),
)
_EXEC = _struct("v1.ExecAction", command=STRS)
_HTTP_GET = _struct(
    "v1.HTTPGetAction",
    path=S,
    port=IOS,
    host=S,
    scheme=_named("v1.URIScheme"),
    httpHeaders=List(_struct("v1.HTTPHeader", name=S, value=S)),
)
_TCP = _struct("v1.TCPSocketAction", port=IOS, host=S)
PROBE = _struct(
    "v1.Probe",
    exec_=_EXEC,
    httpGet=_HTTP_GET,
    tcpSocket=_TCP,
    grpc=_struct("v1.GRPCAction", port=I32, service=S),
    initialDelaySeconds=I32,
    timeoutSeconds=I32,
    periodSeconds=I32,
    successThreshold=I32,
    failureThreshold=I32,
    terminationGracePeriodSeconds=I64,
)
_HANDLER = _struct(
    "v1.LifecycleHandler",
    exec_=_EXEC,
    httpGet=_HTTP_GET,
    tcpSocket=_TCP,
    sleep=_struct("v1.SleepAction", seconds=I64),
)
_SE_LINUX = _struct("v1.SELinuxOptions", user=S, role=S, type=S, level=S)
_WINDOWS = _struct(
    "v1.WindowsSecurityContextOptions",
    gmsaCredentialSpecName=S,
    gmsaCredentialSpec=S,
    runAsUserName=S,
    hostProcess=B,
)
_SECCOMP = _struct("v1.SeccompProfile", type=_named("v1.SeccompProfileType"), localhostProfile=S)
_APPARMOR = _struct("v1.AppArmorProfile", type=_named("v1.AppArmorProfileType"), localhostProfile=S)
SECURITY_CONTEXT = _struct(
    "v1.SecurityContext",
    capabilities=_struct(
        "v1.Capabilities", add=List(_named("v1.Capability")), drop=List(_named("v1.Capability"))
    ),
    privileged=B,
    seLinuxOptions=_SE_LINUX,
    windowsOptions=_WINDOWS,
    runAsUser=I64,
    runAsGroup=I64,
    runAsNonRoot=B,
    readOnlyRootFilesystem=B,
    allowPrivilegeEscalation=B,
    procMount=_named("v1.ProcMountType"),
    seccompProfile=_SECCOMP,
    appArmorProfile=_APPARMOR,
)
_CONTAINER_FIELDS = dict(
    name=S,
    image=S,
    command=STRS,
    args=STRS,
    workingDir=S,
    ports=List(
        _struct(
            "v1.ContainerPort",
            name=S,
            hostPort=I32,
            containerPort=I32,
            protocol=_named("v1.Protocol"),
            hostIP=S,
        )
    ),
    envFrom=List(ENV_FROM),
    env=List(ENV_VAR),
    resources=_struct(
        "v1.ResourceRequirements",
        limits=RESOURCES,
        requests=RESOURCES,
        claims=List(_struct("v1.ResourceClaim", name=S, request=S)),
    ),
    resizePolicy=List(
        _struct(
            "v1.ContainerResizePolicy",
            resourceName=_named("v1.ResourceName"),
            restartPolicy=_named("v1.ResourceResizeRestartPolicy"),
        )
    ),
    restartPolicy=_named("v1.ContainerRestartPolicy"),
    volumeMounts=List(
        _struct(
            "v1.VolumeMount",
            name=S,
            readOnly=B,
            recursiveReadOnly=_named("v1.RecursiveReadOnlyMode"),
            mountPath=S,
            subPath=S,
            mountPropagation=_named("v1.MountPropagationMode"),
            subPathExpr=S,
        )
    ),
    volumeDevices=List(_struct("v1.VolumeDevice", name=S, devicePath=S)),
    livenessProbe=PROBE,
    readinessProbe=PROBE,
    startupProbe=PROBE,
    lifecycle=_struct("v1.Lifecycle", postStart=_HANDLER, preStop=_HANDLER, stopSignal=_named("v1.Signal")),
    terminationMessagePath=S,
    terminationMessagePolicy=_named("v1.TerminationMessagePolicy"),
    imagePullPolicy=_named("v1.PullPolicy"),
    securityContext=SECURITY_CONTEXT,
    stdin=B,
    stdinOnce=B,
    tty=B,
)
CONTAINER = _struct("v1.Container", **_CONTAINER_FIELDS)
EPHEMERAL_CONTAINER = _struct("v1.EphemeralContainer", **_CONTAINER_FIELDS, targetContainerName=S)
_KEY_TO_PATH = List(_struct("v1.KeyToPath", key=S, path=S, mode=I32))
_DOWNWARD_ITEMS = List(
    _struct(
        "v1.DownwardAPIVolumeFile",
        path=S,
        fieldRef=_struct("v1.ObjectFieldSelector", apiVersion=S, fieldPath=S),
        resourceFieldRef=_struct("v1.ResourceFieldSelector", containerName=S, resource=S, divisor=Q),
        mode=I32,
    )
)
_LOCAL_REF = _struct("v1.LocalObjectReference", name=S)
VOLUME = _struct(
    "v1.Volume",
    name=S,
    hostPath=_struct("v1.HostPathVolumeSource", path=S, type=_named("v1.HostPathType")),
    emptyDir=_struct("v1.EmptyDirVolumeSource", medium=_named("v1.StorageMedium"), sizeLimit=Q),
    secret=_struct("v1.SecretVolumeSource", secretName=S, items=_KEY_TO_PATH, defaultMode=I32, optional=B),
    configMap=_struct("v1.ConfigMapVolumeSource", name=S, items=_KEY_TO_PATH, defaultMode=I32, optional=B),
    persistentVolumeClaim=_struct("v1.PersistentVolumeClaimVolumeSource", claimName=S, readOnly=B),
    downwardAPI=_struct("v1.DownwardAPIVolumeSource", items=_DOWNWARD_ITEMS, defaultMode=I32),
    projected=_struct(
        "v1.ProjectedVolumeSource",
        sources=List(
            _struct(
                "v1.VolumeProjection",
                secret=_struct("v1.SecretProjection", name=S, items=_KEY_TO_PATH, optional=B),
                configMap=_struct("v1.ConfigMapProjection", name=S, items=_KEY_TO_PATH, optional=B),
                downwardAPI=_struct("v1.DownwardAPIProjection", items=_DOWNWARD_ITEMS),
                serviceAccountToken=_struct(
                    "v1.ServiceAccountTokenProjection", audience=S, expirationSeconds=I64, path=S
                ),
            )
        ),
        defaultMode=I32,
    ),
    csi=_struct(
        "v1.CSIVolumeSource",
        driver=S,
        readOnly=B,
        fsType=S,
        volumeAttributes=SMAP,
        nodePublishSecretRef=_LOCAL_REF,
    ),
    nfs=_struct("v1.NFSVolumeSource", server=S, path=S, readOnly=B),
)
_NODE_SELECTOR_TERM = _struct(
    "v1.NodeSelectorTerm",
    matchExpressions=List(
        _struct("v1.NodeSelectorRequirement", key=S, operator=_named("v1.NodeSelectorOperator"), values=STRS)
    ),
    matchFields=List(
        _struct("v1.NodeSelectorRequirement", key=S, operator=_named("v1.NodeSelectorOperator"), values=STRS)
    ),
)
_POD_AFFINITY_TERM = _struct(
    "v1.PodAffinityTerm",
    labelSelector=LABEL_SELECTOR,
    namespaces=STRS,
    topologyKey=S,
    namespaceSelector=LABEL_SELECTOR,
    matchLabelKeys=STRS,
    mismatchLabelKeys=STRS,
)


def _pod_affinity(name: str) -> Struct:
    return _struct(
        name,
        requiredDuringSchedulingIgnoredDuringExecution=List(_POD_AFFINITY_TERM),
        preferredDuringSchedulingIgnoredDuringExecution=List(
            _struct("v1.WeightedPodAffinityTerm", weight=I32, podAffinityTerm=_POD_AFFINITY_TERM)
        ),
    )


AFFINITY = _struct(
    "v1.Affinity",
    nodeAffinity=_struct(
        "v1.NodeAffinity",
        requiredDuringSchedulingIgnoredDuringExecution=_struct(
            "v1.NodeSelector", nodeSelectorTerms=List(_NODE_SELECTOR_TERM)
        ),
        preferredDuringSchedulingIgnoredDuringExecution=List(
            _struct("v1.PreferredSchedulingTerm", weight=I32, preference=_NODE_SELECTOR_TERM)
        ),
    ),
    podAffinity=_pod_affinity("v1.PodAffinity"),
    podAntiAffinity=_pod_affinity("v1.PodAntiAffinity"),
)
POD_SPEC = _struct(
    "v1.PodSpec",
    volumes=List(VOLUME),
    initContainers=List(CONTAINER),
    containers=List(CONTAINER),
    ephemeralContainers=List(EPHEMERAL_CONTAINER),
    restartPolicy=_named("v1.RestartPolicy"),
    terminationGracePeriodSeconds=I64,
    activeDeadlineSeconds=I64,
    dnsPolicy=_named("v1.DNSPolicy"),
    nodeSelector=SMAP,
    serviceAccountName=S,
    serviceAccount=S,
    automountServiceAccountToken=B,
    nodeName=S,
    hostNetwork=B,
    hostPID=B,
    hostIPC=B,
    shareProcessNamespace=B,
    securityContext=_struct(
        "v1.PodSecurityContext",
        seLinuxOptions=_SE_LINUX,
        windowsOptions=_WINDOWS,
        runAsUser=I64,
        runAsGroup=I64,
        runAsNonRoot=B,
        supplementalGroups=List(I64),
        supplementalGroupsPolicy=_named("v1.SupplementalGroupsPolicy"),
        fsGroup=I64,
        sysctls=List(_struct("v1.Sysctl", name=S, value=S)),
        fsGroupChangePolicy=_named("v1.PodFSGroupChangePolicy"),
        seccompProfile=_SECCOMP,
        appArmorProfile=_APPARMOR,
        seLinuxChangePolicy=_named("v1.PodSELinuxChangePolicy"),
    ),
    imagePullSecrets=List(_LOCAL_REF),
    hostname=S,
    subdomain=S,
    affinity=AFFINITY,
    schedulerName=S,
    tolerations=List(
        _struct(
            "v1.Toleration",
            key=S,
            operator=_named("v1.TolerationOperator"),
            value=S,
            effect=_named("v1.TaintEffect"),
            tolerationSeconds=I64,
        )
    ),
    hostAliases=List(_struct("v1.HostAlias", ip=S, hostnames=STRS)),
    priorityClassName=S,
    priority=I32,
    dnsConfig=_struct(
        "v1.PodDNSConfig",
        nameservers=STRS,
        searches=STRS,
        options=List(_struct("v1.PodDNSConfigOption", name=S, value=S)),
    ),
    readinessGates=List(_struct("v1.PodReadinessGate", conditionType=_named("v1.PodConditionType"))),
    runtimeClassName=S,
    enableServiceLinks=B,
    preemptionPolicy=_named("v1.PreemptionPolicy"),
    overhead=RESOURCES,
    topologySpreadConstraints=List(
        _struct(
            "v1.TopologySpreadConstraint",
            maxSkew=I32,
            topologyKey=S,
            whenUnsatisfiable=_named("v1.UnsatisfiableConstraintAction"),
            labelSelector=LABEL_SELECTOR,
            minDomains=I32,
            nodeAffinityPolicy=_named("v1.NodeInclusionPolicy"),
            nodeTaintsPolicy=_named("v1.NodeInclusionPolicy"),
            matchLabelKeys=STRS,
        )
    ),
    setHostnameAsFQDN=B,
    os=_struct("v1.PodOS", name=_named("v1.OSName")),
    hostUsers=B,
    schedulingGates=List(_struct("v1.PodSchedulingGate", name=S)),
)
DEPLOYMENT_SPEC = _struct(
    "v1.DeploymentSpec",
    replicas=I32,
    selector=LABEL_SELECTOR,
    template=_struct("v1.PodTemplateSpec", metadata=OBJECT_META, spec=POD_SPEC),
    strategy=_struct(
        "v1.DeploymentStrategy",
        type=_named("v1.DeploymentStrategyType"),
        rollingUpdate=_struct("v1.RollingUpdateDeployment", maxUnavailable=IOS, maxSurge=IOS),
    ),
    minReadySeconds=I32,
    revisionHistoryLimit=I32,
    paused=B,
    progressDeadlineSeconds=I32,
)

# declcfg's structs, as LoadFS's fbcBuilder.addMeta unmarshals each known schema ("parse bundle: ...")
_PROPERTIES = List(Struct("property.Property", {"type": S, "value": ANY}))
DECLCFG = {
    "olm.package": _struct(
        "declcfg.Package",
        schema=S,
        name=S,
        defaultChannel=S,
        icon=_struct("declcfg.Icon", base64data=Prim("bytes", "[]uint8"), mediatype=S),
        description=S,
        properties=_PROPERTIES,
    ),
    "olm.channel": _struct(
        "declcfg.Channel",
        schema=S,
        name=S,
        package=S,
        entries=List(_struct("declcfg.ChannelEntry", name=S, replaces=S, skips=STRS, skipRange=S)),
        properties=_PROPERTIES,
    ),
    "olm.bundle": _struct(
        "declcfg.Bundle",
        schema=S,
        package=S,
        name=S,
        image=S,
        properties=_PROPERTIES,
        relatedImages=List(_struct("declcfg.RelatedImage", name=S, image=S)),
    ),
    "olm.deprecations": _struct(
        "declcfg.Deprecation",
        schema=S,
        package=S,
        entries=List(
            _struct(
                "declcfg.DeprecationEntry",
                reference=_struct("declcfg.PackageScopedReference", schema=S, name=S),
                message=S,
            )
        ),
    ),
}

# property.CSVMetadata's descriptions: the fields its two upstream shapes (operator-framework/api's
# v1alpha1 descriptions, or the compact copies of their plain fields) share
_CRD_DESCRIPTION = _struct("v1alpha1.CRDDescription", name=S, version=S, kind=S, displayName=S, description=S)
_API_SERVICE_DESCRIPTION = _struct(
    "v1alpha1.APIServiceDescription", name=S, group=S, version=S, kind=S, displayName=S, description=S
)
_APP_LINK = _struct("v1alpha1.AppLink", name=S, url=S)

# getRelatedImages: spec.relatedImages into []declcfg.RelatedImage
# property.Parse (declcfg.ConvertToModel): the value of each known property type decodes into its struct
PROPERTY_VALUES = {
    "olm.package": _struct("property.Package", packageName=S, version=S, release=S),
    "olm.package.required": _struct("property.PackageRequired", packageName=S, versionRange=S),
    "olm.gvk": _struct("property.GVK", group=S, kind=S, version=S),
    "olm.gvk.required": _struct("property.GVKRequired", group=S, kind=S, version=S),
    "olm.bundle.object": _struct("property.BundleObject", data=Prim("bytes", "[]uint8")),
    "olm.channel": _struct("property.Channel", channelName=S),
    "olm.csv.metadata": _struct(
        "property.CSVMetadata",
        annotations=SMAP,
        apiServiceDefinitions=_struct(
            "v1alpha1.APIServiceDefinitions",
            owned=List(_API_SERVICE_DESCRIPTION),
            required=List(_API_SERVICE_DESCRIPTION),
        ),
        crdDescriptions=_struct(
            "v1alpha1.CustomResourceDefinitions",
            owned=List(_CRD_DESCRIPTION),
            required=List(_CRD_DESCRIPTION),
        ),
        description=S,
        displayName=S,
        installModes=List(
            _struct("v1alpha1.InstallMode", type=_named("v1alpha1.InstallModeType"), supported=B)
        ),
        keywords=STRS,
        labels=SMAP,
        links=List(_APP_LINK),
        maintainers=List(_struct("v1alpha1.Maintainer", name=S, email=S)),
        maturity=S,
        minKubeVersion=S,
        nativeAPIs=List(_struct("v1.GroupVersionKind", group=S, version=S, kind=S)),
        provider=_APP_LINK,
    ),
}
RELATED_IMAGES = List(Struct("declcfg.RelatedImage", {"name": S, "image": S}))

# registry.ClusterServiceVersion.GetOperatorImages: its function-local csvSpec (untagged fields keep
# their Go names: Install, Deployments, Name, Spec)
CSV_SPEC_FOR_IMAGES = Struct(
    "registry.csvSpec",
    {
        "Install": Struct(
            "registry.strategy",
            {
                "strategy": S,
                "spec": Struct(
                    "registry.strategySpec",
                    {"Deployments": List(Struct("registry.dep", {"Name": S, "Spec": DEPLOYMENT_SPEC}))},
                ),
            },
        )
    },
)

_POLICY_RULES = List(
    _struct(
        "v1.PolicyRule", verbs=STRS, apiGroups=STRS, resources=STRS, resourceNames=STRS, nonResourceURLs=STRS
    )
)
_PERMISSIONS = List(
    _struct("v1alpha1.StrategyDeploymentPermissions", serviceAccountName=S, rules=_POLICY_RULES)
)
# operator-framework/api v1alpha1.ClusterServiceVersion, the parts the migration's json.Unmarshal
# can fail on beyond what csvmeta checks itself: metadata and the deployment install strategy
CLUSTER_SERVICE_VERSION = _struct(
    "v1alpha1.ClusterServiceVersion",
    kind=S,  # metav1.TypeMeta, embedded: its fields are the CSV's own
    apiVersion=S,
    metadata=OBJECT_META,
    spec=_struct(
        "v1alpha1.ClusterServiceVersionSpec",
        install=_struct(
            "v1alpha1.NamedInstallStrategy",
            strategy=S,
            spec=_struct(
                "v1alpha1.StrategyDetailsDeployment",
                deployments=List(
                    _struct(
                        "v1alpha1.StrategyDeploymentSpec",
                        name=S,
                        spec=DEPLOYMENT_SPEC,
                        label=Map(S, "labels.Set"),
                    )
                ),
                permissions=_PERMISSIONS,
                clusterPermissions=_PERMISSIONS,
            ),
        ),
    ),
)


# ---------------------------------------------------------------------------------------- checking


class _Fatal(Exception):
    pass


def _number_text(v: int | float) -> str:
    from imgextract.catalog.render import gojson

    return str(v) if isinstance(v, int) else gojson.json_float(v)


_GO_SPACE = " \t\n\v\f\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
_INT_RANGE = {"int32": (-(1 << 31), (1 << 31) - 1), "int64": (-(1 << 63), (1 << 63) - 1)}
# parseQuantityString: sign, digits, "." and digits (each part may be empty), then the suffix
_QUANTITY = re.compile(r"[+-]?[0-9]*(?:\.[0-9]*)?(?P<suffix>.*)", re.S)
_QUANTITY_SHAPE = re.compile(r"[eEinumkKMGTP]*[-+]?[0-9]*")  # what the parser takes as a suffix
_QUANTITY_SUFFIX = re.compile(r"(?:|[numkMGTPE]|[KMGTPE]i|[eE][+-]?[0-9]+)")
_QUANTITY_FORMAT = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)


class _Walk:
    def __init__(self, sort_keys: bool) -> None:
        self.sort_keys = sort_keys
        self.saved: str | None = None
        self.struct = ""
        self.stack: list[str] = []

    def _where(self) -> str:
        return f"Go struct field {self.struct}.{'.'.join(self.stack)}"

    def type_error(self, value: str, type_name: str) -> None:
        if self.saved is None:
            self.saved = (
                f"json: cannot unmarshal {value} into {self._where()} of type {type_name}"
                if self.struct or self.stack
                else f"json: cannot unmarshal {value} into Go value of type {type_name}"
            )

    def fatal_type(self, value: str, type_name: str) -> None:
        """A type error from a type's own UnmarshalJSON: json adds the outer context, and it aborts."""
        where = self._where() if self.struct or self.stack else "Go value"
        raise _Fatal(f"json: cannot unmarshal {value} into {where} of type {type_name}")

    def value(self, v: Any, t: Any) -> None:
        if v is None:
            return
        if isinstance(t, Prim):
            self.prim(v, t)
        elif isinstance(t, Custom):
            self.custom(v, t)
        elif isinstance(t, Struct):
            if not isinstance(v, dict):
                self.type_error(json_type(v), t.name)
                return
            self.struct_(v, t)
        elif isinstance(t, List):
            if not isinstance(v, list):
                self.type_error(json_type(v), t.name)
                return
            for x in v:
                self.value(x, t.elem)
        elif isinstance(t, Map):
            if not isinstance(v, dict):
                self.type_error(json_type(v), t.name)
                return
            for k in sorted(v, key=lambda s: s.encode("utf-8", "surrogatepass")) if self.sort_keys else v:
                self.value(v[k], t.elem)

    def struct_(self, v: dict[str, Any], t: Struct) -> None:
        keys = sorted(v, key=lambda s: s.encode("utf-8", "surrogatepass")) if self.sort_keys else v
        outer_struct, depth = self.struct, len(self.stack)
        fields = t.fields
        for k in keys:
            x = v[k]
            if x is None:
                continue
            ft = fields.get(k)
            if ft is not None:
                name = k
            else:
                found = t.find(k)
                if found is None:
                    continue
                name, ft = found
            if isinstance(ft, Prim) and ft.kind == "string" and isinstance(x, str):
                continue  # the most common field: nothing to check
            self.struct = t.name.rpartition(".")[2]
            self.stack.append(name)
            self.value(x, ft)
            del self.stack[depth:]
            self.struct = outer_struct

    def prim(self, v: Any, t: Prim) -> None:
        if t.kind == "any":
            return
        kind = json_type(v)
        if t.kind in ("string", "bytes"):  # a []byte takes a base64 string (decoded elsewhere)
            if kind != "string":
                self.type_error(kind, t.name)
        elif t.kind == "bool":
            if kind != "bool":
                self.type_error(kind, t.name)
        elif kind != "number":
            self.type_error(kind, t.name)
        else:
            lo, hi = _INT_RANGE[t.kind]
            if not isinstance(v, int) or not lo <= v <= hi:
                text = _number_text(v)
                if isinstance(v, float) and "." not in text and "e" not in text:
                    if lo <= int(text) <= hi:
                        return  # a float64 Go writes as an integer (1.0 -> 1)
                self.type_error("number " + text, t.name)

    def custom(self, v: Any, t: Custom) -> None:
        kind = json_type(v)
        if t.kind == "intorstr":
            if kind == "string":
                return
            if kind != "number":
                self.fatal_type(kind, "int32")
            lo, hi = _INT_RANGE["int32"]
            text = _number_text(v)
            if "." in text or "e" in text or not lo <= int(text) <= hi:
                self.fatal_type("number " + text, "int32")
        elif t.kind == "time":
            if kind != "string":
                self.fatal_type(kind, "string")
            if not _RFC3339.fullmatch(v):
                raise _Fatal(
                    f'parsing time "{v}" as "2006-01-02T15:04:05Z07:00": cannot parse "{v}" as RFC 3339'
                )
        elif t.kind == "quantity":
            # UnmarshalJSON: the JSON text (a string's quotes cut) trimmed, then ParseQuantity
            raw: str = v if kind == "string" else _number_text(v) if kind == "number" else "x"
            raw = raw.strip(_GO_SPACE)
            m = _QUANTITY.fullmatch(raw)
            if not raw or m is None or not _QUANTITY_SHAPE.fullmatch(m.group("suffix")):
                raise _Fatal(_QUANTITY_FORMAT)
            if not _QUANTITY_SUFFIX.fullmatch(m.group("suffix")):
                raise _Fatal("unable to parse quantity's suffix")


def check(value: Any, t: Any, *, sort_keys: bool = False) -> None:
    """Raise :class:`GoTypeError` with Go's message when ``json.Unmarshal`` of ``value`` into ``t``
    fails; ``sort_keys`` when the JSON Go decodes was written from a map (keys in byte order)."""
    w = _Walk(False)
    try:
        w.value(value, t)
        if w.saved is None:
            return  # the common case: nothing fails, in whatever order the keys are visited
    except _Fatal:
        pass
    w = _Walk(sort_keys)  # which error comes first depends on the order Go reads the keys in
    try:
        w.value(value, t)
    except _Fatal as exc:
        raise GoTypeError(str(exc)) from None
    if w.saved is not None:
        raise GoTypeError(w.saved)
