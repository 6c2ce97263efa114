"""Build the catalog model from a stream of FBC objects, checking what opm checks while loading.

Fields are matched as Go's ``json.Unmarshal`` into opm's typed structs matches them: exactly or,
failing that, case-insensitively. Errors name the file and the object index of the offending object.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from imgextract.catalog import declcfg, graph
from imgextract.catalog.fbc import (
    SCHEMA_BUNDLE,
    SCHEMA_CHANNEL,
    SCHEMA_DEPRECATIONS,
    SCHEMA_PACKAGE,
    CatalogFormatError,
    FbcObject,
)
from imgextract.catalog.model import Bundle, Channel, ChannelEntry, Origin, Package, RelatedImage
from imgextract.catalog.versions import try_version
from imgextract.oci.fields import go_fields


@dataclass
class Model:
    """Everything a Catalog holds: packages by name, channels and bundles by package then name."""

    packages: dict[str, Package] = field(default_factory=dict)
    channels: dict[str, dict[str, Channel]] = field(default_factory=dict)
    bundles: dict[str, dict[str, Bundle]] = field(default_factory=dict)


@dataclass
class _RawBundle:
    package: str
    name: str
    image: str
    version: str
    related: tuple[RelatedImage, ...]
    origin: Origin
    version_string: str = ""  # model.Bundle.VersionString: the version, then "-<release>" if any


# apimachinery IsDNS1123Label (ConvertToModel's package names)
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
# semver pre-release identifiers (model.NewRelease's segments)
_RELEASE_SEGMENT = re.compile(r"[0-9A-Za-z-]+")
# The common shape of a valid reference (domain/path[:tag][@sha256:hex]), by distribution's grammar:
# what matches needs no full parse.
_PATH = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_PLAIN_REFERENCE = re.compile(
    rf"(?P<name>{_DOMAIN_PART}(?:\.{_DOMAIN_PART})+(?::[0-9]+)?/{_PATH}(?:/{_PATH})*)"
    r"(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?"
)


def _check_package_name(name: str, origin: Origin) -> None:
    """``ConvertToModel``: a package name is a DNS-1123 label."""
    errs = []
    if len(name) > 63:
        errs.append("must be no more than 63 characters")
    if not _DNS_LABEL.fullmatch(name):
        errs.append(_DNS_LABEL_MESSAGE)
    if errs:
        raise CatalogFormatError(f"{origin}: invalid package name {json.dumps(name)}: [{' '.join(errs)}]")


def _check_pull_spec(spec: str, what: str, obj: FbcObject, package: str, name: str) -> None:
    """``ConvertToModel``'s ``validateImagePullSpec``: a non-empty image parses as
    ``reference.ParseNormalizedNamed`` parses it."""
    if not spec:
        return
    m = _PLAIN_REFERENCE.fullmatch(spec)
    if m is not None and len(m.group("name")) <= 255:
        return
    from imgextract.errors import InvalidReference
    from imgextract.reference import parse_reference

    try:
        parse_reference(spec)
    except InvalidReference as exc:
        reason = str(exc).split(" (reference ")[0]
        raise CatalogFormatError(
            f"{obj.path}: object {obj.index}: package {json.dumps(package)} bundle {json.dumps(name)} {what}: "
            f"invalid image pull spec {json.dumps(spec)}: {reason}"
        ) from None


def _release_errors(release: str) -> str | None:
    """``model.NewRelease``: at most 20 characters, dot-separated semver pre-release identifiers."""
    if len(release) > 20:
        return f"invalid release {json.dumps(release)}: exceeds maximum length of 20 characters"
    bad = [
        f"segment {i}: {_prerelease_error(seg)}"
        for i, seg in enumerate(release.split("."))
        if _prerelease_error(seg)
    ]
    return f"invalid release {json.dumps(release)}: {'; '.join(bad)}" if bad else None


def _prerelease_error(segment: str) -> str:
    """blang/semver ``NewPRVersion``'s error for one identifier ("" when it is valid)."""
    if not segment:
        return "Prerelease is empty"
    if segment.isascii() and segment.isdigit():
        if len(segment) > 1 and segment[0] == "0":
            return f"Numeric PreRelease version must not contain leading zeroes {json.dumps(segment)}"
        if int(segment) >= 1 << 64:  # strconv.ParseUint(s, 10, 64)
            return f"strconv.ParseUint: parsing {json.dumps(segment)}: value out of range"
        return ""
    if not _RELEASE_SEGMENT.fullmatch(segment):
        return f"Invalid character(s) found in prerelease {json.dumps(segment)}"
    return ""


