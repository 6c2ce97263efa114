from __future__ import annotations

import hashlib
import io
import threading

import pytest

from imgextract.errors import ContentMismatch, IntegrityError
from imgextract.layers.verify import SharedDigest, VerifyingReader

DATA = b"layer bytes " * 1000
DIGEST = "sha256:" + hashlib.sha256(DATA).hexdigest()


def test_reads_everything_and_verifies() -> None:
    r = VerifyingReader(io.BytesIO(DATA), DIGEST, len(DATA))
    assert r.read() == DATA
    assert r.verified


def test_read_n_returns_exactly_n_until_the_end() -> None:
    r = VerifyingReader(io.BytesIO(DATA), DIGEST, len(DATA))
    assert len(r.read(100)) == 100
    r.finish()
    assert r.verified and r.count == len(DATA)


def test_sha512_supported() -> None:
    dg = "sha512:" + hashlib.sha512(DATA).hexdigest()
    VerifyingReader(io.BytesIO(DATA), dg, None).finish()


@pytest.mark.parametrize("digest", ["sha256:" + "0" * 64, "sha512:" + "0" * 128])
def test_digest_mismatch(digest: str) -> None:
    with pytest.raises(IntegrityError, match="digest mismatch"):
        VerifyingReader(io.BytesIO(DATA), digest, None).finish()


def test_size_larger_than_expected_fails_while_reading() -> None:
    r = VerifyingReader(io.BytesIO(DATA), DIGEST, 10)
    with pytest.raises(IntegrityError, match="more than"):
        r.read(100)


def test_size_smaller_than_expected_fails_at_eof() -> None:
    with pytest.raises(IntegrityError, match="expected"):
        VerifyingReader(io.BytesIO(DATA), DIGEST, len(DATA) + 1).finish()


@pytest.mark.parametrize("digest", ["md5:abc", "sha256:XYZ", "sha256:" + "a" * 63, "", "sha256:" + "A" * 64])
def test_malformed_digest(digest: str) -> None:
    with pytest.raises(IntegrityError, match="digest"):
        VerifyingReader(io.BytesIO(DATA), digest, None)


def test_finish_is_idempotent_and_drains() -> None:
    r = VerifyingReader(io.BytesIO(DATA), DIGEST, len(DATA))
    r.read(5)
    r.finish()
    r.finish()
    assert r.read(10) == b""


def test_unhashed_reader_still_checks_the_size() -> None:
    data = b"x" * 1000
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with pytest.raises(ContentMismatch):
        VerifyingReader(io.BytesIO(data + b"y"), digest, 1000, hashed=False).finish()
    with pytest.raises(ContentMismatch):
        VerifyingReader(io.BytesIO(data[:-1]), digest, 1000, hashed=False).finish()
    ok = VerifyingReader(io.BytesIO(data), digest, 1000, hashed=False)
    ok.finish()
    assert ok.verified and ok.count == 1000


def test_shared_digest_hashes_chunks_in_order_whoever_helps() -> None:
    chunks = [bytes([i]) * (3000 + i) for i in range(200)]
    whole = b"".join(chunks)
    digest = SharedDigest("sha256:" + hashlib.sha256(whole).hexdigest())
    done = threading.Event()

    def helper() -> None:
        while not done.is_set():
            digest.help()

    helpers = [threading.Thread(target=helper) for _ in range(2)]
    for t in helpers:
        t.start()
    for c in chunks:
        digest.add(c)
        digest.help()
    done.set()
    for t in helpers:
        t.join()
    digest.finish()  # (what the helpers left)
    assert digest.backlog() == 0


def test_shared_digest_mismatch() -> None:
    digest = SharedDigest(DIGEST)
    digest.add(DATA[:-1])
    assert digest.help() and not digest.help()
    with pytest.raises(ContentMismatch, match="digest mismatch"):
        digest.finish()
