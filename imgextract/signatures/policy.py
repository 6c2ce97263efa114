"""containers-policy.json(5): strict parsing for the ``docker`` transport, into the requirements
and scopes of :mod:`.requirements` (which also decides which scope applies to an image).

Parsing is as strict as containers/image's: an unknown or duplicated field, a value of the wrong
JSON type, an unknown requirement or identity type, or a missing mandatory field makes the whole
file invalid (:class:`PolicyError`, exit 2).  A typo can therefore never weaken the policy.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from imgextract.errors import InvalidReference, option
from imgextract.oci import jsontext
from imgextract.oci.jsontext import go_base64
from imgextract.reference import validate_digest
from imgextract.signatures.errors import PolicyError
from imgextract.signatures.identity import (
    ExactReference,
    ExactRepository,
    IdentityMatch,
    MatchExact,
    MatchRepoDigestOrExact,
    MatchRepository,
    RemapIdentity,
    parse_claim,
    valid_remap_prefix,
)
from imgextract.signatures.requirements import (
    MAX_KEY_BYTES,
    InsecureAcceptAnything,
    KeySource,
    Policy,
    Reject,
    Requirement,
    Scope,
    SignedBaseLayer,
    SignedBy,
    SigstoreSigned,
    scope_candidates,
)

# the model's names stay importable from here, where they were defined first
__all__ = [
    "GPG_KEY_TYPES",
    "MAX_POLICY_BYTES",
    "SYSTEM_POLICY",
    "InsecureAcceptAnything",
    "KeySource",
    "Policy",
    "Reject",
    "Requirement",
    "Scope",
    "SignedBaseLayer",
    "SignedBy",
    "SigstoreSigned",
    "default_policy_path",
    "load_policy",
    "parse_policy",
    "scope_candidates",
]

MAX_POLICY_BYTES = MAX_KEY_BYTES  # one bound for a policy file and a key file
SYSTEM_POLICY = Path("/etc/containers/policy.json")
GPG_KEY_TYPES = ("GPGKeys", "signedByGPGKeys", "X509Certificates", "signedByX509CAs")


# --------------------------------------------------------------------------------- loading


def default_policy_path(env: Mapping[str, str]) -> Path:
    """``$HOME/.config/containers/policy.json`` if it exists, else ``/etc/containers/policy.json``."""
    home = env.get("HOME") or str(Path.home())
    user = Path(home) / ".config" / "containers" / "policy.json"
    if user.exists():
        return user
    if SYSTEM_POLICY.exists():
        return SYSTEM_POLICY
    raise PolicyError(f"no policy.json found at {user} or {SYSTEM_POLICY} ({option('policy')} default)")


def load_policy(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Policy:
    """Read and parse a policy file; ``"default"`` uses the containers search order."""
    p = default_policy_path(env if env is not None else os.environ) if str(path) == "default" else Path(path)
    try:
        with open(p, "rb") as f:
            data = f.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise PolicyError(f"cannot read policy {p}: {exc.strerror or exc}") from None
    if len(data) > MAX_POLICY_BYTES:
        raise PolicyError(f"policy {p} is larger than {MAX_POLICY_BYTES} bytes")
    return parse_policy(data, source=str(p))


def parse_policy(data: bytes | str, *, source: str = "<policy>") -> Policy:
    try:
        doc = jsontext.loads(data, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except _Invalid as exc:
        raise PolicyError(f"invalid policy {source}: {exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise PolicyError(f"invalid policy {source}: not valid JSON ({_short(exc)})") from None
    try:
        return _policy(doc, source)
    except _Invalid as exc:
        raise PolicyError(f"invalid policy {source}: {exc}") from None


class _Invalid(Exception):
    pass


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _Invalid(f"duplicate field {k!r}")
        out[k] = v
    return out


def _no_constant(name: str) -> Any:
    raise _Invalid(f"{name} is not JSON")


def _object(
    value: Any, where: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Invalid(f"{where} must be a JSON object")
    for k in value:
        if k not in allowed:
            raise _Invalid(f"unknown field {k!r} in {where}")
    for k in required:
        if k not in value:
            raise _Invalid(f"{where} has no {k!r}")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"{where} must be a string")
    return value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Invalid(f"{where} must be a list of strings")
    return tuple(value)


def _bytes(value: Any, where: str) -> bytes:
    """A JSON []byte: standard base64 (line breaks tolerated, as Go's decoder does)."""
    try:
        return go_base64(_string(value, where))
    except ValueError:
        raise _Invalid(f"{where} is not valid base64") from None


def _policy(doc: Any, source: str) -> Policy:
    obj = _object(doc, "the policy", ("default", "transports"))
    if "default" not in obj:
        raise _Invalid("default policy is missing")
    default = _requirements(obj["default"], "default")
    docker: dict[str, tuple[Requirement, ...]] = {}
    transports = obj.get("transports", {})
    if not isinstance(transports, dict):
        raise _Invalid("transports must be a JSON object")
    for transport, scopes in transports.items():
        if not isinstance(scopes, dict):
            raise _Invalid(f"transports.{transport} must be a JSON object")
        for scope, reqs in scopes.items():
            if scope:
                _check_scope(transport, scope)
            parsed = _requirements(reqs, f'transports.{transport}["{scope}"]')
            if transport == "docker":
                docker[scope] = parsed
    return Policy(default=default, docker=docker, source=source)


_PATH_TRANSPORTS = ("dir", "oci", "oci-archive", "sif")
_DEFAULT_ONLY_TRANSPORTS = ("docker-archive", "tarball")


def _check_scope(transport: str, scope: str) -> None:
    """Scopes of the transports containers/image validates (the policy is invalid otherwise, so
    skopeo refuses every image); ``docker`` scopes, ``docker-daemon`` and unknown transports are
    not checked there either."""
    where = f"transports.{transport}: invalid scope {scope!r}"
    if transport in _PATH_TRANSPORTS:
        if not scope.startswith("/") or scope == "/":
            raise _Invalid(f'{where}: must be an absolute path other than / (use the default scope "")')
        if _clean_path(scope) != scope:
            raise _Invalid(f"{where}: not a canonical path (try {_clean_path(scope)!r})")
    elif transport in _DEFAULT_ONLY_TRANSPORTS:
        raise _Invalid(f'{where}: {transport} supports no scope except the default "" one')
    elif transport == "docker-daemon" and _digest(scope):
        raise _Invalid(f"{where}: an algo:digest value (an image ID) cannot be a namespace")
    elif transport == "containers-storage" and not _storage_scope(scope):
        raise _Invalid(f"{where}: expected [driver@/graph/root]name[:tag][@digest] or [/graph/root]...")


def _clean_path(path: str) -> str:
    """Go's ``filepath.Clean`` (POSIX): ``normpath``, but a leading ``//`` is one ``/`` too."""
    cleaned = posixpath.normpath(path)
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


def _storage_scope(scope: str) -> bool:
    if not scope.startswith("["):
        return False
    close = scope.find("]")
    if close < 1:
        return False
    store, rest = scope[1:close], scope[close + 1 :]
    parts = store.split("@", 1)
    root = parts[0] if len(parts) == 1 else parts[1]
    if not all(parts) or not root.startswith("/"):
        return False
    if not rest:
        return True
    fields = rest.split("@", 2)
    if len(fields) == 2:
        return _image_id(fields[1]) or _digest(fields[1])
    if len(fields) == 3:
        return _digest(fields[1]) and _image_id(fields[2])
    return True


def _image_id(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _digest(value: str) -> bool:
    try:
        validate_digest(value)
    except InvalidReference:
        return False
    return True


def _requirements(value: Any, where: str) -> tuple[Requirement, ...]:
    if not isinstance(value, list):
        raise _Invalid(f"{where} must be a list of requirements")
    if not value:
        raise _Invalid(f"{where}: list of requirements must not be empty")
    return tuple(_requirement(r, f"{where}[{i}]") for i, r in enumerate(value))


_REQUIREMENTS: dict[str, Callable[[dict[str, Any], str], Requirement]] = {}


def _requirement(value: Any, where: str) -> Requirement:
    if not isinstance(value, dict):
        raise _Invalid(f"{where} must be a JSON object")
    kind = value.get("type")
    if not isinstance(kind, str):
        raise _Invalid(f"{where} has no string 'type'")
    parse = _REQUIREMENTS.get(kind)
    if parse is None:
        raise _Invalid(f"{where}: unknown policy requirement type {kind!r}")
    return parse(value, f"{where} ({kind})")


def _accept_anything(value: dict[str, Any], where: str) -> Requirement:
    _object(value, where, ("type",))
    return InsecureAcceptAnything()


def _reject(value: dict[str, Any], where: str) -> Requirement:
    _object(value, where, ("type",))
    return Reject()


def _keys(
    value: dict[str, Any], where: str, fields: tuple[str, ...], *, empty_paths: bool
) -> KeySource | None:
    """The one key source of ``fields`` present in ``value``, or None.  ``keyPaths`` may be an
    empty list only with ``empty_paths`` (signedBy's ``newPRSignedBy`` takes any list,
    ``PRSigstoreSignedWithKeyPaths`` refuses an empty one); its entries are not checked here, as
    upstream reads them only when the scope is evaluated (``loadBytesFromConfigSources``)."""
    present = [f for f in fields if f in value]
    if len(present) > 1:
        raise _Invalid(
            f"{where}: exactly one of {', '.join(fields)} must be specified, found {', '.join(present)}"
        )
    if not present:
        return None
    f = present[0]
    if f == "keyPath":
        path = _string(value[f], f"{where}.keyPath")
        if not path:
            raise _Invalid(f"{where}: keyPath is empty")
        return KeySource(f, paths=(path,))
    if f == "keyPaths":
        paths = _strings(value[f], f"{where}.keyPaths")
        if not paths and not empty_paths:
            raise _Invalid(f"{where}: keyPaths contains no entries")
        return KeySource(f, paths=paths)
    if f == "keyData":
        return KeySource(f, data=(_bytes(value[f], f"{where}.keyData"),))
    datas = value[f]
    if not isinstance(datas, list) or not datas:
        raise _Invalid(f"{where}: keyDatas must be a non-empty list")
    return KeySource(f, data=tuple(_bytes(d, f"{where}.keyDatas[{i}]") for i, d in enumerate(datas)))


def _signed_by(value: dict[str, Any], where: str) -> Requirement:
    _object(
        value, where, ("type", "keyType", "keyPath", "keyPaths", "keyData", "signedIdentity"), ("keyType",)
    )
    key_type = _string(value["keyType"], f"{where}.keyType")
    if key_type not in GPG_KEY_TYPES:
        raise _Invalid(f"{where}: unrecognized keyType value {key_type!r}")
    keys = _keys(value, where, ("keyPath", "keyPaths", "keyData"), empty_paths=True)
    if keys is None:
        raise _Invalid(
            f"{where}: exactly one of keyPath, keyPaths and keyData must be specified, none present"
        )
    return SignedBy(key_type, keys, _identity(value, where))


_SIGSTORE_UNSUPPORTED = (
    "fulcio",
    "pki",
    "rekorPublicKeyPath",
    "rekorPublicKeyPaths",
    "rekorPublicKeyData",
    "rekorPublicKeyDatas",
)


def _opt_string(value: dict[str, Any], key: str, where: str) -> str:
    """A Go ``string`` field: absent or null is ""."""
    v = value.get(key)
    return "" if v is None else _string(v, f"{where}.{key}")


def _opt_bytes(value: dict[str, Any], key: str, where: str) -> bytes | None:
    """A Go ``[]byte`` field: absent or null is nil (None), "" is an empty, non-nil value."""
    v = value.get(key)
    return None if v is None else _bytes(v, f"{where}.{key}")


def _fulcio(value: Any, where: str) -> None:
    """``prSigstoreSignedFulcio``: parsed and checked as containers/image does (never used here)."""
    obj = _object(value, where, ("caPath", "caData", "oidcIssuer", "subjectEmail"))
    ca_path, ca_data = _opt_string(obj, "caPath", where), _opt_bytes(obj, "caData", where)
    if ca_path and ca_data is not None:
        raise _Invalid(f"{where}: caPath and caData cannot be used simultaneously")
    if not ca_path and ca_data is None:
        raise _Invalid(f"{where}: at least one of caPath and caData must be specified")
    if not _opt_string(obj, "oidcIssuer", where):
        raise _Invalid(f"{where}: oidcIssuer not specified")
    if not _opt_string(obj, "subjectEmail", where):
        raise _Invalid(f"{where}: subjectEmail not specified")


def _pki(value: Any, where: str) -> None:
    """``prSigstoreSignedPKI``: parsed and checked as containers/image does (never used here)."""
    fields = ("caRootsPath", "caRootsData", "caIntermediatesPath", "caIntermediatesData")
    obj = _object(value, where, (*fields, "subjectEmail", "subjectHostname"))
    roots_path, roots_data = _opt_string(obj, "caRootsPath", where), _opt_bytes(obj, "caRootsData", where)
    if roots_path and roots_data is not None:
        raise _Invalid(f"{where}: caRootsPath and caRootsData cannot be used simultaneously")
    if not roots_path and roots_data is None:
        raise _Invalid(f"{where}: at least one of caRootsPath and caRootsData must be specified")
    if (
        _opt_string(obj, "caIntermediatesPath", where)
        and _opt_bytes(obj, "caIntermediatesData", where) is not None
    ):
        raise _Invalid(f"{where}: caIntermediatesPath and caIntermediatesData cannot be used simultaneously")
    email, host = _opt_string(obj, "subjectEmail", where), _opt_string(obj, "subjectHostname", where)
    if not email and not host:
        raise _Invalid(f"{where}: at least one of subjectEmail, subjectHostname must be specified")


def _rekor(value: dict[str, Any], where: str) -> list[str]:
    """The rekor public key fields that count as a source (typed and checked as containers/image)."""
    out = []
    if _opt_string(value, "rekorPublicKeyPath", where):
        out.append("rekorPublicKeyPath")
    if value.get("rekorPublicKeyData") is not None:
        _opt_bytes(value, "rekorPublicKeyData", where)
        out.append("rekorPublicKeyData")
    for key in ("rekorPublicKeyPaths", "rekorPublicKeyDatas"):
        if key not in value:
            continue
        items = value[key]
        if items is None:  # the option gets a nil list and refuses it as empty
            raise _Invalid(f"{where}: {key} contains no entries")
        if key.endswith("Paths"):
            _strings(items, f"{where}.{key}")
        elif not isinstance(items, list):
            raise _Invalid(f"{where}.{key} must be a list of base64 strings")
        else:
            for i, d in enumerate(items):
                _bytes(d, f"{where}.{key}[{i}]")
        if not items:
            raise _Invalid(f"{where}: {key} contains no entries")
        out.append(key)
    return out


def _sigstore_key_sources(value: dict[str, Any], where: str) -> dict[str, Any]:
    """The key fields of a ``sigstoreSigned`` that count as sources: containers/image hands every
    present field to its option, then ``newPRSigstoreSigned`` counts ``keyPath`` only when not
    empty and ``keyData`` only when not null; a ``keyPaths``/``keyDatas`` option refuses an empty
    or null list, so those always count."""
    counted: dict[str, Any] = {}
    if _opt_string(value, "keyPath", where):
        counted["keyPath"] = value["keyPath"]
    if value.get("keyData") is not None:
        counted["keyData"] = value["keyData"]
    for key in ("keyPaths", "keyDatas"):
        if key in value:
            if value[key] is None or value[key] == []:
                raise _Invalid(f"{where}: {key} contains no entries")
            counted[key] = value[key]
    return counted


def _sigstore_signed(value: dict[str, Any], where: str) -> Requirement:
    key_fields = ("keyPath", "keyPaths", "keyData", "keyDatas")
    _object(value, where, ("type", *key_fields, *_SIGSTORE_UNSUPPORTED, "signedIdentity"))
    roots = []
    if "fulcio" in value:
        _fulcio(value["fulcio"], f"{where}.fulcio")
        roots.append("fulcio")
    if "pki" in value:
        _pki(value["pki"], f"{where}.pki")
        roots.append("pki")
    rekor = _rekor(value, where)
    keys = _keys(_sigstore_key_sources(value, where), where, key_fields, empty_paths=False)
    if (keys is not None) + len(roots) != 1:
        raise _Invalid(
            f"{where}: exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio and pki must be specified"
        )
    if len(rekor) > 1:
        raise _Invalid(f"{where}: at most one of {', '.join(rekor)} can be used")
    if "fulcio" in roots and not rekor:
        raise _Invalid(f"{where}: fulcio needs a rekorPublicKey* field")
    if "pki" in roots and rekor:
        raise _Invalid(f"{where}: rekorPublicKey* fields are not supported with pki")
    unsupported = None
    if roots or rekor:
        unsupported = ", ".join(roots + rekor)
    return SigstoreSigned(keys, _identity(value, where), unsupported)


def _signed_base_layer(value: dict[str, Any], where: str) -> Requirement:
    _object(value, where, ("type", "baseLayerIdentity"), ("baseLayerIdentity",))
    return SignedBaseLayer(_match(value["baseLayerIdentity"], f"{where}.baseLayerIdentity"))


def _identity(value: dict[str, Any], where: str) -> IdentityMatch:
    if "signedIdentity" not in value:
        return MatchRepoDigestOrExact()
    return _match(value["signedIdentity"], f"{where}.signedIdentity")


def _match(si: Any, w: str) -> IdentityMatch:
    if not isinstance(si, dict) or not isinstance(si.get("type"), str):
        raise _Invalid(f"{w} must be an object with a string 'type'")
    kind = si["type"]
    if kind == "matchExact":
        _object(si, w, ("type",))
        return MatchExact()
    if kind == "matchRepoDigestOrExact":
        _object(si, w, ("type",))
        return MatchRepoDigestOrExact()
    if kind == "matchRepository":
        _object(si, w, ("type",))
        return MatchRepository()
    if kind == "exactReference":
        _object(si, w, ("type", "dockerReference"), ("dockerReference",))
        ref = _string(si["dockerReference"], f"{w}.dockerReference")
        parsed = parse_claim(ref)
        if parsed is None:
            raise _Invalid(f"{w}: invalid dockerReference {ref!r}")
        if parsed.tag is None and parsed.digest is None:
            raise _Invalid(f"{w}: dockerReference {ref!r} contains neither a tag nor a digest")
        return ExactReference(ref)
    if kind == "exactRepository":
        _object(si, w, ("type", "dockerRepository"), ("dockerRepository",))
        repo = _string(si["dockerRepository"], f"{w}.dockerRepository")
        if parse_claim(repo) is None:
            raise _Invalid(f"{w}: invalid dockerRepository {repo!r}")
        return ExactRepository(repo)
    if kind == "remapIdentity":
        _object(si, w, ("type", "prefix", "signedPrefix"), ("prefix", "signedPrefix"))
        prefix = _string(si["prefix"], f"{w}.prefix")
        signed = _string(si["signedPrefix"], f"{w}.signedPrefix")
        for v in (prefix, signed):
            if not valid_remap_prefix(v):
                raise _Invalid(f"{w}: prefix {v!r} is not valid")
        return RemapIdentity(prefix, signed)
    raise _Invalid(f"{w}: unknown policy reference match type {kind!r}")


_REQUIREMENTS.update(
    {
        "insecureAcceptAnything": _accept_anything,
        "reject": _reject,
        "signedBy": _signed_by,
        "sigstoreSigned": _sigstore_signed,
        "signedBaseLayer": _signed_base_layer,
    }
)
