"""Hostile or unusual GPG signatures: never accepted where skopeo (containers/image) refuses.

The signatures are made here with ``gpg --sign`` over an atomic-signature payload written by hand
(what ``skopeo standalone-sign`` does through GPGME), so that gpg's own options can make what
skopeo cannot: a message signed by two keys, a signature made while a key was still valid.
Every verdict is compared with ``skopeo copy --policy`` on the same image, policy and lookaside.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from imgextract import Client

pytest.importorskip("regfix.pytest_plugin")
from regfix import signing  # noqa: E402
from regfix.oci import File, ImageSpec, Layer, write_layout  # noqa: E402
from regfix.push import skopeo_copy  # noqa: E402

pytestmark = [pytest.mark.registry, pytest.mark.oracle]


@dataclass
class Hostile:
    tmp: Path
    host: str
    home: Path
    keys: dict[str, str]  # name -> fingerprint
    pubs: dict[str, Path]  # name -> exported public key
    digest: str
    lookaside: Path
    registries_d: Path

    def payload(self, identity: str, digest: str | None = None) -> bytes:
        return json.dumps(
            {
                "critical": {
                    "identity": {"docker-reference": identity},
                    "image": {"docker-manifest-digest": digest or self.digest},
                    "type": "atomic container signature",
                },
                "optional": {"creator": "regfix", "timestamp": 1600000000},
            }
        ).encode()

    def sign(
        self, payload: bytes, *signers: str, faked_time: str | None = None, armor: bool = False
    ) -> bytes:
        """``gpg --sign`` (a binary, compressed OpenPGP message, as GPGME makes) by ``signers``."""
        name = f"payload-{len(list(self.tmp.glob('payload-*')))}"
        (self.tmp / name).write_bytes(payload)
        args = ["--pinentry-mode", "loopback", "--passphrase", ""]
        if faked_time:
            args += ["--faked-system-time", faked_time]
        if armor:
            args.append("--armor")
        for s in signers:
            args += ["-u", self.keys[s]]
        signing._gpg(
            self.home, *args, "--output", str(self.tmp / f"{name}.sig"), "--sign", str(self.tmp / name)
        )
        return (self.tmp / f"{name}.sig").read_bytes()

    def policy(self, key: str, name: str) -> Path:
        req = {"type": "signedBy", "keyType": "GPGKeys", "keyPath": str(self.pubs[key])}
        path = self.tmp / f"policy-{name}.json"
        path.write_text(json.dumps({"default": [req]}))
        return path


def _gen_key(home: Path, name: str, *, expire: str = "0", faked_time: str | None = None) -> str:
    extra = ["--faked-system-time", faked_time] if faked_time else []
    signing._gpg(
        home,
        *extra,
        "--passphrase",
        "",
        "--quick-gen-key",
        f"{name} <{name}@regfix.test>",
        "ed25519",
        "sign",
        expire,
    )
    listing = signing._gpg(home, "--with-colons", "--list-keys", f"{name}@regfix.test")
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


@pytest.fixture(scope="module")
def hostile(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> Hostile:
    tmp = tmp_path_factory.mktemp("hostile-signatures")
    home = tmp / "gnupg"
    home.mkdir(mode=0o700)
    keys = {
        "trusted": _gen_key(home, "trusted"),
        "other": _gen_key(home, "other"),
        # valid for a year from 2020-01-01: expired long before the test runs
        "expired": _gen_key(home, "expired", expire="1y", faked_time="20200101T000000"),
    }
    # a certification-only primary key whose signing subkey expired at the end of 2020
    keys["subkey"] = _gen_key(home, "subkey", faked_time="20190101T000000")
    signing._gpg(
        home,
        "--faked-system-time",
        "20200101T000000",
        "--passphrase",
        "",
        "--quick-add-key",
        keys["subkey"],
        "ed25519",
        "sign",
        "1y",
    )
    pubs = {}
    for name, fpr in keys.items():
        pubs[name] = tmp / f"{name}.asc"
        pubs[name].write_text(signing._gpg(home, "--armor", "--export", fpr))
    layout = write_layout(tmp / "layout", ImageSpec(layers=[Layer([File("hostile.txt", "hostile\n")])]), "v1")
    digest = skopeo_copy(layout, registry.host, "hostile/app", "v1").digest
    lookaside = tmp / "lookaside"
    registries_d = signing.write_registries_d(tmp / "registries.d", f"file://{lookaside}")
    return Hostile(tmp, registry.host, home, keys, pubs, digest, lookaside, registries_d)


def _verdicts(h: Hostile, cases: list[tuple[str, list[bytes], Path, bool]]) -> None:
    """Store each case's signatures in its own repository's lookaside (the image is the same: the
    tag is copied), then compare ours, skopeo's and the expected verdict."""
    settings = _client_settings(h, timeout=20)

    def one(case: tuple[str, list[bytes], Path, bool]) -> str:
        repo, sigs, policy, expected = case
        ref = f"{h.host}/hostile/{repo}:v1"
        signing.put_lookaside(h.lookaside, f"hostile/{repo}", h.digest, sigs)
        with Client(**settings, registries_d=h.registries_d) as client:
            verdict = client.verify(ref, policy=policy)
        skopeo_ok, skopeo_err = signing.skopeo_accepts(ref, policy, h.registries_d)
        if verdict.accepted == skopeo_ok == expected:
            return ""
        return (
            f"{repo}: ours={verdict.message()} skopeo={skopeo_ok} ({skopeo_err[-200:]}) expected={expected}"
        )

    for repo, *_ in cases:
        _copy_tag(h, repo)
    with ThreadPoolExecutor(4) as pool:
        failures = [f for f in pool.map(one, cases) if f]
    assert not failures, "\n".join(failures)


