"""A containers-policy.json(5) once parsed: its requirements, its scopes, and which scope applies.

Scope precedence for an image reference (the logical one the user asked for), most specific first:
``host/repo:tag`` (or ``@digest``), ``host/repo``, each parent namespace, ``host[:port]``, the
``*.domain`` wildcards of the host (port dropped), the transport's ``""`` scope, then ``default``.
(:mod:`.policy` parses the file into these.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from imgextract.reference import Reference
from imgextract.signatures.errors import PolicyError
from imgextract.signatures.identity import IdentityMatch

MAX_KEY_BYTES = 4 * 1024 * 1024  # one key file (the same bound as a policy file)


@dataclass(frozen=True)
class InsecureAcceptAnything:
    def describe(self) -> str:
        return "insecureAcceptAnything"


@dataclass(frozen=True)
class Reject:
    def describe(self) -> str:
        return "reject"


@dataclass(frozen=True)
class KeySource:
    """Where trusted keys come from: files (keyPath/keyPaths) or inline data (keyData/keyDatas)."""

    field: str
    paths: tuple[str, ...] = ()
    data: tuple[bytes, ...] = ()

    @property
    def from_files(self) -> bool:
        return self.field in ("keyPath", "keyPaths")

    def describe(self) -> str:
        if self.from_files:
            return f"{self.field} {', '.join(self.paths) or '(none)'}"
        return f"{self.field} ({len(self.data)} inline)"

    def load(self) -> list[bytes]:
        """The key material: each file read whole; an unreadable file is a configuration error."""
        if not self.from_files:
            return list(self.data)
        out = []
        for p in self.paths:
            try:
                with open(p, "rb") as f:
                    out.append(f.read(MAX_KEY_BYTES + 1))
            except OSError as exc:
                raise PolicyError(f"cannot read key file {p}: {exc.strerror or exc}") from None
            if len(out[-1]) > MAX_KEY_BYTES:
                raise PolicyError(f"key file {p} is larger than {MAX_KEY_BYTES} bytes")
        return out


@dataclass(frozen=True)
class SignedBy:
    key_type: str
    keys: KeySource
    signed_identity: IdentityMatch

    def describe(self) -> str:
        return f"signedBy ({self.key_type}, {self.keys.describe()}, {self.signed_identity.describe()})"


@dataclass(frozen=True)
class SigstoreSigned:
    keys: KeySource | None
    signed_identity: IdentityMatch
    unsupported: str | None = None  # fulcio / rekor / pki: parsed and validated, not implemented

    def describe(self) -> str:
        keys = self.keys.describe() if self.keys else (self.unsupported or "?")
        return f"sigstoreSigned ({keys}, {self.signed_identity.describe()})"


@dataclass(frozen=True)
class SignedBaseLayer:
    """Valid in policy.json, implemented by nobody (containers/image refuses it at evaluation)."""

    base_layer_identity: IdentityMatch

    def describe(self) -> str:
        return "signedBaseLayer"


Requirement = InsecureAcceptAnything | Reject | SignedBy | SigstoreSigned | SignedBaseLayer


@dataclass(frozen=True)
class Scope:
    """The scope that applies to an image, and its requirements (all must hold)."""

    label: str
    requirements: tuple[Requirement, ...]


@dataclass(frozen=True)
class Policy:
    default: tuple[Requirement, ...]
    docker: Mapping[str, tuple[Requirement, ...]] = field(default_factory=dict)
    source: str = "<policy>"

    def scope_for(self, ref: Reference) -> Scope:
        """The most specific scope matching ``ref`` (a logical reference with a tag or a digest)."""
        for candidate in scope_candidates(ref):
            if candidate in self.docker:
                return Scope(f'docker scope "{candidate}"', self.docker[candidate])
        if "" in self.docker:
            return Scope('docker scope ""', self.docker[""])
        return Scope("default", self.default)


def scope_candidates(ref: Reference) -> list[str]:
    """Policy identity then namespaces, as containers/image's docker transport lists them."""
    identity = ref.name + (f"@{ref.digest}" if ref.digest else f":{ref.tag or 'latest'}")
    out = [identity]
    name = ref.name
    while True:
        out.append(name)
        if "/" not in name:
            break
        name = name.rsplit("/", 1)[0]
    host = name.split(":", 1)[0]
    while "." in host:
        host = host.split(".", 1)[1]
        out.append("*." + host)
    return out
