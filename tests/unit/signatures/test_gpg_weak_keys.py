"""Keys that Sequoia's standard policy refuses: the refusal names the key and the policy's reason.

containers/image verifies GPG signatures with GPGME by default (``gpgmeSigningMechanism.Verify``
in signature/mechanism_gpgme.go), and with Sequoia when built with ``containers_image_sequoia``
(``sequoiaSigningMechanism.Verify`` in signature/mechanism_sequoia.go).  GnuPG still accepts an
RSA key under 2048 bits, or a key whose self-signatures use SHA-1; Sequoia's standard policy, which
bundle-extract uses, refuses both, as containers/image's Sequoia backend does.  Such a key can
verify nothing, so the refusal must say so instead of "no valid signatures found".

The keys are made here with ``gpg`` (a test oracle only), since Sequoia will not create them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from regfix import signing

from imgextract.signatures.gpg import Keyring

PAYLOAD = b'{"critical": {}, "optional": {}}'


def _key(home: Path, name: str, algo: str, *extra: str, usage: str = "sign") -> str:
    signing._gpg(
        home, *extra, "--passphrase", "", "--quick-gen-key", f"{name} <{name}@weak.test>", algo, usage, "0"
    )
    listing = signing._gpg(home, "--with-colons", "--list-keys", f"{name}@weak.test")
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


def _sign(home: Path, tmp: Path, fpr: str, name: str) -> bytes:
    (tmp / name).write_bytes(PAYLOAD)
    out = tmp / f"{name}.sig"
    # not compressed, so that a test can alter the signed bytes in place
    signing._gpg(
        home, "--passphrase", "", "-z", "0", "-u", fpr, "--output", str(out), "--sign", str(tmp / name)
    )
    return out.read_bytes()


@pytest.fixture(scope="module")
def weak(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, bytes, bytes]]:
    tmp = tmp_path_factory.mktemp("weak-keys")
    home = tmp / "gnupg"
    home.mkdir(mode=0o700)
    keys = {
        "rsa1024": _key(home, "small", "rsa1024"),
        "sha1": _key(home, "sha1", "rsa2048", "--cert-digest-algo", "SHA1"),
        "good": _key(home, "good", "ed25519"),
    }
    # a sound certification-only primary key whose signing subkey is RSA-1024
    keys["weak-subkey"] = _key(home, "subkey", "ed25519", usage="cert")
    signing._gpg(home, "--passphrase", "", "--quick-add-key", keys["weak-subkey"], "rsa1024", "sign", "0")
    keys["good-subkey"] = _key(home, "goodsub", "ed25519", usage="cert")
    signing._gpg(home, "--passphrase", "", "--quick-add-key", keys["good-subkey"], "ed25519", "sign", "0")
    return {
        name: (fpr, signing._gpg(home, "--armor", "--export", fpr).encode(), _sign(home, tmp, fpr, name))
        for name, fpr in keys.items()
    }


def test_a_modern_key_made_by_gpg_verifies(weak: dict[str, tuple[str, bytes, bytes]]) -> None:
    fpr, pub, sig = weak["good"]
    result = Keyring([pub], source="good.asc").verify(sig)
    assert result.payload == PAYLOAD and result.key_id == fpr and result.reason is None


@pytest.mark.parametrize(("name", "why"), [("rsa1024", "RSA1024"), ("sha1", "SHA1")])
def test_a_key_the_standard_policy_refuses_is_named_with_the_reason(
    weak: dict[str, tuple[str, bytes, bytes]], name: str, why: str
) -> None:
    fpr, pub, sig = weak[name]
    result = Keyring([pub], source=f"{name}.asc").verify(sig)
    assert result.payload is None and result.key_id is not None and fpr.endswith(result.key_id)
    reason = result.reason or ""
    assert f"key {fpr}" in reason and "Sequoia's standard policy" in reason and why in reason, reason


def test_the_weak_key_is_named_even_next_to_a_good_one(weak: dict[str, tuple[str, bytes, bytes]]) -> None:
    fpr, pub, sig = weak["sha1"]
    result = Keyring([weak["good"][1], pub], source="both.asc").verify(sig)
    assert (
        result.payload is None and f"key {fpr}" in (result.reason or "") and "SHA1" in (result.reason or "")
    )


def test_a_trusted_key_whose_signing_subkey_the_policy_refuses_is_named(
    weak: dict[str, tuple[str, bytes, bytes]],
) -> None:
    """The signature names the subkey; the key is trusted, so "not accepted" would send the user
    after the wrong problem: the refusal names the trusted key and says its subkey is refused."""
    fpr, pub, sig = weak["weak-subkey"]
    result = Keyring([pub], source="subkey.asc").verify(sig)
    reason = result.reason or ""
    assert result.payload is None and "is not accepted" not in reason, reason
    assert f"of key {fpr}" in reason and "subkey" in reason and "Sequoia's standard policy" in reason, reason


def test_a_bad_signature_by_a_sound_subkey_of_a_trusted_key_is_not_a_policy_matter(
    weak: dict[str, tuple[str, bytes, bytes]],
) -> None:
    fpr, pub, sig = weak["good-subkey"]
    keyring = Keyring([pub], source="goodsub.asc")
    assert keyring.verify(sig).payload == PAYLOAD
    at = sig.index(PAYLOAD)
    tampered = sig[:at] + PAYLOAD.replace(b"critical", b"CRITICAL") + sig[at + len(PAYLOAD) :]
    reason = keyring.verify(bytes(tampered)).reason or ""
    assert f"of key {fpr} could not verify it" in reason and "Sequoia's standard policy" not in reason, reason
