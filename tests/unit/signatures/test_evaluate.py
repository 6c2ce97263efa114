"""Evaluation with real cryptography: Sequoia-made GPG signatures and cosign-style sigstore ones.

(Signatures made by skopeo itself, and skopeo's own verdicts, are in the integration tests.)
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pysequoia
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from imgextract.reference import parse_reference
from imgextract.signatures import PolicyError, RawSignature, Subject, evaluate, parse_policy
from imgextract.signatures.fetch import classify
from imgextract.signatures.payload import GPG_PAYLOAD_TYPE, SIGSTORE_PAYLOAD_TYPE
from imgextract.signatures.sigstore import SIGNATURE_ANNOTATION, SIMPLESIGNING_MEDIA_TYPE

MANIFEST = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}'
DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
OTHER = "sha256:" + "e" * 64
REF = "registry.example.com/ns/app:v1"


def payload(kind: str, identity: str = REF, digest: str = DIGEST) -> bytes:
    return json.dumps(
        {
            "critical": {
                "type": kind,
                "image": {"docker-manifest-digest": digest},
                "identity": {"docker-reference": identity},
            },
            "optional": {"creator": "unit test"},
        }
    ).encode()


@pytest.fixture(scope="module")
def gpg(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    d = tmp_path_factory.mktemp("gpg")
    trusted, other = (
        pysequoia.Tsk.generate("Trusted <t@example.test>"),
        pysequoia.Tsk.generate("Other <o@example.test>"),
    )
    (d / "trusted.asc").write_text(str(trusted.extract_certificate()))
    (d / "other.asc").write_text(str(other.extract_certificate()))
    return {"dir": d, "trusted": trusted, "other": other}


def gpg_sign(tsk: object, data: bytes) -> bytes:
    return pysequoia.sign(tsk.signer(), data, armor=False)  # type: ignore[attr-defined]


def signed_by(key: Path, identity: dict[str, str] | None = None) -> str:
    req: dict[str, object] = {"type": "signedBy", "keyType": "GPGKeys", "keyPath": str(key)}
    if identity is not None:
        req["signedIdentity"] = identity
    return json.dumps({"default": [req]})


def judge(policy: str, sigs: list[RawSignature], ref: str = REF) -> object:
    subject = Subject(parse_reference(ref), DIGEST, MANIFEST)
    return evaluate(parse_policy(policy), subject, lambda: sigs)


def test_gpg_accept_with_signing_subkey(gpg: dict[str, object]) -> None:
    blob = gpg_sign(gpg["trusted"], payload(GPG_PAYLOAD_TYPE))
    verdict = judge(signed_by(gpg["dir"] / "trusted.asc"), [classify(blob, "s1")])  # type: ignore[operator]
    assert verdict.accepted, verdict.message()  # type: ignore[attr-defined]
    check = verdict.signatures[0]  # type: ignore[attr-defined]
    assert (
        check.valid
        and check.identity == REF
        and check.key_id == gpg["trusted"].extract_certificate().fingerprint.upper()  # type: ignore[attr-defined]
    )


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda g: [classify(gpg_sign(g["other"], payload(GPG_PAYLOAD_TYPE)), "s")], "is not accepted"),
        (lambda g: [], "no signature exists"),
        (
            lambda g: [classify(gpg_sign(g["trusted"], payload(GPG_PAYLOAD_TYPE, digest=OTHER)), "s")],
            f"for digest {OTHER}",
        ),
        (
            lambda g: [
                classify(
                    gpg_sign(g["trusted"], payload(GPG_PAYLOAD_TYPE, "registry.example.com/ns/app:v2")), "s"
                )
            ],
            "identity",
        ),
        (
            lambda g: [classify(gpg_sign(g["trusted"], payload(SIGSTORE_PAYLOAD_TYPE)), "s")],
            "unrecognized signature type",
        ),
        (lambda g: [classify(b"\x01garbage", "s")], "unrecognized signature format"),
        (lambda g: [classify(b"\xa3" + b"\x00" * 20, "s")], "invalid GPG signature"),
    ],
)
def test_gpg_refusals(
    gpg: dict[str, object], make: Callable[[dict[str, object]], list[RawSignature]], reason: str
) -> None:
    verdict = judge(signed_by(gpg["dir"] / "trusted.asc"), make(gpg))  # type: ignore[operator]
    assert not verdict.accepted  # type: ignore[attr-defined]
    assert reason in (verdict.reason or ""), verdict.message()  # type: ignore[attr-defined]
    assert verdict.scope == "default" and verdict.requirement.startswith("signedBy (GPGKeys")  # type: ignore[attr-defined]


def test_one_good_signature_among_bad_ones_is_enough(gpg: dict[str, object]) -> None:
    bad = classify(gpg_sign(gpg["other"], payload(GPG_PAYLOAD_TYPE)), "s1")
    good = classify(gpg_sign(gpg["trusted"], payload(GPG_PAYLOAD_TYPE)), "s2")
    verdict = judge(signed_by(gpg["dir"] / "trusted.asc"), [bad, good])  # type: ignore[operator]
    assert verdict.accepted and [s.valid for s in verdict.signatures] == [False, True]  # type: ignore[attr-defined]


def test_key_paths_trust_every_listed_key(gpg: dict[str, object], tmp_path: Path) -> None:
    """``keyPaths`` (GPG) and ``keyDatas``/``keyPaths`` (sigstore): a signature by any listed key is
    accepted, one by an unlisted key is not."""
    d = gpg["dir"]
    blob = classify(gpg_sign(gpg["trusted"], payload(GPG_PAYLOAD_TYPE)), "s")

    def gpg_paths(*names: str) -> str:
        paths = [str(d / n) for n in names]  # type: ignore[operator]
        return json.dumps({"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPaths": paths}]})

    assert judge(gpg_paths("other.asc", "trusted.asc"), [blob]).accepted  # type: ignore[attr-defined]
    assert not judge(gpg_paths("other.asc"), [blob]).accepted  # type: ignore[attr-defined]

    sig = [cosign("p384", payload(SIGSTORE_PAYLOAD_TYPE))]
    for i, name in enumerate(("p256", "p384")):
        (tmp_path / f"{i}.pub").write_bytes(pem(name))

    def sigstore(**keys: object) -> str:
        return json.dumps({"default": [{"type": "sigstoreSigned", **keys}]})

    datas = [base64.b64encode(pem(n)).decode() for n in ("p256", "p384")]
    assert judge(sigstore(keyDatas=datas), sig).accepted  # type: ignore[attr-defined]
    assert not judge(sigstore(keyDatas=datas[:1]), sig).accepted  # type: ignore[attr-defined]
    paths = [str(tmp_path / "0.pub"), str(tmp_path / "1.pub")]
    assert judge(sigstore(keyPaths=paths), sig).accepted  # type: ignore[attr-defined]
    assert not judge(sigstore(keyPaths=paths[:1]), sig).accepted  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("requirement", "message"),
    [
        ({"type": "signedBaseLayer", "baseLayerIdentity": {"type": "matchRepository"}}, "signedBaseLayer"),
        ({"type": "signedBy", "keyType": "X509Certificates", "keyData": "QQ=="}, "X509Certificates"),
        ({"type": "signedBy", "keyType": "signedByGPGKeys", "keyData": "QQ=="}, "signedByGPGKeys"),
    ],
)
def test_valid_requirements_nobody_implements_never_accept(
    gpg: dict[str, object], requirement: dict[str, object], message: str
) -> None:
    """containers/image parses these and refuses every image at evaluation (``signedBaseLayer`` not
    implemented, ``Unimplemented "keyType" value``); here they are a configuration error naming
    the requirement, so the image is never accepted and the user is told why."""
    blob = classify(gpg_sign(gpg["trusted"], payload(GPG_PAYLOAD_TYPE)), "s")
    policy = json.dumps({"default": [{"type": "insecureAcceptAnything"}, requirement]})
    parse_policy(policy)  # valid policy.json
    with pytest.raises(PolicyError, match=f"{message}.*not implemented"):
        judge(policy, [blob])


def test_key_problems_are_configuration_errors(gpg: dict[str, object], tmp_path: Path) -> None:
    (tmp_path / "junk.asc").write_text("not a key")
    blob = classify(gpg_sign(gpg["trusted"], payload(GPG_PAYLOAD_TYPE)), "s")
    for key in (tmp_path / "missing.asc", tmp_path / "junk.asc"):
        with pytest.raises(PolicyError):
            judge(signed_by(key), [blob])


def test_requirements_all_must_hold_and_reject_reads_nothing(gpg: dict[str, object]) -> None:
    def never() -> list[RawSignature]:
        raise AssertionError("signatures read for a reject scope")

    subject = Subject(parse_reference(REF), DIGEST)
    verdict = evaluate(
        parse_policy('{"default": [{"type": "insecureAcceptAnything"}, {"type": "reject"}]}'), subject, never
    )
    assert not verdict.accepted and verdict.requirement == "reject"
    assert evaluate(
        parse_policy('{"default": [{"type": "insecureAcceptAnything"}]}'), subject, never
    ).accepted


# ------------------------------------------------------------------------------------------- sigstore


def _keys() -> dict[str, tuple[object, Callable[[bytes], bytes]]]:
    p256 = ec.generate_private_key(ec.SECP256R1())
    p384 = ec.generate_private_key(ec.SECP384R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ed = ed25519.Ed25519PrivateKey.generate()
    return {
        "p256": (p256, lambda d: p256.sign(d, ec.ECDSA(hashes.SHA256()))),
        "p384": (p384, lambda d: p384.sign(d, ec.ECDSA(hashes.SHA256()))),
        "rsa": (rsa_key, lambda d: rsa_key.sign(d, padding.PKCS1v15(), hashes.SHA256())),
        "ed25519": (ed, lambda d: ed.sign(d)),
    }


KEYS = _keys()


def pem(name: str) -> bytes:
    return (
        KEYS[name][0]  # type: ignore[attr-defined]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def cosign(name: str, data: bytes, media_type: str = SIMPLESIGNING_MEDIA_TYPE) -> RawSignature:
    sig = base64.b64encode(KEYS[name][1](data)).decode()
    return RawSignature("sigstore", "tag layer 0", data, media_type, {SIGNATURE_ANNOTATION: sig})


def sigstore_policy(name: str, identity: dict[str, str] | None = None) -> str:
    req: dict[str, object] = {"type": "sigstoreSigned", "keyData": base64.b64encode(pem(name)).decode()}
    if identity:
        req["signedIdentity"] = identity
    return json.dumps({"default": [req]})


@pytest.mark.parametrize("name", ["p256", "p384", "rsa", "ed25519"])
def test_sigstore_accepts_each_key_type(name: str) -> None:
    verdict = judge(sigstore_policy(name), [cosign(name, payload(SIGSTORE_PAYLOAD_TYPE))])
    assert verdict.accepted, verdict.message()  # type: ignore[attr-defined]


def test_sigstore_signatures_in_the_verify_json_document() -> None:
    """``verify --json``: each sigstore signature is listed with its type, key, claimed identity,
    validity and reason, next to the verdict."""
    good = cosign("p256", payload(SIGSTORE_PAYLOAD_TYPE))
    bad = cosign("rsa", payload(SIGSTORE_PAYLOAD_TYPE))
    doc = judge(sigstore_policy("p256"), [bad, good]).to_json()  # type: ignore[attr-defined]
    assert (doc["reference"], doc["digest"], doc["scope"], doc["verdict"]) == (
        REF,
        DIGEST,
        "default",
        "accepted",
    )
    checks = [{k: s[k] for k in ("type", "keyId", "identity", "valid")} for s in doc["signatures"]]
    assert {"type": "sigstore", "keyId": None, "identity": None, "valid": False} in checks
    (valid,) = [s for s in doc["signatures"] if s["valid"]]
    assert valid["type"] == "sigstore" and valid["identity"] == REF and valid["reason"] is None
    assert valid["keyId"].startswith("sha256:")
    refused = judge(sigstore_policy("p256"), [bad]).to_json()  # type: ignore[attr-defined]
    assert refused["verdict"] == "rejected" and "not signed by a trusted key" in refused["reason"]
    assert [s["valid"] for s in refused["signatures"]] == [False]
    assert "not signed by a trusted key" in refused["signatures"][0]["reason"]


@pytest.mark.parametrize(
    ("sigs", "reason"),
    [
        ([cosign("rsa", payload(SIGSTORE_PAYLOAD_TYPE))], "not signed by a trusted key"),
        ([], "no signature exists"),
        ([cosign("p256", payload(SIGSTORE_PAYLOAD_TYPE, digest=OTHER))], f"for digest {OTHER}"),
        ([cosign("p256", payload(SIGSTORE_PAYLOAD_TYPE, "registry.example.com/ns/other:v1"))], "identity"),
        ([cosign("p256", payload(GPG_PAYLOAD_TYPE))], "unrecognized signature type"),
        (
            [cosign("p256", payload(SIGSTORE_PAYLOAD_TYPE), media_type="application/json")],
            "1 signature(s) of another kind",
        ),
        (
            [RawSignature("sigstore", "x", payload(SIGSTORE_PAYLOAD_TYPE), SIMPLESIGNING_MEDIA_TYPE, {})],
            "missing",
        ),
        ([RawSignature("gpg", "x", b"\xa3")], "another kind"),
    ],
)
def test_sigstore_refusals(sigs: list[RawSignature], reason: str) -> None:
    verdict = judge(sigstore_policy("p256"), sigs)
    assert not verdict.accepted and reason in (verdict.reason or ""), verdict.message()  # type: ignore[attr-defined]


def test_sigstore_identity_kinds() -> None:
    sig = [cosign("p256", payload(SIGSTORE_PAYLOAD_TYPE, "quay.io/vendor/app:v1"))]
    remap = {"type": "remapIdentity", "prefix": "registry.example.com/ns", "signedPrefix": "quay.io/vendor"}
    assert judge(sigstore_policy("p256", remap), sig).accepted  # type: ignore[attr-defined]
    exact = {"type": "exactRepository", "dockerRepository": "quay.io/vendor/app"}
    assert judge(sigstore_policy("p256", exact), sig).accepted  # type: ignore[attr-defined]
    assert not judge(sigstore_policy("p256", {"type": "matchRepository"}), sig).accepted  # type: ignore[attr-defined]


def test_unsupported_sigstore_roots_and_keys_are_configuration_errors(tmp_path: Path) -> None:
    fulcio = json.dumps(
        {
            "default": [
                {
                    "type": "sigstoreSigned",
                    "fulcio": {"caPath": "/ca", "oidcIssuer": "https://x", "subjectEmail": "a@b"},
                    "rekorPublicKeyPath": "/r.pub",
                }
            ]
        }
    )
    with pytest.raises(PolicyError, match="fulcio, rekorPublicKeyPath is not supported"):
        judge(fulcio, [])
    dsa_like = base64.b64encode(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").decode()
    with pytest.raises(PolicyError, match="cannot parse public key"):
        judge(json.dumps({"default": [{"type": "sigstoreSigned", "keyData": dsa_like}]}), [])


def test_signature_with_another_digest_algorithm_hashes_the_manifest(gpg: dict[str, object]) -> None:
    sha512 = "sha512:" + hashlib.sha512(MANIFEST).hexdigest()
    blob = classify(gpg_sign(gpg["trusted"], payload(GPG_PAYLOAD_TYPE, digest=sha512)), "s")
    fetched: list[int] = []

    def raw() -> bytes:
        fetched.append(1)
        return MANIFEST

    policy = parse_policy(signed_by(gpg["dir"] / "trusted.asc"))  # type: ignore[operator]
    assert evaluate(policy, Subject(parse_reference(REF), DIGEST, raw), lambda: [blob]).accepted
    assert fetched == [1]
    other = classify(gpg_sign(gpg["trusted"], payload(GPG_PAYLOAD_TYPE, digest="sha512:" + "0" * 128)), "s")
    assert not evaluate(policy, Subject(parse_reference(REF), DIGEST, raw), lambda: [other]).accepted


def test_keys_are_loaded_once_per_requirement(gpg: dict[str, object], tmp_path: Path) -> None:
    key = tmp_path / "k.asc"
    key.write_bytes((gpg["dir"] / "trusted.asc").read_bytes())  # type: ignore[operator]
    policy = parse_policy(signed_by(key))
    blob = classify(gpg_sign(gpg["trusted"], payload(GPG_PAYLOAD_TYPE)), "s")
    cache: dict[object, object] = {}
    subject = Subject(parse_reference(REF), DIGEST)
    assert evaluate(policy, subject, lambda: [blob], cache).accepted
    key.unlink()
    assert evaluate(policy, subject, lambda: [blob], cache).accepted
    with pytest.raises(PolicyError, match="cannot read key file"):
        evaluate(policy, subject, lambda: [blob])
