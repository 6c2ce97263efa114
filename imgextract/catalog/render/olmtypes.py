"""operator-framework's structs as :mod:`.gotypes` describes them: declcfg's schemas, the values of
the known property types, the related images, the CSV spec ``GetOperatorImages`` reads and the
``v1alpha1.ClusterServiceVersion`` the ``bundle-object-to-csv-metadata`` migration decodes."""

from __future__ import annotations

from imgextract.catalog.render.gotypes import (
    ANY,
    SMAP,
    STRS,
    B,
    List,
    Map,
    Prim,
    S,
    Struct,
    _named,
    _struct,
)
from imgextract.catalog.render.kubetypes import DEPLOYMENT_SPEC, OBJECT_META

__all__ = ["CLUSTER_SERVICE_VERSION", "CSV_SPEC_FOR_IMAGES", "DECLCFG", "PROPERTY_VALUES", "RELATED_IMAGES"]


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