def _str(obj: FbcObject, data: dict[str, Any], key: str, *, required: bool = False) -> str:
    """``data`` is :func:`go_fields` of an object: its fields by folded (for ASCII: lower-cased) name."""
    value = data.get(key.lower())
    if value is None or value == "":
        if required:
            raise CatalogFormatError(f"{obj.path}: object {obj.index}: {obj.schema} has no {key!r}")
        return ""
    if not isinstance(value, str):
        raise CatalogFormatError(
            f"{obj.path}: object {obj.index}: {obj.schema} field {key!r} must be a string"
        )
    return value


def _entries(obj: FbcObject) -> tuple[ChannelEntry, ...]:
    raw = go_fields(obj.data).get("entries") or []
    if not isinstance(raw, list):
        raise CatalogFormatError(f"{obj.path}: object {obj.index}: olm.channel 'entries' must be a list")
    out = []
    seen: set[str] = set()
    for i, e in enumerate(raw):
        if not isinstance(e, dict):
            raise CatalogFormatError(f"{obj.path}: object {obj.index}: entry {i} must be a mapping")
        ef = go_fields(e)
        name = ef.get("name")
        replaces = ef.get("replaces")
        skips = ef.get("skips") or []
        skip_range = ef.get("skiprange")
        if not isinstance(name, str) or not name:
            raise CatalogFormatError(f"{obj.path}: object {obj.index}: entry {i} has no name")
        if replaces is not None and not isinstance(replaces, str):
            raise CatalogFormatError(
                f"{obj.path}: object {obj.index}: entry {name!r}: 'replaces' must be a string"
            )
        if not isinstance(skips, list) or not all(isinstance(s, str) and s for s in skips):
            raise CatalogFormatError(f"{obj.path}: object {obj.index}: entry {name!r}: 'skips' must be names")
        if skip_range is not None and not isinstance(skip_range, str):
            raise CatalogFormatError(
                f"{obj.path}: object {obj.index}: entry {name!r}: 'skipRange' must be a string"
            )
        if name in seen:  # opm's ConvertToModel refuses the channel
            raise CatalogFormatError(
                f"{obj.path}: object {obj.index}: package {obj.package!r}, channel {obj.name!r}: "
                f"duplicate entry {name!r}"
            )
        seen.add(name)
        out.append(ChannelEntry(name, replaces or None, tuple(skips), skip_range or None))
    return tuple(out)


