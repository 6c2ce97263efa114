"""Reading signatures: GPG signatures from a lookaside store, cosign signatures from ``.sig`` tags.

Both are read from where the image was pulled (a mirror included), through what the caller hands
over: a :class:`~imgextract.registry.lookaside.LookasideReader` and the source's registry client.
This module classifies the stored blobs; it does no I/O of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from imgextract import oci
from imgextract.errors import IntegrityError, LimitExceeded, NotFoundError
from imgextract.registry.client import RegistryClient
from imgextract.registry.lookaside import MAX_LOOKASIDE_SIGNATURES, LookasideReader, lookaside_url

__all__ = [
    "LookasideReader",
    "RawSignature",
    "classify",
    "lookaside_url",
    "read_lookaside",
    "read_sigstore_attachments",
]

MAX_SIGNATURE_BYTES = 4 * 1024 * 1024
MAX_ATTACHMENTS = MAX_LOOKASIDE_SIGNATURES  # as many as a lookaside store may hold
SIMPLESIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"


@dataclass(frozen=True)
class RawSignature:
    """A signature as stored, before any verification. ``source`` says where it was read."""

    format: str  # "gpg" | "sigstore"
    source: str
    blob: bytes  # gpg: the OpenPGP message; sigstore: the payload
    media_type: str = ""
    annotations: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None  # the stored blob could not be understood


def read_lookaside(reader: LookasideReader, base: str, digest: str) -> list[RawSignature]:
    """The signatures of ``digest`` in the lookaside store at ``base``, classified by format."""
    return [classify(blob, url) for url, blob in reader.read(base, digest)]


_OPENPGP_FIRST = {0xA0, 0xA1, 0xA2, 0xA3, 0xC8, 0x90, 0x91, 0x92, 0x3D, 0xC4, 0x88, 0x89, 0x8A, 0x8B, 0xC2}


def classify(blob: bytes, source: str) -> RawSignature:
    """A stored signature blob: a bare OpenPGP message (the classic format), or ``\\0<format>\\n<data>``."""
    if not blob:
        return RawSignature("gpg", source, blob, error="empty signature blob")
    if blob[0] in _OPENPGP_FIRST:
        return RawSignature("gpg", source, blob)
    if blob[0] == 0:
        name, sep, rest = blob[1:].partition(b"\n")
        if sep and name == b"simple-signing":
            return RawSignature("gpg", source, rest)
        if sep and name == b"sigstore-json":
            return _sigstore_json(rest, source)
        return RawSignature("gpg", source, blob, error=f"unrecognized signature format {name[:32]!r}")
    return RawSignature(
        "gpg", source, blob, error=f"unrecognized signature format, starting with {blob[0]:#x}"
    )


def _sigstore_json(data: bytes, source: str) -> RawSignature:
    """``\0sigstore-json\n`` + ``sigstoreJSONRepresentation``, read as Go's ``encoding/json`` does:
    fields in any case (a later key wins), ``payload`` as a ``[]byte`` (base64, CR/LF skipped),
    ``annotations`` a map of strings; an absent field is empty."""

    from imgextract.auth.credentials import go_field
    from imgextract.oci import jsontext

    try:
        doc = jsontext.loads(data)
        if not isinstance(doc, dict):
            raise TypeError("not an object")
        mime = go_field(doc, "mimeType") or ""
        b64 = go_field(doc, "payload") or ""
        raw_annotations = go_field(doc, "annotations") or {}
        if not isinstance(mime, str) or not isinstance(b64, str) or not isinstance(raw_annotations, dict):
            raise TypeError("wrong field type")
        annotations = {}
        for k, v in raw_annotations.items():
            if not isinstance(v, str) and v is not None:
                raise TypeError("annotation is not a string")
            annotations[k] = v or ""
        payload = jsontext.go_base64(b64)  # a []byte field
        return RawSignature("sigstore", source, payload, mime, annotations)
    except (ValueError, TypeError):
        return RawSignature("sigstore", source, data, error="malformed sigstore-json signature")


def attachment_tag(digest: str) -> str:
    return digest.replace(":", "-", 1) + ".sig"


def read_sigstore_attachments(client: RegistryClient, repository: str, digest: str) -> list[RawSignature]:
    """Cosign signatures of ``digest``: the layers of the OCI manifest tagged ``sha256-<hex>.sig``."""
    tag = attachment_tag(digest)
    where = f"{client.registry}/{repository}:{tag}"
    try:
        resp = client.get_manifest(repository, tag, accept=(oci.OCI_MANIFEST,))
    except NotFoundError:
        return []
    if resp.media_type != oci.OCI_MANIFEST:
        raise IntegrityError(
            f"unexpected media type {resp.media_type} for sigstore attachment manifest {where}"
        )
    manifest = oci.parse_manifest(resp.raw, resp.media_type)
    if len(manifest.layers) > MAX_ATTACHMENTS:
        raise LimitExceeded(
            f"sigstore attachment manifest {where} lists {len(manifest.layers)} layers, "
            f"more than {MAX_ATTACHMENTS}"
        )
    out = []
    # Every attachment is read (attestations too), each within the signature size limit, as
    # containers/image does before any is judged; the policy then looks only at signatures.
    for i, layer in enumerate(manifest.layers):
        if layer.size > MAX_SIGNATURE_BYTES:
            raise LimitExceeded(f"sigstore attachment layer {i} of {where} is {layer.size} bytes")
        payload = client.read_blob(repository, layer.digest, limit=MAX_SIGNATURE_BYTES)
        out.append(
            RawSignature("sigstore", f"{where} layer {i}", payload, layer.media_type, dict(layer.annotations))
        )
    return out
