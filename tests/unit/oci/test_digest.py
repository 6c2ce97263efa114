"""One digest type, one set of rules, whoever parses: descriptors, the verifying reader, the cache."""

from __future__ import annotations

import hashlib
import io

import pytest

from imgextract import oci
from imgextract.cache.layout import split_digest
from imgextract.errors import IntegrityError
from imgextract.layers.verify import VerifyingReader
from imgextract.oci.digest import Digest, is_digest

DATA = b"hello, digest\n"
GOOD = {alg: f"{alg}:{hashlib.new(alg, DATA).hexdigest()}" for alg in ("sha256", "sha384", "sha512")}
BAD = [
    "sha256:" + "A" * 64,  # upper-case hex
    "sha256:" + "a" * 63,  # short
    "sha384:" + "a" * 64,  # sha256's length under another name
    "md5:" + "a" * 32,
    "sha256:../../etc/passwd",
    "sha256",
    "",
    "sha256:" + "a" * 64 + "\n",
]


@pytest.mark.parametrize("digest", GOOD.values())
def test_every_supported_algorithm_is_accepted_everywhere(digest: str) -> None:
    d = Digest.parse(digest)
    assert (d.algorithm, d.hex) == tuple(digest.split(":"))
    assert str(d) == digest and is_digest(digest)
    assert str(Digest.of(DATA, d.algorithm)) == digest
    assert split_digest(digest) == (d.algorithm, d.hex)
    reader = VerifyingReader(io.BytesIO(DATA), digest, len(DATA))
    assert reader.read() == DATA and reader.verified
    desc = oci.Descriptor.from_json({"mediaType": oci.OCI_LAYER, "digest": digest, "size": len(DATA)})
    assert desc.digest == digest and type(desc.digest) is str


@pytest.mark.parametrize("digest", BAD)
def test_malformed_digests_are_refused_everywhere(digest: str) -> None:
    assert not is_digest(digest)
    with pytest.raises(IntegrityError):
        Digest.parse(digest)
    with pytest.raises(IntegrityError):
        split_digest(digest)
    with pytest.raises(IntegrityError):
        VerifyingReader(io.BytesIO(DATA), digest, None)
    with pytest.raises(IntegrityError, match="malformed descriptor"):
        oci.Descriptor.from_json({"mediaType": oci.OCI_LAYER, "digest": digest, "size": 1})


def test_mismatch_names_both_digests() -> None:
    other = "sha384:" + hashlib.sha384(b"other").hexdigest()
    with pytest.raises(IntegrityError, match="digest mismatch"):
        VerifyingReader(io.BytesIO(DATA), other, None).finish()