def _bundle(obj: FbcObject) -> _RawBundle:
    data = go_fields(obj.data)
    package = _str(obj, data, "package", required=True)
    name = _str(obj, data, "name", required=True)
    image = _str(obj, data, "image")
    versions = []
    releases: list[str] = []
    objects = 0  # olm.bundle.object properties: what lets a bundle have no image (model.Bundle.Validate)
    props = data.get("properties") or []
    if not isinstance(props, list):
        raise CatalogFormatError(
            f"{obj.path}: object {obj.index}: bundle {name!r}: 'properties' must be a list"
        )
    for p in props:
        pf = go_fields(p) if isinstance(p, dict) else {}
        if pf.get("type") == "olm.bundle.object":
            objects += 1
        if pf.get("type") == "olm.package":
            value = pf.get("value")
            vf = go_fields(value) if isinstance(value, dict) else {}
            if not isinstance(value, dict) or not isinstance(vf.get("version"), str):
                raise CatalogFormatError(
                    f"{obj.path}: object {obj.index}: bundle {name!r}: olm.package property has no version"
                )
            versions.append(vf["version"])
            releases.append(vf.get("release") or "")
            named = vf.get("packagename")
            if named != package:  # opm's ConvertToModel
                raise CatalogFormatError(
                    f"{obj.path}: object {obj.index}: bundle {name!r}: package {package!r} does not match "
                    f"olm.package property {named!r}"
                )
    if len(versions) != 1:
        raise CatalogFormatError(
            f"{obj.path}: object {obj.index}: bundle {name!r}: must have exactly one olm.package property"
        )
    if try_version(versions[0]) is None:  # opm parses it with semver.Parse and refuses the catalog
        raise CatalogFormatError(
            f"{obj.path}: object {obj.index}: error parsing bundle {name!r} version {versions[0]!r}: "
            "not a semantic version (MAJOR.MINOR.PATCH)"
        )
    _check_pull_spec(image, "image", obj, package, name)
    version_string = versions[0]
    release = releases[0] if isinstance(releases[0], str) else ""
    if release:  # ConvertToModel's model.NewRelease, then model.Bundle.Validate
        problem = _release_errors(release)
        if problem is not None:
            raise CatalogFormatError(
                f"{obj.path}: object {obj.index}: error parsing bundle {json.dumps(name)} release version "
                f"{json.dumps(release)}: {problem}"
            )
        version_string = f"{versions[0]}-{release}"
        if "+" in versions[0]:
            raise CatalogFormatError(
                f"{obj.path}: object {obj.index}: invalid bundle {json.dumps(name)}: cannot use build metadata "
                "in version with a release version"
            )
        normalized = f"{package}-v{version_string}"
        if name != normalized:
            raise CatalogFormatError(
                f"{obj.path}: object {obj.index}: invalid bundle {json.dumps(name)}: name {json.dumps(name)} does "
                f"not match normalized name {json.dumps(normalized)}"
            )
    if not image and not objects:
        raise CatalogFormatError(
            f"{obj.path}: object {obj.index}: invalid bundle {name!r}: bundle image must be set"
        )
    related: list[RelatedImage] = []
    raw_related = data.get("relatedimages") or []
    if not isinstance(raw_related, list):
        raise CatalogFormatError(
            f"{obj.path}: object {obj.index}: bundle {name!r}: 'relatedImages' must be a list"
        )
    for r in raw_related:
        if not isinstance(r, dict):
            raise CatalogFormatError(
                f"{obj.path}: object {obj.index}: bundle {name!r}: bad relatedImages item"
            )
        rf = go_fields(r)
        rn, ri = rf.get("name") or "", rf.get("image") or ""
        if not isinstance(rn, str) or not isinstance(ri, str):
            raise CatalogFormatError(
                f"{obj.path}: object {obj.index}: bundle {name!r}: bad relatedImages item"
            )
        _check_pull_spec(ri, f"relatedImages[{len(related)}].image", obj, package, name)
        related.append(RelatedImage(rn, ri))
    return _RawBundle(
        package, name, image, versions[0], tuple(related), Origin(obj.path, obj.index), version_string
    )


def build(objects: Iterable[FbcObject]) -> Model:
    """Read every object once and return the model; memory holds only the compact model."""
    pkgs: dict[str, tuple[str | None, Origin]] = {}
    chans: dict[str, dict[str, tuple[tuple[ChannelEntry, ...], Origin]]] = {}
    raw_bundles: dict[str, dict[str, _RawBundle]] = {}
    deprecations: list[tuple[str, list[tuple[str, str, str]], Origin]] = []
    for obj in objects:
        origin = Origin(obj.path, obj.index)
        if obj.schema in declcfg.STRUCTS:
            declcfg.check_types(obj)
        if obj.schema == SCHEMA_PACKAGE:
            fields = go_fields(obj.data)
            name = _str(obj, fields, "name", required=True)
            if name in pkgs:
                raise CatalogFormatError(f"{origin}: duplicate package {name!r} (first at {pkgs[name][1]})")
            _check_package_name(name, origin)
            default = _str(obj, fields, "defaultChannel") or None
            pkgs[name] = (default, origin)
        elif obj.schema == SCHEMA_CHANNEL:
            fields = go_fields(obj.data)
            pkg = _str(obj, fields, "package", required=True)
            name = _str(obj, fields, "name", required=True)
            per = chans.setdefault(pkg, {})
            if name in per:
                raise CatalogFormatError(
                    f"{origin}: duplicate channel {name!r} in package {pkg!r} (first at {per[name][1]})"
                )
            per[name] = (_entries(obj), origin)
        elif obj.schema == SCHEMA_BUNDLE:
            b = _bundle(obj)
            per_b = raw_bundles.setdefault(b.package, {})
            if b.name in per_b:
                raise CatalogFormatError(
                    f"{origin}: duplicate bundle {b.name!r} in package {b.package!r} (first at {per_b[b.name].origin})"
                )
            per_b[b.name] = b
        elif obj.schema == SCHEMA_DEPRECATIONS:
            deprecations.append(_deprecation(obj))
        # other schemas do not shape the model
    model = _link(pkgs, chans, raw_bundles)
    _check_deprecations(deprecations, model)
    return model


