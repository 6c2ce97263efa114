"""Kubernetes' API structs as :mod:`.gotypes` describes them: ``metav1.ObjectMeta``, the core ``v1``
pod spec (containers, probes, volumes, affinity, security contexts) and ``apps/v1.DeploymentSpec``,
the fields that carry a non-string type or nest further."""

from __future__ import annotations

from typing import Any

from imgextract.catalog.render.gotypes import (
    ANY,
    I32,
    I64,
    IOS,
    SMAP,
    STRS,
    TIME,
    B,
    List,
    Map,
    Q,
    S,
    Struct,
    _named,
    _struct,
)

__all__ = ["CUSTOM_RESOURCE_DEFINITION", "DEPLOYMENT_SPEC", "OBJECT_META"]


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


def _crd(version: str) -> Struct:
    """``apiextensions/<version>.CustomResourceDefinition``, the fields ``Bundle.cache`` reads the
    provided APIs from, as the API machinery's deserializer decodes them (field names exactly)."""

    def exact(go_name: str, /, **fields: Any) -> Struct:
        return Struct(go_name, fields, exact=True)

    spec = {
        "group": S,
        "names": exact(f"{version}.CustomResourceDefinitionNames", kind=S, plural=S),
        "versions": List(exact(f"{version}.CustomResourceDefinitionVersion", name=S)),
    }
    if version == "v1beta1":
        spec["version"] = S
    return exact(
        f"{version}.CustomResourceDefinition", spec=exact(f"{version}.CustomResourceDefinitionSpec", **spec)
    )


CUSTOM_RESOURCE_DEFINITION = {version: _crd(version) for version in ("v1", "v1beta1")}
