"""GPG signed messages: what expands past the bound is refused before Sequoia buffers it."""

from __future__ import annotations

import bz2
import warnings
import zlib
from typing import Any

import pysequoia
import pytest

from imgextract.signatures.gpg import Keyring
from imgextract.signatures.inflate import MAX_INFLATED_BYTES, TooLarge, check_inflated_size


@pytest.fixture(scope="module")
def signer() -> tuple[Any, Keyring]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        cert = pysequoia.Cert.generate("signer <signer@example.test>")
        keyring = Keyring([bytes(cert)], source="test")
        secrets: Any = cert.secrets
        return secrets.signer(), keyring


def _sign(signer: Any, data: bytes) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return bytes(pysequoia.sign(signer, data, armor=False))


def _compressed(algorithm: int, inner: bytes, *, definite: bool = False) -> bytes:
    """An old-format compressed-data packet around ``inner`` (indeterminate length, or 4-byte)."""
    body = bytes([algorithm]) + (zlib.compress(inner, 9) if algorithm == 2 else bz2.compress(inner, 9))
    if definite:
        return bytes([0xA2]) + len(body).to_bytes(4, "big") + body
    return bytes([0xA3]) + body


def test_a_small_signed_message_verifies(signer: tuple[Any, Keyring]) -> None:
    key, keyring = signer
    payload = b'{"critical": {}, "optional": {}}'
    for blob in (_sign(key, payload), _compressed(2, _sign(key, payload))):
        result = keyring.verify(blob)
        assert result.payload == payload and result.reason is None


def test_a_signed_compression_bomb_is_refused_unread(signer: tuple[Any, Keyring]) -> None:
    """A correctly signed 64 MiB payload, compressed to ~64 KiB: Sequoia would verify it and hand
    the whole payload over; the bound refuses it first."""
    key, keyring = signer
    bomb = _compressed(2, _sign(key, b"\x00" * (64 << 20)))
    assert len(bomb) < 1 << 20
    result = keyring.verify(bomb)
    assert result.payload is None
    assert "expands to more than" in (result.reason or ""), result.reason


@pytest.mark.parametrize("algorithm", [2, 3])
def test_nested_compression_counts_towards_the_bound(algorithm: int) -> None:
    literal = b"\xaf\x62\x00\x00\x00\x00\x00" + b"\x00" * (MAX_INFLATED_BYTES // 2)
    inner = _compressed(algorithm, literal, definite=True)
    check_inflated_size(inner)  # half the bound: fine
    with pytest.raises(TooLarge):
        check_inflated_size(_compressed(algorithm, inner + inner + inner))


def test_compression_nested_too_deep_is_refused() -> None:
    blob = b"\xaf\x62\x00\x00\x00\x00\x00x"
    for _ in range(12):
        blob = _compressed(2, blob)
    with pytest.raises(TooLarge, match="nested"):
        check_inflated_size(blob)