def _check_unique_versions(pkg: str, per_b: dict[str, _RawBundle], origin: Origin) -> None:
    """``model.Package.validateUniqueBundleVersions``: no two bundles of a package share a version."""
    by_version: dict[str, set[str]] = {}
    for name, b in per_b.items():
        by_version.setdefault(b.version_string or b.version, set()).add(name)
    dupes = [
        f"{{{v}: [{', '.join(sorted(names))}]}}" for v, names in sorted(by_version.items()) if len(names) > 1
    ]
    if dupes:
        raise CatalogFormatError(
            f"{origin}: invalid package {pkg!r}: duplicate versions found in bundles: [{' '.join(dupes)}]"
        )


def _deprecation(obj: FbcObject) -> tuple[str, list[tuple[str, str, str]], Origin]:
    """An ``olm.deprecations`` object: its package and (schema, name, message) per entry."""
    fields = go_fields(obj.data)
    package = _str(obj, fields, "package")
    raw = fields.get("entries") or []
    if not isinstance(raw, list):
        raise CatalogFormatError(f"{obj.path}: object {obj.index}: olm.deprecations 'entries' must be a list")
    entries = []
    for e in raw:
        ef = go_fields(e) if isinstance(e, dict) else {}
        ref = ef.get("reference")
        rf = go_fields(ref) if isinstance(ref, dict) else {}
        schema, name, message = rf.get("schema") or "", rf.get("name") or "", ef.get("message") or ""
        if not all(isinstance(x, str) for x in (schema, name, message)):
            raise CatalogFormatError(f"{obj.path}: object {obj.index}: bad olm.deprecations entry")
        entries.append((schema, name, message))
    return package, entries, Origin(obj.path, obj.index)


def _go_ref(schema: str, name: str) -> str:
    """Go's ``%#v`` of a ``declcfg.PackageScopedReference``."""
    return f"declcfg.PackageScopedReference{{Schema:{json.dumps(schema)}, Name:{json.dumps(name)}}}"