def _client_settings(h: Hostile, **extra: Any) -> dict[str, Any]:
    """Client settings for verifying the hostile images: no system registries.conf, no cache."""
    (h.tmp / "empty.conf").write_text("")
    (h.tmp / "conf.d").mkdir(exist_ok=True)
    return {
        "registries_conf": h.tmp / "empty.conf",
        "registries_conf_dir": h.tmp / "conf.d",
        "insecure_registries": [h.host],
        "retries": 1,
        "use_cache": False,
        "env": {"HOME": str(h.tmp)},
        **extra,
    }


def _cosign_signed(h: Hostile, repo: str) -> tuple[bytes, str, Path, Path]:
    """A fresh P-256 key: the payload for ``repo``'s image, its base64 signature, a
    sigstoreSigned policy trusting the key, and a registries.d reading sigstore attachments."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    _copy_tag(h, repo)
    key = ec.generate_private_key(ec.SECP256R1())
    pub = h.tmp / f"cosign-{repo}.pub"
    pub.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    payload = signing.cosign_payload(h.digest, f"{h.host}/hostile/{repo}:v1")
    sig = signing.cosign_b64(key.sign(payload, ec.ECDSA(hashes.SHA256())))
    rd = signing.write_registries_d(
        h.tmp / f"rd-{repo}", f"file://{h.tmp / 'none'}", sigstore_attachments=True
    )
    policy = h.tmp / f"policy-{repo}.json"
    policy.write_text(json.dumps({"default": [{"type": "sigstoreSigned", "keyPath": str(pub)}]}))
    return payload, sig, policy, rd


def _copy_tag(h: Hostile, repo: str) -> None:
    """The same manifest under ``hostile/<repo>:v1`` (blobs mounted from hostile/app)."""
    import requests

    base = f"http://{h.host}/v2"
    s = requests.Session()
    r = s.get(
        f"{base}/hostile/app/manifests/{h.digest}",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
    )
    r.raise_for_status()
    manifest = json.loads(r.content)
    for d in [manifest["config"]["digest"], *(layer["digest"] for layer in manifest["layers"])]:
        m = s.post(f"{base}/hostile/{repo}/blobs/uploads/?mount={d}&from=hostile/app")
        assert m.status_code == 201, m.status_code
    p = s.put(
        f"{base}/hostile/{repo}/manifests/v1",
        data=r.content,
        headers={"Content-Type": r.headers["Content-Type"]},
    )
    assert p.status_code == 201, p.text


def test_gpg_made_signature_is_accepted_by_both(hostile: Hostile) -> None:
    """The baseline: a gpg-made signature by the trusted key is what skopeo accepts."""
    h = hostile
    good = h.sign(h.payload(f"{h.host}/hostile/good:v1"), "trusted")
    mixed = [
        h.sign(h.payload(f"{h.host}/hostile/mixed:v1"), "other"),  # an untrusted key
        h.sign(h.payload(f"{h.host}/hostile/mixed:v1", "sha256:" + "0" * 64), "trusted"),  # another digest
        h.sign(h.payload(f"{h.host}/hostile/elsewhere:v1"), "trusted"),  # another identity
        h.sign(h.payload(f"{h.host}/hostile/mixed:v1"), "trusted"),
    ]
    _verdicts(
        h,
        [
            ("good", [good], h.policy("trusted", "trusted"), True),
            ("mixed", mixed, h.policy("trusted", "trusted"), True),  # one good signature is enough
            ("allbad", mixed[:3], h.policy("trusted", "trusted"), False),
        ],
    )


def test_message_signed_by_two_keys_is_refused(hostile: Hostile) -> None:
    """containers/image requires exactly one signature in the OpenPGP message: a message signed by
    the trusted key and another one is invalid, not "one good signature"."""
    h = hostile
    two = h.sign(h.payload(f"{h.host}/hostile/two:v1"), "trusted", "other")
    twice = h.sign(h.payload(f"{h.host}/hostile/twice:v1"), "other", "trusted")
    _verdicts(
        h,
        [
            ("two", [two], h.policy("trusted", "trusted"), False),
            ("twice", [twice], h.policy("trusted", "trusted"), False),
        ],
    )


def test_signature_by_an_expired_key_is_refused(hostile: Hostile) -> None:
    """Made while the key was valid, checked after it expired: gpg reports EXPKEYSIG and
    containers/image refuses; the signature's own time does not make it acceptable."""
    h = hostile
    old = h.sign(h.payload(f"{h.host}/hostile/expired:v1"), "expired", faked_time="20200601T000000")
    sub = h.sign(h.payload(f"{h.host}/hostile/subexpired:v1"), "subkey", faked_time="20200601T000000")
    _verdicts(
        h,
        [
            ("expired", [old], h.policy("expired", "expired"), False),
            # skopeo 1.9.3 refuses every subkey signature; current containers/image refuses this
            # one because gpg reports the expired subkey (EXPKEYSIG)
            ("subexpired", [sub], h.policy("subkey", "subkey"), False),
        ],
    )