def _check_deprecations(
    deprecations: list[tuple[str, list[tuple[str, str, str]], Origin]], model: Model
) -> None:
    """``declcfg.ConvertToModel``'s deprecation rules, then ``model.Deprecation.Validate`` (a
    deprecation that applies needs a message)."""
    seen: set[str] = set()
    for i, (package, entries, origin) in enumerate(deprecations):
        if not package:
            raise CatalogFormatError(f"{origin}: package name must be set for deprecation item {i}")
        if package not in model.packages:
            raise CatalogFormatError(
                f"{origin}: cannot apply deprecations to an unknown package {json.dumps(package)}"
            )
        if package in seen:
            raise CatalogFormatError(
                f"{origin}: expected a maximum of one deprecation per package: {json.dumps(package)}"
            )
        seen.add(package)
        refs: set[tuple[str, str]] = set()
        for j, (schema, name, message) in enumerate(entries):
            pq = json.dumps(package)
            if not schema:
                raise CatalogFormatError(
                    f"{origin}: schema must be set for deprecation entry [{j}] for package {pq}"
                )
            if (schema, name) in refs:
                raise CatalogFormatError(
                    f"{origin}: duplicate deprecation entry {_go_ref(schema, name)} for package {pq}"
                )
            refs.add((schema, name))
            if schema == SCHEMA_BUNDLE:
                if name not in model.bundles.get(package, {}):
                    raise CatalogFormatError(
                        f"{origin}: cannot deprecate bundle {json.dumps(name)} for package {pq}: bundle not found"
                    )
            elif schema == SCHEMA_CHANNEL:
                if name not in model.channels.get(package, {}):
                    raise CatalogFormatError(
                        f"{origin}: cannot deprecate channel {json.dumps(name)} for package {pq}: channel not found"
                    )
            elif schema == SCHEMA_PACKAGE:
                if name:
                    raise CatalogFormatError(
                        f"{origin}: package name must be empty for deprecated package {pq} (specified {json.dumps(name)})"
                    )
            else:
                raise CatalogFormatError(
                    f"{origin}: cannot deprecate object {_go_ref(schema, name)} referenced by entry {j} "
                    f"for package {pq}: object schema unknown"
                )
            if not message:
                raise CatalogFormatError(
                    f"{origin}: invalid {schema} {json.dumps(name or package)}: invalid deprecation: message must be set"
                )


def _link(
    pkgs: dict[str, tuple[str | None, Origin]],
    chans: dict[str, dict[str, tuple[tuple[ChannelEntry, ...], Origin]]],
    raw_bundles: dict[str, dict[str, _RawBundle]],
) -> Model:
    for pkg, per in chans.items():
        if pkg not in pkgs:
            first = next(iter(per.values()))[1]
            raise CatalogFormatError(f"{first}: channel for unknown package {pkg!r}")
    for pkg, per_b in raw_bundles.items():
        if pkg not in pkgs:
            first_b = next(iter(per_b.values()))
            raise CatalogFormatError(f"{first_b.origin}: bundle {first_b.name!r} of unknown package {pkg!r}")
    model = Model()
    for pkg in sorted(pkgs):
        default, origin = pkgs[pkg]
        per = chans.get(pkg, {})
        per_b = raw_bundles.get(pkg, {})
        # model.Package.Validate / Channel.Validate
        if default is None:
            raise CatalogFormatError(f"{origin}: invalid package {pkg!r}: default channel must be set")
        if not per:
            raise CatalogFormatError(
                f"{origin}: invalid package {pkg!r}: package must contain at least one channel"
            )
        if default not in per:
            raise CatalogFormatError(f"{origin}: package {pkg!r}: default channel {default!r} not found")
        versions = {name: try_version(b.version) for name, b in per_b.items()}
        _check_unique_versions(pkg, per_b, origin)
        member: dict[str, list[str]] = {}
        channels: dict[str, Channel] = {}
        for cname in sorted(per):
            entries, corigin = per[cname]
            if not entries:
                raise CatalogFormatError(
                    f"{corigin}: package {pkg!r}: invalid channel {cname!r}: channel must contain at least one bundle"
                )
            for e in entries:
                if e.name not in per_b:
                    raise CatalogFormatError(
                        f"{corigin}: package {pkg!r}, channel {cname!r}: entry {e.name!r} has no olm.bundle"
                    )
                member.setdefault(e.name, []).append(cname)
            problem = graph.chain_error(entries)  # model.Channel.validateReplacesChain
            if problem is not None:
                raise CatalogFormatError(f"{corigin}: package {pkg!r}: invalid channel {cname!r}: {problem}")
            channels[cname] = Channel(pkg, cname, entries, graph.heads(entries, versions), corigin)
        bundles: dict[str, Bundle] = {}
        for bname in sorted(per_b):
            b = per_b[bname]
            if bname not in member:
                raise CatalogFormatError(f"{b.origin}: package {pkg!r}, bundle {bname!r} is in no channel")
            bundles[bname] = Bundle(
                pkg, bname, b.image, b.version, tuple(sorted(set(member[bname]))), b.related, b.origin
            )
        model.packages[pkg] = Package(pkg, default, tuple(channels), None, origin)
        model.channels[pkg] = channels
        model.bundles[pkg] = bundles
    return model