SCOPES = [
    ("dir", "relative/path", False),
    ("dir", "/abs/../x", False),
    ("dir", "/abs/path", True),
    ("oci", "x.io/a/b:v1", False),
    ("oci-archive", "/abs/path:tag", True),
    ("docker-archive", "/abs/path", False),
    ("tarball", "/abs/path", False),
    ("containers-storage", "x.io/a/b:v1", False),
    ("containers-storage", "[overlay@/var/lib/containers/storage]x.io/a", True),
    ("docker-daemon", "relative", True),
    ("docker", "UPPER/not-a-reference", True),
    ("not-a-transport", "anything", True),
]


def test_scopes_of_other_transports_are_validated_as_skopeo_does(tmp_path: Path) -> None:
    """An accept-everything policy with one scope of another transport: valid exactly when skopeo
    loads it (skopeo judges an OCI layout here; no registry needed)."""
    import subprocess

    from imgextract.signatures import PolicyError, load_policy

    layout = write_layout(tmp_path / "layout", ImageSpec(layers=[Layer([File("a", "a")])]), "v1")
    accept = [{"type": "insecureAcceptAnything"}]

    def one(i: int) -> str:
        transport, scope, valid = SCOPES[i]
        path = tmp_path / f"policy-{i}.json"
        path.write_text(json.dumps({"default": accept, "transports": {transport: {scope: accept}}}))
        proc = subprocess.run(
            [
                signing._skopeo(),
                "--policy",
                str(path),
                "copy",
                f"oci:{layout.path}:v1",
                f"dir:{tmp_path / str(i)}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        try:
            load_policy(path)
            ours = True
        except PolicyError:
            ours = False
        skopeo_ok = proc.returncode == 0
        return "" if ours == skopeo_ok == valid else f"{transport} {scope!r}: ours={ours} skopeo={skopeo_ok}"

    with ThreadPoolExecutor(4) as pool:
        failures = [f for f in pool.map(one, range(len(SCOPES))) if f]
    assert not failures, "\n".join(failures)


def test_a_lookaside_dripping_its_headers_fails_within_the_deadline() -> None:
    """Each header byte arrives well within the read timeout: only an overall deadline ends it."""
    import time

    from imgextract.errors import UnreachableError
    from imgextract.signatures import LookasideReader

    server = signing.FaultServer("drip")
    try:
        reader = LookasideReader(timeout=2.0)
        start = time.monotonic()
        with pytest.raises(UnreachableError) as info:
            reader.get(f"{server.url}/ns/app@sha256=00/signature-1")
        elapsed = time.monotonic() - start
    finally:
        server.stop()
    assert elapsed < 6, elapsed
    assert "signature" in str(info.value) and server.url in str(info.value)


def test_an_unreadable_stored_signature_refuses_the_image(hostile: Hostile) -> None:
    """containers/image fails reading the image's signatures when one stored blob has an unknown
    format (or is empty, or a malformed sigstore-json): the image is refused even when another
    signature is good."""
    h = hostile
    good = {r: h.sign(h.payload(f"{h.host}/hostile/{r}:v1"), "trusted") for r in ("fmt", "empty", "nonl")}
    armored = h.sign(h.payload(f"{h.host}/hostile/armored:v1"), "trusted", armor=True)
    assert armored.startswith(b"-----BEGIN PGP MESSAGE-----")
    _verdicts(
        h,
        [
            ("fmt", [b"\x00bogus-format\ndata", good["fmt"]], h.policy("trusted", "trusted"), False),
            ("empty", [good["empty"], b""], h.policy("trusted", "trusted"), False),
            ("nonl", [good["nonl"], b"\x00simple-signing"], h.policy("trusted", "trusted"), False),
            # skopeo 1.9.3 reads no ASCII armor either ("unrecognized signature format")
            ("armored", [good["fmt"], armored], h.policy("trusted", "trusted"), False),
        ],
    )


def test_a_sig_manifest_with_too_many_layers_is_refused_before_reading_them(
    hostile: Hostile, registry: Any
) -> None:
    """A 4 MiB ``.sig`` manifest can list ~20,000 layers, each a 4 MiB blob: read one by one and
    held in memory, that is 80 GB and 20,000 requests.  Capped as lookaside stores are (128)."""
    from imgextract.errors import LimitExceeded

    h = hostile
    payload, sig, policy, rd = _cosign_signed(h, "manysigs")
    signing.push_cosign_signatures(registry.url, "hostile/manysigs", h.digest, [(payload, sig)] * 129)
    with Client(**_client_settings(h), registries_d=rd) as client, pytest.raises(LimitExceeded) as info:
        client.verify(f"{h.host}/hostile/manysigs:v1", policy=policy)
    assert "129" in str(info.value) and ".sig" in str(info.value)


def test_every_attachment_is_read_not_only_signatures(hostile: Hostile, registry: Any) -> None:
    """containers/image (``appendSignaturesFromSigstoreAttachments``) reads every layer of the ``.sig``
    manifest, attestations included, each within the 4 MiB signature limit, before judging any: an
    attachment beyond the limit fails reading the image's signatures, however good the signature
    beside it is."""
    from imgextract.errors import LimitExceeded

    h = hostile
    payload, sig, policy, rd = _cosign_signed(h, "bigattest")
    attestation = ("application/vnd.dsse.envelope.v1+json", b"{" + b" " * (4 * 1024 * 1024) + b"}")
    signing.push_cosign_signatures(
        registry.url, "hostile/bigattest", h.digest, [(payload, sig)], attachments=[attestation]
    )
    with Client(**_client_settings(h), registries_d=rd) as client, pytest.raises(LimitExceeded) as info:
        client.verify(f"{h.host}/hostile/bigattest:v1", policy=policy)
    assert "layer 1" in str(info.value) and ".sig" in str(info.value)


def test_a_registry_dripping_its_headers_fails_within_the_deadline(tmp_path: Path) -> None:
    """The registry layer's ``deadline`` covers "headers and body": a server sending its status
    line and then one header byte every half second (each read well within ``timeout``) is cut at
    the deadline too, not served forever (a hand-written fake: no registry does this)."""
    import time

    from imgextract.errors import UnreachableError

    server = signing.FaultServer("drip")
    host = server.url.removeprefix("http://")
    try:
        start = time.monotonic()
        with (
            Client(
                insecure_registries=[host], retries=1, timeout=2, deadline=3, use_cache=False, env={}
            ) as c,
            pytest.raises(UnreachableError),
        ):
            c.inspect(f"{host}/drip/app:v1")
        elapsed = time.monotonic() - start
    finally:
        server.stop()
    assert elapsed < 15, elapsed
